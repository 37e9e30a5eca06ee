"""Filters and sorting: the operators each attribute takes, the shared filter schemas per kind
of value, and each collection's filter and sort schemas."""

from __future__ import annotations

from optiply.query.operators import EQUALITY, ORDERING, Operator
from optiply.resources import REGISTRY, Attribute, Kind, ResourceSpec
from optiply.resources.types import INT64_MAX, INT64_MIN
from optiply.server.http.openapi.common import Schema, schema_ref, title
from optiply.server.http.openapi.patterns import (
    BOOLEAN_TEXT,
    DATETIME_TEXT,
    DEFAULT_DIGITS,
    NO_NUL,
    NULL,
    anchored,
    any_case,
    decimal_text,
    integer_text,
)

# Which operators an attribute takes (query/parse.py): no order on booleans, e-mails and objects;
# e-mails and objects only LIKE.
_UNORDERED = (Kind.BOOLEAN, Kind.EMAILS, Kind.OBJECT)
_LIKE_ONLY = (Kind.EMAILS, Kind.OBJECT)
_COMMA_LISTS = (Kind.ID, Kind.REFERENCE)  # EQ/NEQ values split on commas (Q27)


def filter_operators(attribute: Attribute) -> tuple[Operator, ...]:
    """The operators ``filter[attribute][OP]`` accepts, in canonical order."""
    return tuple(
        op
        for op in Operator
        if not (op in ORDERING and attribute.kind in _UNORDERED)
        and not (op in EQUALITY and attribute.kind in _LIKE_ONLY)
    )


def _filter_text(attribute: Attribute) -> str:
    """A value of ``attribute`` as a filter reads it (no range rules apply); unanchored."""
    kind = attribute.kind
    if kind in (Kind.ID, Kind.INTEGER, Kind.REFERENCE):
        return integer_text(INT64_MIN, INT64_MAX)
    if kind is Kind.DECIMAL:
        return decimal_text(attribute, bounded=False)
    if kind is Kind.BOOLEAN:
        return f"(?:{BOOLEAN_TEXT}|0|1)"
    if kind is Kind.DATETIME:
        return f"(?:{DATETIME_TEXT})"
    if kind is Kind.ENUM:
        return any_case([*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)])
    return "[^\\x00]*"


def _filter_value(attribute: Attribute, operator: Operator) -> Schema:
    if operator is Operator.LIKE:
        return {"type": "string", "pattern": NO_NUL, "not": {"pattern": anchored(NULL)}}
    value = _filter_text(attribute)
    if operator in ORDERING:
        return {"type": "string", "pattern": anchored(value)}
    one = f"(?:{NULL}|{value})"
    if attribute.kind in _COMMA_LISTS:
        return {"type": "string", "pattern": anchored(f"{one}(?:,{one})*")}
    return {"type": "string", "pattern": anchored(one)}


def _filter_name(attribute: Attribute) -> str:
    """The name of the shared filter schemas of ``attribute``'s kind of value."""
    kind = attribute.kind
    if kind is Kind.DECIMAL:
        return f"Decimal{attribute.integer_digits or DEFAULT_DIGITS}"
    if kind is Kind.ENUM:
        return "Enum" + "".join(title(w) for c in attribute.choices for w in c.split("_"))
    names = {Kind.ID: "Id", Kind.REFERENCE: "Id", Kind.INTEGER: "Integer", Kind.BOOLEAN: "Boolean"}
    names |= {Kind.DATETIME: "DateTime", Kind.EMAILS: "Contains", Kind.OBJECT: "Contains"}
    return names.get(kind, "Text")


def filter_components() -> dict[str, Schema]:
    """Per kind of value: ``<Name>FilterValue`` (the EQ value), ``<Name>FilterOperators`` and
    ``<Name>Filter``, the forms a key takes. A repeated key (IN) has no deepObject form: arrays
    there are serialized with indices, so it is described, not listed."""
    schemas: dict[str, Schema] = {}
    for spec in REGISTRY:
        for attribute in spec.attributes:
            name = _filter_name(attribute)
            if not attribute.filterable or f"{name}Filter" in schemas:
                continue
            operators = filter_operators(attribute)
            by_operator = {op.value: _filter_value(attribute, op) for op in operators}
            schemas[f"{name}FilterOperators"] = {
                "type": "object",
                "properties": by_operator,
                "additionalProperties": False,
                "minProperties": 1,
                "description": "Operators (any case) with their values.",
            }
            forms = [schema_ref(f"{name}FilterOperators")]
            if Operator.EQ in operators:
                schemas[f"{name}FilterValue"] = by_operator[Operator.EQ.value]
                forms.insert(0, schema_ref(f"{name}FilterValue"))
            schemas[f"{name}Filter"] = {"anyOf": forms}
    return schemas


def filter_schema(spec: ResourceSpec) -> Schema:
    filterable = [a for a in spec.attributes if a.filterable]
    properties: Schema = {a.name: schema_ref(f"{_filter_name(a)}Filter") for a in filterable}
    properties[spec.type] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
        "minProperties": 1,
        "description": f"The optional type prefix: filter[{spec.type}][attr].",
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def sort_schema(spec: ResourceSpec, extra: tuple[str, ...] = ()) -> Schema:
    """The ``sort`` parameter's schema: ``spec``'s sortable attributes and ``extra`` keys."""
    names = [a.name for a in spec.attributes if a.sortable or a.kind is Kind.ID] + list(extra)
    key = f"-?(?:{'|'.join(names)})"
    return {"type": "string", "pattern": f"^(?:{key}(?:,{key})*)?$", "examples": ["-updatedAt,id"]}
