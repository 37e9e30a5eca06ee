"""The OpenAPI 3.1 document of the whole API, generated from the resource registry.

Nothing here lists fields by hand: every path, schema and parameter of ``/v1`` is derived from
``REGISTRY``. The module is pure (stdlib and ``optiply.resources`` only); the HTTP layer serves
the dictionary that ``openapi_document`` returns.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from optiply.resources import REGISTRY, Access, Attribute, Kind, Relationship, ResourceSpec, get

Schema = dict[str, Any]

_MEDIA_TYPE = "application/vnd.api+json"
_OAUTH_PATH = "/api/auth/oauth/token"
_SCOPES = {
    "read": "GET requests.",
    "write": "POST and PATCH requests.",
    "delete": "DELETE requests.",
}
_METHOD_SCOPES = {"get": "read", "post": "write", "patch": "write", "delete": "delete"}
_OPERATORS = ("EQ", "NEQ", "LIKE", "LT", "LE", "GT", "GE")

_ID_TEXT = r"^[1-9][0-9]*$"
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+(\.0*)?\s*$"
_DECIMAL_TEXT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_DATETIME_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$"
_EMAIL: Schema = {"type": "string", "format": "email"}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}

# Kind -> (response form, request form): the one table of JSON forms (§3.6, §4.6). Requests are
# loose: integers also as numeric strings, decimals as numbers or strings, e-mails as one string.
_KIND_SCHEMAS: dict[Kind, tuple[Schema, Schema]] = {
    Kind.ID: ({"type": "string", "pattern": _ID_TEXT}, {"type": "string", "pattern": _ID_TEXT}),
    Kind.STRING: ({"type": "string"}, {"type": "string"}),
    Kind.INTEGER: (
        {"type": "integer", "format": "int64"},
        {"type": ["integer", "string"], "format": "int64", "pattern": _INTEGER_TEXT},
    ),
    Kind.REFERENCE: (
        {"type": "integer", "format": "int64", "minimum": 1},
        {"type": ["integer", "string"], "format": "int64", "minimum": 1, "pattern": _INTEGER_TEXT},
    ),
    Kind.DECIMAL: (
        {"type": "string", "pattern": r"^-?\d+\.\d{2}$"},
        {"type": ["number", "string"], "pattern": _DECIMAL_TEXT},
    ),
    Kind.BOOLEAN: ({"type": "boolean"}, {"type": "boolean"}),
    Kind.DATETIME: (
        {"type": "string", "format": "date-time", "pattern": _DATETIME_TEXT},
        {"type": "string", "format": "date-time"},
    ),
    Kind.UUID: ({"type": "string", "format": "uuid"}, {"type": "string", "format": "uuid"}),
    Kind.ENUM: ({"type": "string"}, {"type": "string"}),
    Kind.EMAILS: (
        {"type": "array", "items": _EMAIL},
        {"type": ["array", "string"], "items": _EMAIL},
    ),
    Kind.OBJECT: (_STRING_MAP, _STRING_MAP),
    Kind.LINES: ({"type": "array"}, {"type": "array"}),
}

# What a request may send beyond the rendered form (§3.6).
_INPUT_NOTES = {
    Kind.INTEGER: "A JSON integer or a numeric string.",
    Kind.REFERENCE: "A JSON integer or a numeric string.",
    Kind.DECIMAL: "A JSON number or a numeric string.",
    Kind.DATETIME: "ISO-8601 with Z, an offset or no zone (UTC); a date alone means midnight.",
    Kind.ENUM: "Case-insensitive.",
    Kind.EMAILS: "Also one string of addresses separated by commas or semicolons.",
}

_DESCRIPTION = """\
A self-hosted, open re-implementation of the Optiply Public API v1. It loosely follows JSON:API.

**Media type.** Responses are `application/vnd.api+json`. POST and PATCH bodies must be sent
with `Content-Type: application/vnd.api+json`; any other media type answers 415.

**Values.** Ids are strings at the document level; foreign keys (`productId`, ...) are integer
attributes with read-only `*Uuid` twins. Decimals are rendered as strings with exactly two
decimals (`"12.50"`); input decimals (numbers or numeric strings) are rounded toward zero to two
decimals. Date-times are UTC, rendered as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. Nullable attributes
are rendered as an explicit `null`.

