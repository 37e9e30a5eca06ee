"""Small helpers every part of the document uses: the ``Schema`` alias, the 64-bit integer
schema, plain objects, ``$ref`` references, JSON responses and nullable types."""

from __future__ import annotations

from typing import Any

from optiply.jsonapi.media import JSON
from optiply.resources.types import INT64_MAX, INT64_MIN

Schema = dict[str, Any]

INT64: Schema = {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}

LABEL = "x-optiply-extension"
"""Marks what the extensions of this server add to the document (the extension's URI)."""
NOT_HOSTED = "An extension of this server, not in the hosted API."


def object_schema(properties: Schema, *, required: list[str] | None = None) -> Schema:
    """An object schema of ``properties``, with ``required`` when there are any."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def schema_ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def parameter_ref(name: str) -> Schema:
    """A reference to the component parameter ``name``."""
    return {"$ref": f"#/components/parameters/{name}"}


def json_response(description: str, schema: Schema) -> Schema:
    """A response with a plain JSON body of ``schema``."""
    return {"description": description, "content": {JSON: {"schema": schema}}}


def title(name: str) -> str:
    """``name`` with its first letter in upper case (``buyOrders``: ``BuyOrders``)."""
    return name[0].upper() + name[1:]


def allow_null(schema: Schema) -> None:
    """Let ``schema`` (one with a ``type``) take null too, in place."""
    kinds = schema["type"]
    schema["type"] = [*(kinds if isinstance(kinds, list) else [kinds]), "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
