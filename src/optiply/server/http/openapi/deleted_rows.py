"""The deleted-rows extension in the document (docs/extensions.md, "Deleted rows").

``add_deleted_rows`` changes a document in place, on every type whose rows can be deleted (the
registry's ``deletable``): ``deletedAt`` in its filter schema (EQ, LT, LE, GT, GE; a date-time,
never ``null``), ``deletedAt`` among the ``sort`` keys of its lists, and ``meta.deletedAt`` on
its resource objects and identifiers (present only in a list of deleted rows). Everything added
carries ``x-optiply-extension`` with the extension's URI.
"""

from __future__ import annotations

from optiply.jsonapi.extensions import DELETED_ROWS
from optiply.query import DELETED_AT
from optiply.query.parse import DELETED_OPERATORS
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.http.openapi.common import LABEL, NOT_HOSTED, Schema, schema_ref
from optiply.server.http.openapi.filters import sort_schema
from optiply.server.http.openapi.patterns import DATETIME_TEXT, RENDERED_DATETIME, anchored

_OPERATORS = tuple(operator.value for operator in DELETED_OPERATORS)
_NAME = DELETED_AT.name
_FILTER_NOTE = (
    f" `filter[{_NAME}][GT]=T` (or EQ, LT, LE, GE; a date-time, never null) lists the rows "
    f"deleted after T instead of the live ones, each with `meta.{_NAME}`; it combines with the "
    f"other filters. {NOT_HOSTED}"
)
_SORT_NOTE = f" With a `filter[{_NAME}]`, also `{_NAME}` (`sort={_NAME},id`). {NOT_HOSTED}"

DESCRIPTION = (
    f"`filter[{_NAME}][GT]=T` lists the rows deleted after T (only those, each with "
    f"`meta.{_NAME}`), on every type that can be deleted; `sort={_NAME},id` and `page[after]` "
    "walk them by key."
)
"""The extension's sentence in the document's description."""


def add_deleted_rows(document: Schema) -> None:
    """Describe the deleted-rows extension in ``document`` (in place)."""
    schemas = document["components"]["schemas"]
    schemas.update(_schemas())
    deletable = {spec.label: spec for spec in REGISTRY if spec.deletable}
    for spec in deletable.values():
        properties = schemas[f"{spec.label}Filter"]["properties"]
        properties[_NAME] = schema_ref("DeletedAtFilter")
        properties[spec.type]["properties"][_NAME] = schema_ref("DeletedAtFilter")
        for name in (spec.label, f"{spec.label}Identifier"):
            schemas[name]["properties"]["meta"] = schema_ref("DeletedRowMeta")
    for path, item in document["paths"].items():
        operation = item.get("get") if path.startswith("/v1/") else None
        if operation is not None:
            _list_parameters(operation, deletable)


def _list_parameters(operation: Schema, deletable: dict[str, ResourceSpec]) -> None:
    """``filter`` and ``sort`` of one list operation of a deletable type (others unchanged)."""
    by_name = {p["name"]: p for p in operation["parameters"] if "name" in p}
    filters = by_name.get("filter")
    if filters is None:
        return
    spec = deletable.get(filters["schema"]["$ref"].rsplit("/", 1)[1].removesuffix("Filter"))
    if spec is None:
        return
    filters["description"] += _FILTER_NOTE
    sort = by_name["sort"]
    sort["description"] += _SORT_NOTE
    sort["schema"] = sort_schema(spec, (_NAME,))


def _labelled(schema: Schema) -> Schema:
    return {**schema, LABEL: DELETED_ROWS.uri}


def _schemas() -> dict[str, Schema]:
    value = {"type": "string", "pattern": anchored(f"(?:{DATETIME_TEXT})")}
    return {
        "DeletedAtFilterValue": _labelled(value),
        "DeletedAtFilterOperators": _labelled(
            {
                "type": "object",
                "properties": {op: schema_ref("DeletedAtFilterValue") for op in _OPERATORS},
                "additionalProperties": False,
                "minProperties": 1,
                "description": "EQ, LT, LE, GT or GE (any case).",
            }
        ),
        "DeletedAtFilter": _labelled(
            {
                "anyOf": [
                    schema_ref("DeletedAtFilterValue"),
                    schema_ref("DeletedAtFilterOperators"),
                ],
                "description": f"Deleted rows only, by when they were deleted. {NOT_HOSTED}",
            }
        ),
        "DeletedRowMeta": _labelled(
            {
                "type": "object",
                "properties": {
                    _NAME: {"type": "string", "format": "date-time", "pattern": RENDERED_DATETIME}
                },
                "required": [_NAME],
                "description": "In a list of deleted rows (`filter[deletedAt]`): when the row was "
                f"deleted. Absent elsewhere. {NOT_HOSTED}",
            }
        ),
    }
