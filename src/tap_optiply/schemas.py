"""Streams' JSON schemas and record shape, derived from the resource registry.

A record is the resource object flattened the way the existing tap-optiply emits it: ``id``
(text, as the API renders it), ``type``, then every readable attribute under its camelCase
name, values as the API renders them (decimals as strings with two places, ``*Id`` references
as integers, date-times as ISO 8601 text ending in ``Z``).

>>> schema = json_schema(get("sellOrderLines"))
>>> schema["properties"]["subtotalValue"], schema["properties"]["productId"]
({'type': ['string']}, {'type': ['integer']})
>>> list(READABLE)[:3]
['accounts', 'products', 'suppliers']
"""

from __future__ import annotations

from typing import Any

from optiply.resources import REGISTRY, Attribute, Kind, ResourceSpec, get

# The JSON:API types a tap can read (every type with a collection GET), in registry order.
READABLE: dict[str, ResourceSpec] = {spec.type: spec for spec in REGISTRY if "GET" in spec.methods}
REPLICATION_KEY = "updatedAt"

_TYPES: dict[Kind, dict[str, Any]] = {
    Kind.STRING: {"type": "string"},
    Kind.INTEGER: {"type": "integer"},
    Kind.REFERENCE: {"type": "integer"},
    Kind.DECIMAL: {"type": "string"},  # as the API renders it: "12.50"
    Kind.BOOLEAN: {"type": "boolean"},
    Kind.DATETIME: {"type": "string", "format": "date-time"},
    Kind.UUID: {"type": "string", "format": "uuid"},
    Kind.ENUM: {"type": "string"},
    Kind.EMAILS: {"type": "array", "items": {"type": "string"}},
    Kind.OBJECT: {"type": "object", "additionalProperties": True},
}


def property_schema(attribute: Attribute) -> dict[str, Any]:
    """One attribute's JSON schema: its wire type, ``null`` added when it may be absent.

    >>> property_schema(get("products").attribute("status"))
    {'type': ['string'], 'enum': ['enabled', 'disabled']}
    """
    base = dict(_TYPES[attribute.kind])
    types = [base.pop("type")]
    if attribute.nullable:
        types.append("null")
    schema: dict[str, Any] = {"type": types, **base}
    if attribute.kind is Kind.ENUM and not attribute.nullable:
        schema["enum"] = list(attribute.choices)
    return schema


def json_schema(spec: ResourceSpec) -> dict[str, Any]:
    """The stream schema of a type: ``id``, ``type`` and every readable attribute."""
    properties: dict[str, Any] = {
        "id": {"type": ["string"]},
        "type": {"type": ["string"]},
    }
    for attribute in spec.readable:
        properties[attribute.name] = property_schema(attribute)
    return {"type": "object", "properties": properties}


def has_replication_key(spec: ResourceSpec) -> bool:
    """Whether rows carry ``updatedAt`` (every type does today; checked, not assumed)."""
    attribute = spec.attribute(REPLICATION_KEY)
    return attribute is not None and not attribute.nullable and attribute.readable


__all__ = [
    "READABLE",
    "REPLICATION_KEY",
    "get",
    "has_replication_key",
    "json_schema",
    "property_schema",
]