**Filters.** `filter[attr]=v` or `filter[attr][OP]=v`, with OP one of EQ (the default), NEQ,
LIKE (contains, case-insensitive; `%` and `_` are wildcards), LT, LE, GT, GE (case-insensitive).
The value `null` means IS NULL (with NEQ: IS NOT NULL). A repeated key means IN. Filters on
different keys are combined with AND.

**Sorting.** `sort=a,-b`: comma-separated attributes, `-` for descending; by default `id`
ascending.

**Paging.** `page[limit]` (default 50, at most 100) and `page[offset]` (default 0, a multiple of
the limit). Lists carry `links.first/last/prev/next` and `meta.totalResourceCount`; `next`
resumes by key with an extra `page[after]` cursor, so follow it verbatim.

**Accounts.** Every `/v1` operation accepts the query parameters `accountId` (the account to work
in; 403 when the token cannot reach it) and `couplingId` (the integration instance; it keys
`remoteIdMap`, default key `publicApi`).

**Embedded lines.** POST of {embedding} accepts `attributes.orderLines`: flat line objects
created with the order and never rendered. As an extension, the 201 response lists the ids of
the created lines in `meta.orderLineIds`.

**Methods.** A method a path does not list answers 405.
"""


def openapi_document(*, version: str) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document of the whole API from the registry.

    Args:
        version: The API implementation version, written to ``info.version``.

    Returns:
        A JSON-serialisable dictionary; a fresh one on every call.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Optiply Public API v1 (self-hosted)",
            "version": version,
            "description": _DESCRIPTION.format(embedding=_embedding_types()),
        },
        "servers": [{"url": "/"}],
        "tags": _tags(),
        "paths": _paths(),
        "components": {
            "securitySchemes": _security_schemes(),
            "parameters": _shared_parameters(),
            "schemas": _schemas(),
            "responses": _error_responses(),
        },
    }


def _embedding_types() -> str:
    return " and ".join(f"`{spec.type}`" for spec in REGISTRY if spec.embedded is not None)


# --- attributes ---------------------------------------------------------------------------------


def _attribute_schema(attribute: Attribute, *, request: bool) -> Schema:
    response_form, request_form = _KIND_SCHEMAS[attribute.kind]
    schema = copy.deepcopy(request_form if request else response_form)
    schema.update(_constraints(attribute, request=request))
    if request and attribute.ignore_booleans:
        schema["type"] = [schema["type"], "boolean"]
    if attribute.nullable:
        _allow_null(schema)
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


def _constraints(attribute: Attribute, *, request: bool) -> Schema:
    constraints: Schema = {}
    if attribute.max_length is not None:
        constraints["maxLength"] = attribute.max_length
    if attribute.exact_length is not None:
        constraints["minLength"] = constraints["maxLength"] = attribute.exact_length
    if attribute.choices:
        constraints["enum"] = list(attribute.choices)
    # Decimals are strings in responses, where a numeric bound cannot apply (see _notes).
    if attribute.kind is not Kind.DECIMAL or request:
        if attribute.minimum is not None:
            constraints["minimum"] = _number(attribute.minimum)
        if attribute.maximum is not None:
            constraints["maximum"] = _number(attribute.maximum)
    return constraints


def _notes(attribute: Attribute, request: bool) -> list[str]:
    notes: list[str] = []
    if attribute.kind is Kind.DECIMAL:
        digits = attribute.integer_digits or 17
        notes.append(
            f"At most {digits} digits before the point; two decimals, rounded toward zero."
        )
        bounds = [f"at least {attribute.minimum}"] if attribute.minimum is not None else []
        bounds += [f"at most {attribute.maximum}"] if attribute.maximum is not None else []
        if bounds:
            notes.append(f"Value {' and '.join(bounds)}.")
    if request and attribute.kind in _INPUT_NOTES:
        notes.append(_INPUT_NOTES[attribute.kind])
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


def _allow_null(schema: Schema) -> None:
    kinds = schema["type"]
    schema["type"] = [*(kinds if isinstance(kinds, list) else [kinds]), "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]


def _attributes_object(
    spec: ResourceSpec, attributes: tuple[Attribute, ...], *, request: bool, required: list[str]
) -> Schema:
    properties: Schema = {}
    for attribute in attributes:
        schema = _attribute_schema(attribute, request=request)
        if attribute.kind is Kind.LINES:
            schema["items"] = _schema_ref(_embedded_name(spec))
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


def _creatable(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_create)


def _updatable(spec: ResourceSpec) -> tuple[Attribute, ...]:
    return tuple(a for a in spec.attributes if a.writable_on_update)


def _required(attributes: tuple[Attribute, ...]) -> list[str]:
    return [a.name for a in attributes if a.required]


def _embedded_name(spec: ResourceSpec) -> str:
    assert spec.embedded is not None
    return f"Embedded{get(spec.embedded.target).label}"


def _embedded_line_schema(spec: ResourceSpec) -> Schema:
    assert spec.embedded is not None
    target = get(spec.embedded.target)
    parent = spec.embedded.parent_attribute
    attributes = tuple(a for a in _creatable(target) if a.name != parent)
    schema = _attributes_object(target, attributes, request=True, required=_required(attributes))
    schema["description"] = f"A flat {target.label}; {parent} is set from the created order."
    return schema


# --- schemas ------------------------------------------------------------------------------------


def _schemas() -> dict[str, Schema]:
    schemas = _shared_schemas()
    for spec in REGISTRY:
        schemas.update(_resource_schemas(spec))
    return schemas


def _resource_schemas(spec: ResourceSpec) -> dict[str, Schema]:
    label = spec.label
    readable = spec.readable
    schemas = {
        f"{label}Attributes": _attributes_object(
            spec, readable, request=False, required=[a.name for a in readable]
        ),
        label: _resource_object(spec),
        f"{label}Document": _single_document(label),
        f"{label}ListDocument": _list_document(label),
        f"{label}Filter": _filter_schema(spec),
    }
    if "POST" in spec.methods:
        creatable = _creatable(spec)
        schemas[f"{label}CreateAttributes"] = _attributes_object(
            spec, creatable, request=True, required=_required(creatable)
        )
        schemas[f"{label}CreateRequest"] = _request_document(spec, update=False)
        if spec.embedded is not None:
            schemas[_embedded_name(spec)] = _embedded_line_schema(spec)
            schemas[f"{label}CreatedDocument"] = _created_document(label)
    if "PATCH" in spec.methods:
        schemas[f"{label}UpdateAttributes"] = _attributes_object(
            spec, _updatable(spec), request=True, required=[]
        )
        schemas[f"{label}UpdateRequest"] = _request_document(spec, update=True)
    return schemas


def _resource_object(spec: ResourceSpec) -> Schema:
    properties: Schema = {
        "id": {"type": "string", "pattern": _ID_TEXT, "description": "The numeric id."},
        "type": {"type": "string", "const": spec.type},
        "attributes": _schema_ref(f"{spec.label}Attributes"),
        "links": _schema_ref("ResourceLinks"),
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


def _relationship_schema(relationship: Relationship) -> Schema:
    label = get(relationship.target).label
    target = f"the {label} rows" if relationship.to_many else f"the {label}"
    return {**_schema_ref("Relationship"), "description": f"Links to {target}."}


def _single_document(label: str) -> Schema:
    return {"type": "object", "properties": {"data": _schema_ref(label)}, "required": ["data"]}


def _created_document(label: str) -> Schema:
    line_ids = {"type": "array", "items": {"type": "string", "pattern": _ID_TEXT}}
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
            "data": {"type": "array", "items": _schema_ref(label)},
            "links": _schema_ref("PaginationLinks"),
            "meta": _schema_ref("ListMeta"),
        },
        "required": ["data", "links", "meta"],
    }


def _request_document(spec: ResourceSpec, *, update: bool) -> Schema:
    kind = "Update" if update else "Create"
    data: Schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "const": spec.type},
            "attributes": _schema_ref(f"{spec.label}{kind}Attributes"),
        },
        "required": ["type"] if update else ["type", "attributes"],
    }
    if update:
        data["properties"]["id"] = {
            "type": "string",
            "pattern": _ID_TEXT,
            "description": "Optional; when present it must equal the id in the URL (400).",
        }
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


def _filter_schema(spec: ResourceSpec) -> Schema:
    properties: Schema = {spec.type: _schema_ref(f"{spec.label}Filter")}
    properties[spec.type]["description"] = f"The optional type prefix: filter[{spec.type}][attr]."
    for attribute in spec.attributes:
        if attribute.filterable:
            properties[attribute.name] = _schema_ref("FilterValue")
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _shared_schemas() -> dict[str, Schema]:
    uri = {"type": "string", "format": "uri"}
    nullable_uri = {"type": ["string", "null"], "format": "uri"}
    values = {"type": ["string", "array"], "items": {"type": "string"}}
    return {
        "ResourceLinks": _object({"self": uri}, required=["self"]),
        "Relationship": _object(
            {"links": _object({"self": uri, "related": uri}, required=["self", "related"])},
            required=["links"],
        ),
        "PaginationLinks": _object(
            {name: nullable_uri for name in ("first", "last", "prev", "next")}
        ),
        "ListMeta": _object(
            {"totalResourceCount": {"type": "integer", "minimum": 0}},
            required=["totalResourceCount"],
        ),
        "FilterValue": {
            "description": "A value (repeat the key for IN), or operators with values.",
            "anyOf": [values, _schema_ref("FilterOperators")],
        },
        "FilterOperators": {
            **_object({op: values for op in _OPERATORS}),
            "description": "Operators are case-insensitive; the value `null` means IS NULL.",
        },
        "ErrorDocument": _object(
            {"errors": {"type": "array", "minItems": 1, "items": _schema_ref("Error")}},
            required=["errors"],
        ),
        "Error": _error_schema(),
        "OAuthError": _object(
            {"error": {"type": "string"}, "error_description": {"type": "string"}},
            required=["error"],
        ),
        "TokenResponse": _object(
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
    source = _object({"pointer": text, "parameter": text})
    source.update(minProperties=1, maxProperties=1, additionalProperties=False)
    source["description"] = "The culprit: a JSON pointer into the body, or a query parameter."
    return _object(
        {
            "status": {"type": "string", "pattern": "^[45][0-9]{2}$"},
            "code": {**text, "description": "A stable machine-readable code."},
            "title": text,
            "detail": text,
            "source": source,
            "meta": _object({"message": {**text, "description": "Same as detail."}}),
        },
        required=["status", "code", "title", "detail"],
    )


def _object(properties: Schema, *, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _schema_ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# --- paths --------------------------------------------------------------------------------------


def _paths() -> dict[str, Schema]:
    paths = {_OAUTH_PATH: _token_path(), "/health": _health_path()}
    for spec in REGISTRY:
        paths.update(_resource_paths(spec))
    return paths


def _resource_paths(spec: ResourceSpec) -> dict[str, Schema]:
    label, plural = spec.label, _title(spec.type)
    collection: Schema = {
        "get": _operation(
            spec,
            "get",
            f"list{plural}",
            f"List {spec.type}",
            responses={"200": _ok(f"{label}ListDocument")},
            parameters=_list_parameters(spec),
            not_found=False,
        )
    }
    if "POST" in spec.methods:
        created = f"{label}CreatedDocument" if spec.embedded else f"{label}Document"
        collection["post"] = _operation(
            spec,
            "post",
            f"create{label}",
            f"Create a {label}",
            responses={"201": _ok(created, "Created.")},
            body=f"{label}CreateRequest",
            not_found=_has_parents(spec),
        )
    item: Schema = {
        "parameters": [_parameter_ref("ResourceId")],
        "get": _operation(
            spec, "get", f"get{label}", f"Get a {label}", responses={"200": _ok(f"{label}Document")}
        ),
    }
    if "PATCH" in spec.methods:
        item["patch"] = _operation(
            spec,
            "patch",
            f"update{label}",
            f"Update a {label}",
            responses={"200": _ok(f"{label}Document")},
            body=f"{label}UpdateRequest",
        )
    if "DELETE" in spec.methods:
        item["delete"] = _operation(
            spec,
            "delete",
            f"delete{label}",
            f"Delete a {label}",
            responses={"204": {"description": "Deleted."}},
            description=_cascade_note(spec),
        )
    paths = {f"/v1/{spec.type}": collection, f"/v1/{spec.type}/{{id}}": item}
    for relationship in spec.relationships:
        paths[f"/v1/{spec.type}/{{id}}/{relationship.name}"] = _related_path(spec, relationship)
    return paths


def _related_path(spec: ResourceSpec, relationship: Relationship) -> Schema:
    target = get(relationship.target)
    document = f"{target.label}ListDocument" if relationship.to_many else f"{target.label}Document"
    operation = _operation(
        spec,
        "get",
        f"get{spec.label}{_title(relationship.name)}",
        f"Get the {relationship.name} of a {spec.label}",
        responses={"200": _ok(document)},
        parameters=_list_parameters(target) if relationship.to_many else [],
    )
    return {"parameters": [_parameter_ref("ResourceId")], "get": operation}


def _operation(
    spec: ResourceSpec,
    method: str,
    operation_id: str,
    summary: str,
    *,
    responses: Schema,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    description: str = "",
    not_found: bool = True,
) -> Schema:
    operation: Schema = {
        "tags": [spec.type],
        "operationId": operation_id,
        "summary": summary,
        "description": " ".join(filter(None, [spec.description, description])),
        "security": [{"oauth2": [_METHOD_SCOPES[method]]}],
        "parameters": [
            *(parameters or []),
            _parameter_ref("AccountId"),
            _parameter_ref("CouplingId"),
        ],
        "responses": {**responses, **_errors_for(spec, method, not_found=not_found)},
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {_MEDIA_TYPE: {"schema": _schema_ref(body)}},
        }
    return operation


def _errors_for(spec: ResourceSpec, method: str, *, not_found: bool) -> Schema:
    codes = ["400", "401", "403"]
    if not_found:
        codes.append("404")
    if method in ("post", "patch"):
        codes += ["409", "415"] if spec.unique else ["415"]
    return {code: {"$ref": f"#/components/responses/{_RESPONSE_NAMES[code]}"} for code in codes}


def _has_parents(spec: ResourceSpec) -> bool:
    """Whether a POST names rows that may not exist (404): references besides the account."""
    creatable = _creatable(spec)
    return spec.embedded is not None or any(
        a.kind is Kind.REFERENCE and a.name != "accountId" for a in creatable
    )


def _cascade_note(spec: ResourceSpec) -> str:
    cascades = [r.name for r in spec.relationships if r.cascade]
    return f"Also deletes its {', '.join(cascades)}." if cascades else ""


def _ok(schema: str, description: str = "OK.") -> Schema:
    return {"description": description, "content": {_MEDIA_TYPE: {"schema": _schema_ref(schema)}}}


def _title(name: str) -> str:
    return name[0].upper() + name[1:]


# --- parameters ---------------------------------------------------------------------------------


def _list_parameters(spec: ResourceSpec) -> list[Schema]:
    sortable = [a.name for a in spec.attributes if a.sortable]
    filterable = [a.name for a in spec.attributes if a.filterable]
    sort = {
        "name": "sort",
        "in": "query",
        "description": "Comma-separated attributes, `-` for descending (default `id`). "
        f"Sortable: {', '.join(sortable)}.",
        "schema": {"type": "string", "examples": ["-updatedAt,id"]},
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
        "schema": _schema_ref(f"{spec.label}Filter"),
    }
    return [
        sort,
        _parameter_ref("PageLimit"),
        _parameter_ref("PageOffset"),
        _parameter_ref("PageAfter"),
        filters,
    ]


def _shared_parameters() -> dict[str, Schema]:
    int64 = {"type": "integer", "format": "int64", "minimum": 1}
    return {
        "ResourceId": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": _ID_TEXT},
        },
        "AccountId": {
            "name": "accountId",
            "in": "query",
            "description": "The account to work in: narrows lists, chooses the account of a "
            "POST (after attributes.accountId). 403 when the token cannot reach it.",
            "schema": int64,
        },
        "CouplingId": {
            "name": "couplingId",
            "in": "query",
            "description": "The integration instance writing the data; keys remoteIdMap.",
            "schema": int64,
        },
        "PageLimit": {
            "name": "page[limit]",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
        },
        "PageOffset": {
            "name": "page[offset]",
            "in": "query",
            "description": "A multiple of page[limit]; past the end gives an empty page.",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
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


def _parameter_ref(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


# --- responses, security, auth and health --------------------------------------------------------

_RESPONSE_NAMES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "405": "MethodNotAllowed",
    "409": "Conflict",
    "415": "UnsupportedMediaType",
}


def _error_responses() -> dict[str, Schema]:
    errors = {_MEDIA_TYPE: {"schema": _schema_ref("ErrorDocument")}}
    oauth = {"application/json": {"schema": _schema_ref("OAuthError")}}
    text = {"schema": {"type": "string"}}
    return {
        "BadRequest": {"description": "Invalid body, value or query parameter.", "content": errors},
        "Unauthorized": {
            "description": "Missing, invalid or expired access token (OAuth2 body).",
            "headers": {"WWW-Authenticate": text},
            "content": oauth,
        },
        "Forbidden": {
            "description": "The token lacks the scope (OAuth2 body, insufficient_scope) or "
            "cannot reach the account (JSON:API body).",
            "content": {**oauth, **errors},
        },
        "NotFound": {"description": "Unknown or deleted id (or referenced id).", "content": errors},
        "MethodNotAllowed": {
            "description": "The method is not supported on this path.",
            "headers": {"Allow": text},
            "content": errors,
        },
        "Conflict": {"description": "The unique pair already exists.", "content": errors},
        "UnsupportedMediaType": {
            "description": f"The body is not sent as {_MEDIA_TYPE}.",
            "content": errors,
        },
    }


def _security_schemes() -> dict[str, Schema]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Password grant; send `Authorization: Bearer <access_token>`.",
            "flows": {
                "password": {
                    "tokenUrl": _OAUTH_PATH,
                    "refreshUrl": _OAUTH_PATH,
                    "scopes": dict(_SCOPES),
                }
            },
        },
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "The OAuth2 client id and secret.",
        },
    }


def _tags() -> list[Schema]:
    tags = [{"name": spec.type, "description": spec.description} for spec in REGISTRY]
    return [
        {"name": "auth", "description": "OAuth2 tokens."},
        {"name": "health", "description": "Liveness."},
        *tags,
    ]


def _token_path() -> Schema:
    string = {"type": "string"}
    secret = {"type": "string", "format": "password"}
    form = _object(
        {
            "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
            "username": string,
            "password": secret,
            "refresh_token": string,
            "client_id": {**string, "description": "Fallback for HTTP Basic client auth."},
            "client_secret": secret,
        }
    )
    query = [
        {"name": name, "in": "query", "schema": form["properties"][name]}
        for name in ("grant_type", "refresh_token")
    ]
    return {
        "post": {
            "tags": ["auth"],
            "operationId": "issueToken",
            "summary": "Issue or refresh an access token",
            "description": "Grants `password` (username, password) and `refresh_token`. "
            "Parameters are read from the query string and the form body alike. The client "
            "authenticates with HTTP Basic.",
            "security": [{"clientBasic": []}],
            "parameters": query,
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": form}}},
            "responses": {
                "200": _json("A token.", _schema_ref("TokenResponse")),
                "400": _json(
                    "Bad grant: invalid_grant (bad credentials or refresh token) or "
                    "unsupported_grant_type.",
                    _schema_ref("OAuthError"),
                ),
                "401": _json(
                    "Unknown client or wrong client secret; see error_description.",
                    _schema_ref("OAuthError"),
                ),
            },
        }
    }


def _health_path() -> Schema:
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    ok = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
    return {
        "get": {
            "tags": ["health"],
            "operationId": "getHealth",
            "summary": "Check that the server and its database are up",
            "security": [],
            "responses": {
                "200": _json("The server and its database are up.", ok),
                "503": _json("The database is unreachable.", status),
            },
        }
    }


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
