"""The query parameters: a collection's list parameters (sort, paging, filter) and the shared
parameter components."""

from __future__ import annotations

from optiply.query import DEFAULT_LIMIT, MAX_LIMIT
from optiply.query.operators import Operator
from optiply.resources import ResourceSpec
from optiply.resources.types import INT64_MAX
from optiply.server.http.openapi.common import INT64, Schema, parameter_ref, schema_ref
from optiply.server.http.openapi.filters import sort_schema

_OPERATORS = tuple(op.value for op in Operator)


def list_parameters(spec: ResourceSpec) -> list[Schema]:
    sortable = [a.name for a in spec.attributes if a.sortable]
    filterable = [a.name for a in spec.attributes if a.filterable]
    sort = {
        "name": "sort",
        "in": "query",
        "description": "Comma-separated attributes, `-` for descending, each at most once "
        f"(default `id`). Sortable: {', '.join(sortable)}.",
        "schema": sort_schema(spec),
    }
    filters = {
        "name": "filter",
        "in": "query",
        "style": "deepObject",
        "explode": True,
        "description": "`filter[attr]=v` or `filter[attr][OP]=v`, OP one of "
        f"{', '.join(_OPERATORS)} (EQ by default, case-insensitive); `null` means IS NULL; a "
        "repeated key means IN; keys are combined with AND. An optional type prefix "
        f"`filter[{spec.type}][attr]` is accepted. Filterable: {', '.join(filterable)}.",
        "schema": schema_ref(f"{spec.label}Filter"),
    }
    return [
        sort,
        parameter_ref("PageLimit"),
        parameter_ref("PageOffset"),
        parameter_ref("PageAfter"),
        filters,
    ]


def shared_parameters() -> dict[str, Schema]:
    positive = {**INT64, "minimum": 1}
    return {
        "ResourceId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "A positive 64-bit integer; anything else answers 400 INVALID_ID.",
            "schema": dict(positive),
        },
        "AccountId": {
            "name": "accountId",
            "in": "query",
            "description": "The account to work in: narrows lists, chooses the account of a "
            "POST (after attributes.accountId). 403 when the token cannot reach it.",
            "schema": dict(positive),
        },
        "CouplingId": {
            "name": "couplingId",
            "in": "query",
            "description": "The integration instance writing the data; keys remoteIdMap.",
            "schema": dict(positive),
        },
        "PageLimit": {
            "name": "page[limit]",
            "in": "query",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        "PageOffset": {
            "name": "page[offset]",
            "in": "query",
            "description": "A multiple of page[limit] (400 otherwise); past the end gives an "
            "empty page.",
            "schema": {"type": "integer", "minimum": 0, "maximum": INT64_MAX, "default": 0},
        },
        "PageAfter": {
            "name": "page[after]",
            "in": "query",
            "description": "An opaque keyset cursor, as found in links.next: the page starts "
            "after the row it names and meta.totalResourceCount is the walk's first count. "
            "Needs sort keys that are never null.",
            "schema": {"type": "string"},
        },
    }
