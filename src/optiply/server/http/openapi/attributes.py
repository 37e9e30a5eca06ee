"""The schema of an attribute, as a response renders it and as a request may send it, and the
attributes objects of a resource (the embedded lines' too)."""

from __future__ import annotations

import copy
from decimal import Decimal

from optiply.resources import Access, Attribute, Kind, ResourceSpec, get
from optiply.resources.types import INT64_MAX, INT64_MIN
from optiply.server.http.openapi.common import INT64, Schema, allow_null, schema_ref
from optiply.server.http.openapi.patterns import (
    BOOLEAN_TEXT,
    DEFAULT_DIGITS,
    ID_TEXT,
    NO_NUL,
    NOT_BLANK,
    RENDERED_DATETIME,
    anchored,
    any_case,
    decimal_text,
    integer_text,
    rendered_decimal,
)

_EMAIL: Schema = {"type": "string", "format": "email"}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}

_INPUT_NOTES = {
    Kind.INTEGER: "A JSON integer, or a numeric string (documented up to 18 digits; any 64-bit "
    "integer is read, spaces around it too).",
    Kind.REFERENCE: "A JSON integer, or a numeric string.",
    Kind.DECIMAL: "A JSON number, or a numeric string (exponents and spaces around it are read "
    "too).",
    Kind.BOOLEAN: "A JSON boolean, or the string true or false in any case.",
    Kind.DATETIME: "ISO-8601 with Z, an offset or no zone (UTC); a date alone means midnight.",
    Kind.ENUM: "Any case.",
    Kind.EMAILS: "Also one string of addresses separated by commas or semicolons.",
}


def _attribute_schema(attribute: Attribute, *, request: bool) -> Schema:
    schema = _request_form(attribute) if request else _response_form(attribute)
    if attribute.nullable:
        allow_null(schema)
    if not request and attribute.access is Access.READ_ONLY:
        schema["readOnly"] = True
    if request and attribute.access is Access.WRITE_ONLY:
        schema["writeOnly"] = True
    if request and attribute.default is not None:
        schema["default"] = attribute.default
    description = " ".join(filter(None, [attribute.description, *_notes(attribute, request)]))
    if description:
        schema["description"] = description
    return schema


def _bounds(attribute: Attribute) -> tuple[int, int]:
    """The integer range of an INTEGER or REFERENCE attribute."""
    low = 1 if attribute.kind is Kind.REFERENCE else INT64_MIN
    if attribute.minimum is not None:
        low = int(attribute.minimum)
    high = INT64_MAX if attribute.maximum is None else int(attribute.maximum)
    return low, high


def _string_form(attribute: Attribute, *, checked: bool) -> Schema:
    """A STRING; ``checked`` when the API writes it, so its input rules hold for stored values."""
    schema: Schema = {"type": "string"}
    if attribute.max_length is not None:
        schema["maxLength"] = attribute.max_length
    if attribute.exact_length is not None:
        schema["minLength"] = schema["maxLength"] = attribute.exact_length
    if checked:
        schema["pattern"] = NOT_BLANK if attribute.required else NO_NUL
    return schema


def _response_form(attribute: Attribute) -> Schema:
    kind = attribute.kind
    if kind is Kind.ID:
        return {"type": "string", "pattern": ID_TEXT}
    if kind is Kind.STRING:
        return _string_form(attribute, checked=attribute.access is not Access.READ_ONLY)
    if kind in (Kind.INTEGER, Kind.REFERENCE):
        low, high = _bounds(attribute)
        return {**INT64, "minimum": low, "maximum": high}
    if kind is Kind.DECIMAL:
        return {"type": "string", "pattern": rendered_decimal(attribute)}
    if kind is Kind.BOOLEAN:
        return {"type": "boolean"}
    if kind is Kind.DATETIME:
        return {"type": "string", "format": "date-time", "pattern": RENDERED_DATETIME}
    if kind is Kind.UUID:
        return {"type": "string", "format": "uuid"}
    if kind is Kind.ENUM:
        return {"type": "string", "enum": list(attribute.choices)}
    if kind is Kind.EMAILS:
        return {"type": "array", "items": copy.deepcopy(_EMAIL)}
    if kind is Kind.OBJECT:
        return copy.deepcopy(_STRING_MAP)
    return {"type": "array"}  # LINES: never rendered


