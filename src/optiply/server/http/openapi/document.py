"""The document itself: its description, tags, paths and components, put together by
``openapi_document``."""

from __future__ import annotations

from typing import Any

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT
from optiply.query.operators import Operator
from optiply.resources import REGISTRY
from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.http.openapi.auth import security_schemes, token_path
from optiply.server.http.openapi.common import Schema
from optiply.server.http.openapi.extensions import add_extensions
from optiply.server.http.openapi.filters import filter_components
from optiply.server.http.openapi.parameters import shared_parameters
from optiply.server.http.openapi.paths import health_path, resource_paths
from optiply.server.http.openapi.responses import error_responses
from optiply.server.http.openapi.sandbox import sandbox_paths
from optiply.server.http.openapi.sandbox_controls import sandbox_schemas
from optiply.server.http.openapi.schemas import resource_schemas, shared_schemas

_OPERATOR_NOTES = {
    Operator.EQ: " (the default)",
    Operator.LIKE: " (contains, case-insensitive; `%` and `_` are wildcards)",
}

_DESCRIPTION = """\
A self-hosted, open re-implementation of the Optiply Public API v1. It loosely follows JSON:API.

**Media type.** Responses are `{media_type}` (OAuth2 errors, 401 and a missing \
scope's 403, are `{json}`). POST and PATCH bodies must be sent as \
`{media_type}` or `{json}` (parameters such as `charset` are fine); any \
other media type answers 415, a body over 16 MiB 413.

**Ids.** Ids are positive 64-bit integers (1 to 9223372036854775807): a path id that is not one \
answers 400 `INVALID_ID`. Ids are strings at the document level; foreign keys (`productId`, \
...) are integer attributes with read-only `*Uuid` twins. On PATCH, `data.id` may be left out; \
when sent it must equal the id in the URL (400 at `/data/id`).

**Values.** Decimals are rendered as strings with exactly two decimals (`"12.50"`); input \
decimals (numbers or numeric strings) are rounded toward zero to two decimals, and each has a \
limit of digits before the point (17 unless the attribute says otherwise). Date-times are UTC, \
rendered as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. Nullable attributes are rendered as an explicit \
`null`. Enumerations are read in any case and rendered in lowercase. Required strings must not \
be blank; no string may contain a NUL character.

**Filters.** `filter[attr]=v` or `filter[attr][OP]=v`, with OP one of {operators} \
(case-insensitive). The value `null` means IS NULL (with NEQ: IS NOT NULL). A repeated key \
means IN. Filters on different keys are combined with AND. Each collection's filter schema \
lists the operators every attribute takes and the values they read.

**Sorting.** `sort=a,-b`: comma-separated attributes, `-` for descending, each at most once; by \
default `id` ascending.

**Paging.** `page[limit]` (default {default_limit}, at most {max_limit}) and `page[offset]` \
(default 0, a multiple of the limit: a schema cannot say so, the server answers 400). Lists carry \
`links.first/last/prev/next` and `meta.totalResourceCount`; `next` resumes by key with an extra \
`page[after]` cursor, so follow it verbatim. Links are absolute URLs whose query keeps `[` and \
`]` unescaped.

**Accounts.** Every `/v1` operation accepts the query parameters `accountId` (the account to \
work in; 403 when the token cannot reach it) and `couplingId` (the integration instance; it \
keys `remoteIdMap`, default key `publicApi`).

**Embedded lines.** POST of {embedding} accepts `attributes.orderLines`: flat line objects \
created with the order and never rendered. As an extension, the 201 response lists the ids of \
the created lines in `meta.orderLineIds`.

**Busy database.** Any operation may answer 503 with `Retry-After` when the database is busy \
(a lock timeout, deadlock or serialization failure): nothing was written, send it again.

**Sandbox.** An account's sandbox controls (`/sandbox/faults`, `/sandbox/settings`) act on \
every `/v1` operation, beyond what each one lists: a fault rule may answer any status from 400 \
to 599 (JSON:API error `SANDBOX_FAULT`, with `Retry-After` on 429 and 503), answer 401 as an \
expired token, answer late, hang, close the connection without an answer or halfway through \
one, or commit a write and then answer 500; a rate limit answers 429 `RATE_LIMITED` with \
`Retry-After`; the `production` compat mode answers 500 where the hosted API answers so. \
Without rules and settings none of this happens.

**Methods.** A method a path does not list answers 405.
"""


def openapi_document(*, version: str, extensions: bool = True) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the whole API from the registry.

    Args:
        version: The API implementation version, written to ``info.version``.
        extensions: Whether to describe this server's extensions (docs/extensions.md); False
            gives the v1 document alone (``--no-extensions``).

    Returns:
        A JSON-serialisable dictionary; a fresh one on every call.
    """
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Optiply Public API v1 (self-hosted)",
            "version": version,
            "description": _DESCRIPTION.format(
                embedding=_embedding_types(),
                media_type=MEDIA_TYPE,
                json=JSON,
                operators=", ".join(op.value + _OPERATOR_NOTES.get(op, "") for op in Operator),
                default_limit=DEFAULT_LIMIT,
                max_limit=MAX_LIMIT,
            ),
        },
        "servers": [{"url": "/"}],
        "tags": _tags(),
        "paths": _paths(),
        "components": {
            "securitySchemes": security_schemes(),
            "parameters": shared_parameters(),
            "schemas": _schemas(),
            "responses": error_responses(),
        },
    }
    if extensions:
        add_extensions(document)
    return document


def _embedding_types() -> str:
    return " and ".join(f"`{spec.type}`" for spec in REGISTRY if spec.embedded is not None)


def _tags() -> list[Schema]:
    tags = [{"name": spec.type, "description": spec.description} for spec in REGISTRY]
    return [
        {"name": "auth", "description": "OAuth2 tokens."},
        {"name": "health", "description": "Liveness."},
        {
            "name": "sandbox",
            "description": "What production cannot give an integrator (docs/sandbox.md): the "
            "request journal (every request to /v1 and /api/auth, secrets hidden), fault rules "
            "and settings (a rate limit, the compat mode) per account, and what the sandbox "
            "page shows (a timeline, row counts).",
        },
        *tags,
    ]


def _paths() -> dict[str, Schema]:
    paths = {TOKEN_PATH: token_path(), "/health": health_path()}
    for spec in REGISTRY:
        paths.update(resource_paths(spec))
    paths.update(sandbox_paths())
    return paths


def _schemas() -> dict[str, Schema]:
    schemas = {**shared_schemas(), **filter_components(), **sandbox_schemas()}
    for spec in REGISTRY:
        schemas.update(resource_schemas(spec))
    return schemas
