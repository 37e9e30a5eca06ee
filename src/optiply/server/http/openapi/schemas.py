"""The component schemas of each resource (its attributes, resource object, identifiers,
documents and requests) and the shared ones (links, list meta, errors, OAuth2 tokens)."""

from __future__ import annotations

import copy

from optiply.resources import Relationship, ResourceSpec, get
from optiply.server.http.openapi.attributes import (
    attributes_object,
    creatable_attributes,
    embedded_line_schema,
    embedded_name,
    required_names,
    updatable_attributes,
)
from optiply.server.http.openapi.common import Schema, object_schema, schema_ref
from optiply.server.http.openapi.filters import filter_schema
from optiply.server.http.openapi.patterns import ID_TEXT

_LINK_NOTE = (
    "An absolute URL. Its query keeps `[` and `]` unescaped (`page[offset]=50`), as clients "
    "send them, so it is no strict RFC 3986 URI (hence no `format`): follow it verbatim."
)


def resource_schemas(spec: ResourceSpec) -> dict[str, Schema]:
    label = spec.label
    readable = spec.readable
    schemas = {
        f"{label}Attributes": attributes_object(
            spec, readable, request=False, required=[a.name for a in readable]
        ),
        label: _resource_object(spec),
        f"{label}Document": _single_document(label),
        f"{label}NullableDocument": _nullable_document(label),
        f"{label}ListDocument": _list_document(label),
        f"{label}Identifier": _identifier(spec),
        f"{label}IdentifierDocument": _nullable_document(f"{label}Identifier"),
        f"{label}IdentifiersDocument": object_schema(
            {"data": {"type": "array", "items": schema_ref(f"{label}Identifier")}},
            required=["data"],
        ),
        f"{label}Filter": filter_schema(spec),
    }
    if "POST" in spec.methods:
        creatable = creatable_attributes(spec)
        schemas[f"{label}CreateAttributes"] = attributes_object(
            spec, creatable, request=True, required=required_names(creatable)
        )
        schemas[f"{label}CreateRequest"] = _request_document(spec, update=False)
        if spec.embedded is not None:
            schemas[embedded_name(spec)] = embedded_line_schema(spec)
            schemas[f"{label}CreatedDocument"] = _created_document(label)
    if "PATCH" in spec.methods:
        schemas[f"{label}UpdateAttributes"] = attributes_object(
            spec, updatable_attributes(spec), request=True, required=[]
        )
        schemas[f"{label}UpdateRequest"] = _request_document(spec, update=True)
    return schemas


def _resource_object(spec: ResourceSpec) -> Schema:
    properties: Schema = {
        "id": {"type": "string", "pattern": ID_TEXT, "description": "The numeric id."},
        "type": {"type": "string", "const": spec.type},
        "attributes": schema_ref(f"{spec.label}Attributes"),
        "links": schema_ref("ResourceLinks"),
    }
    required = ["id", "type", "attributes", "links"]
    if spec.relationships:
        properties["relationships"] = {
            "type": "object",
            "properties": {r.name: _relationship_schema(r) for r in spec.relationships},
            "required": [r.name for r in spec.relationships],
        }
        required.append("relationships")
    return {
        "type": "object",
        "description": spec.description,
        "properties": properties,
        "required": required,
    }


def _identifier(spec: ResourceSpec) -> Schema:
    return object_schema(
        {
            "type": {"type": "string", "const": spec.type},
            "id": {"type": "string", "pattern": ID_TEXT},
        },
        required=["type", "id"],
    )


def _relationship_schema(relationship: Relationship) -> Schema:
    label = get(relationship.target).label
    target = f"the {label} rows" if relationship.to_many else f"the {label}"
    return {**schema_ref("Relationship"), "description": f"Links to {target}."}


def _single_document(label: str) -> Schema:
    return {"type": "object", "properties": {"data": schema_ref(label)}, "required": ["data"]}


def _nullable_document(label: str) -> Schema:
    """``data`` is the ``label`` schema or null (a to-one relationship that points nowhere)."""
    data = {"anyOf": [schema_ref(label), {"type": "null"}]}
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


def _created_document(label: str) -> Schema:
    line_ids = {"type": "array", "items": {"type": "string", "pattern": ID_TEXT}}
    meta = {
        "type": "object",
        "properties": {"orderLineIds": {**line_ids, "description": "Ids of the created lines."}},
    }
    document = _single_document(label)
    document["properties"]["meta"] = meta
    return document


def _list_document(label: str) -> Schema:
    return {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": schema_ref(label)},
            "links": schema_ref("PaginationLinks"),
            "meta": schema_ref("ListMeta"),
        },
        "required": ["data", "links", "meta"],
    }


def _request_document(spec: ResourceSpec, *, update: bool) -> Schema:
    kind = "Update" if update else "Create"
    data: Schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "const": spec.type},
            "attributes": schema_ref(f"{spec.label}{kind}Attributes"),
        },
        "required": ["type"] if update else ["type", "attributes"],
    }
    if update:
        data["properties"]["id"] = {
            "type": "string",
            "pattern": ID_TEXT,
            "description": "Optional; when present it must equal the id in the URL (400 at "
            "/data/id otherwise).",
        }
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


def shared_schemas() -> dict[str, Schema]:
    link = {"type": "string", "pattern": "^https?://", "description": _LINK_NOTE}
    nullable_link = {**link, "type": ["string", "null"]}
    return {
        "ResourceLinks": object_schema({"self": link}, required=["self"]),
        "Relationship": object_schema(
            {"links": object_schema({"self": link, "related": link}, required=["self", "related"])},
            required=["links"],
        ),
        "PaginationLinks": object_schema(
            {name: copy.deepcopy(nullable_link) for name in ("first", "last", "prev", "next")},
            required=["first", "last", "prev", "next"],
        ),
        "ListMeta": object_schema(
            {"totalResourceCount": {"type": "integer", "minimum": 0}},
            required=["totalResourceCount"],
        ),
        "ErrorDocument": object_schema(
            {"errors": {"type": "array", "minItems": 1, "items": schema_ref("Error")}},
            required=["errors"],
        ),
        "Error": _error_schema(),
        "OAuthError": object_schema(
            {
                "error": {"type": "string"},
                "error_description": {"type": "string"},
                "hint": {
                    "type": "string",
                    "description": "Our own plain-words explanation, where the hosted API's "
                    "sentence says little (an extension member, RFC 6749 §5.2).",
                },
            },
            required=["error"],
        ),
        "TokenResponse": object_schema(
            {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "const": "bearer"},
                "refresh_token": {"type": "string"},
                "expires_in": {"type": "integer", "minimum": 0, "description": "Seconds."},
                "scope": {"type": "string", "examples": ["read write delete"]},
            },
            required=["access_token", "token_type", "refresh_token", "expires_in", "scope"],
        ),
    }


def _error_schema() -> Schema:
    text = {"type": "string"}
    source = object_schema({"pointer": text, "parameter": text})
    source.update(minProperties=1, maxProperties=1, additionalProperties=False)
    source["description"] = "The culprit: a JSON pointer into the body, or a query parameter."
    return object_schema(
        {
            "status": {"type": "string", "pattern": "^[45][0-9]{2}$"},
            "code": {**text, "description": "A stable machine-readable code."},
            "title": text,
            "detail": text,
            "source": source,
            "meta": object_schema({"message": {**text, "description": "Same as detail."}}),
        },
        required=["status", "code", "title", "detail"],
    )