def _request_form(attribute: Attribute) -> Schema:
    kind = attribute.kind
    if kind in (Kind.INTEGER, Kind.REFERENCE):
        low, high = _bounds(attribute)
        return {
            "type": ["integer", "string"],
            "format": "int64",
            "minimum": low,
            "maximum": high,
            "pattern": anchored(integer_text(low, high)),
        }
    if kind is Kind.DECIMAL:
        schema: Schema = {"type": ["number", "string"]}
        digits = attribute.integer_digits or DEFAULT_DIGITS
        if attribute.minimum is None:
            schema["exclusiveMinimum"] = -(10**digits)
        else:
            schema["minimum"] = _number(attribute.minimum)
        if attribute.maximum is None:
            schema["exclusiveMaximum"] = 10**digits
        else:
            schema["maximum"] = _number(attribute.maximum)
        schema["pattern"] = anchored(decimal_text(attribute, bounded=True))
        return schema
    if kind is Kind.BOOLEAN:
        return {"type": ["boolean", "string"], "pattern": anchored(BOOLEAN_TEXT)}
    if kind is Kind.DATETIME:
        kinds = ["string", "boolean"] if attribute.ignore_booleans else "string"
        return {"type": kinds, "format": "date-time"}
    if kind is Kind.ENUM:
        words = [*attribute.choices, *(alias for alias, _ in attribute.choice_aliases)]
        return {
            "type": "string",
            "pattern": anchored(any_case(words)),
            "examples": list(attribute.choices),
        }
    if kind is Kind.EMAILS:
        return {"type": ["array", "string"], "items": copy.deepcopy(_EMAIL)}
    if kind is Kind.STRING:
        return _string_form(attribute, checked=True)
    return _response_form(attribute)


def _notes(attribute: Attribute, request: bool) -> list[str]:
    notes: list[str] = []
    if attribute.kind is Kind.DECIMAL:
        digits = attribute.integer_digits or DEFAULT_DIGITS
        notes.append(
            f"At most {digits} digits before the point; two decimals, rounded toward zero."
        )
        bounds = [f"at least {attribute.minimum}"] if attribute.minimum is not None else []
        bounds += [f"at most {attribute.maximum}"] if attribute.maximum is not None else []
        if bounds:
            notes.append(f"Value {' and '.join(bounds)}.")
    if request and attribute.kind in _INPUT_NOTES:
        notes.append(_INPUT_NOTES[attribute.kind])
    if request and attribute.kind is Kind.STRING and attribute.required:
        notes.append("Must not be blank.")
    if request and attribute.ignore_booleans:
        notes.append("Booleans are ignored.")
    if request and attribute.choice_aliases:
        aliases = ", ".join(f"{alias} for {value}" for alias, value in attribute.choice_aliases)
        notes.append(f"Also accepts {aliases}.")
    if attribute.references:
        notes.append(f"The id of a {get(attribute.references).label}.")
    return notes


def _number(value: int | Decimal) -> int | float:
    return int(value) if value == int(value) else float(value)


def attributes_object(
    spec: ResourceSpec, attributes: tuple[Attribute, ...], *, request: bool, required: list[str]
) -> Schema:
    properties: Schema = {}
    for attribute in attributes:
        schema = _attribute_schema(attribute, request=request)
        if attribute.kind is Kind.LINES:
            schema["items"] = schema_ref(embedded_name(spec))
        properties[attribute.name] = schema
        if request:
            for alias in attribute.input_aliases:
                properties[alias] = {
                    **schema,
                    "deprecated": True,
                    "description": f"Input alias of {attribute.name}.",
                }
    result: Schema = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


def creatable_attributes(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_create)


def updatable_attributes(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_update)


def required_names(attributes: tuple[Attribute, ...]) -> list[str]:
    return [a.name for a in attributes if a.required]


def embedded_name(spec: ResourceSpec) -> str:
    assert spec.embedded is not None
    return f"Embedded{get(spec.embedded.target).label}"


def embedded_line_schema(spec: ResourceSpec) -> Schema:
    assert spec.embedded is not None
    target = get(spec.embedded.target)
    parent = spec.embedded.parent_attribute
    attributes = tuple(a for a in creatable_attributes(target) if a.name != parent)
    schema = attributes_object(
        target, attributes, request=True, required=required_names(attributes)
    )
    schema["description"] = f"A flat {target.label}; {parent} is set from the created order."
    return schema
