"""``POST /v1/operations`` in the document: the JSON:API Atomic Operations extension, its
request and result documents derived from the registry (one add, update and remove operation
schema per type that allows the method), its media type with the ``ext`` parameter and its
errors. Laid over the v1 document by ``extensions.add_extensions``, labelled like the others.
"""

from __future__ import annotations

import copy

from optiply.jsonapi.extensions import (
    ATOMIC,
    ATOMIC_MEDIA_TYPE,
    MAX_OPERATIONS,
)
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.http.openapi.attributes import (
    attributes_object,
    creatable_attributes,
    required_names,
    updatable_attributes,
)
from optiply.server.http.openapi.common import (
    LABEL,
    NOT_HOSTED,
    Schema,
    object_schema,
    parameter_ref,
    schema_ref,
)
from optiply.server.http.openapi.patterns import ID_TEXT
from optiply.server.http.openapi.responses import RESPONSE_NAMES


def _lid() -> Schema:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "description": "A local id: names a row created by an earlier add of the same request.",
    }


def _id() -> Schema:
    return {"type": "string", "pattern": ID_TEXT}


_ERRORS = ("400", "401", "403", "404", "405", "406", "409", "413", "415", "429", "503")
_ERROR_NAMES = {"406": "NotAcceptable"}


def operations_components() -> tuple[dict[str, Schema], dict[str, Schema]]:
    """The schemas and responses the path uses (``components.schemas``, ``.responses``)."""
    schemas: dict[str, Schema] = {}
    choices = []
    for spec in REGISTRY:
        for kind, schema in _operations_of(spec).items():
            schemas[f"{spec.label}{kind}Operation"] = schema
            choices.append(schema_ref(f"{spec.label}{kind}Operation"))
        if "POST" in spec.methods:
            attributes = creatable_attributes(spec)
            linked = {r.attribute for r in spec.relationships if not r.to_many}
            required = [name for name in required_names(attributes) if name not in linked]
            schemas[f"{spec.label}AddAttributes"] = attributes_object(
                spec, attributes, request=True, required=required
            )
    schemas["AtomicOperation"] = {"oneOf": choices, LABEL: ATOMIC.uri}
    schemas["AtomicOperationsRequest"] = _labelled(
        object_schema(
            {
                "atomic:operations": {
                    "type": "array",
                    "items": schema_ref("AtomicOperation"),
                    "minItems": 1,
                    "maxItems": MAX_OPERATIONS,
                }
            },
            required=["atomic:operations"],
        )
    )
    schemas["AtomicResult"] = _result()
    schemas["AtomicResultsDocument"] = _labelled(
        object_schema(
            {
                "atomic:results": {"type": "array", "items": schema_ref("AtomicResult")},
                "jsonapi": schema_ref("JsonApi"),
            },
            required=["atomic:results"],
        )
    )
    errors = {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}}
    responses = {
        "NotAcceptable": _labelled(
            {
                "description": "NOT_ACCEPTABLE: Accept lists the JSON:API media type only with "
                "parameters or extensions this server cannot honour (JSON:API 1.1).",
                "content": copy.deepcopy(errors),
            }
        )
    }
    return schemas, responses


def operations_path() -> Schema:
    """The path item of ``POST /v1/operations``."""
    return {
        "post": {
            "tags": ["extensions"],
            "operationId": "postOperations",
            "summary": "Run up to 100 add, update and remove operations, all or nothing",
            "description": _DESCRIPTION,
            "security": [{"oauth2": ["write"]}],
            "parameters": [parameter_ref("AccountId"), parameter_ref("CouplingId")],
            "requestBody": {
                "required": True,
                "content": {ATOMIC_MEDIA_TYPE: {"schema": schema_ref("AtomicOperationsRequest")}},
            },
            "responses": {
                "200": {
                    "description": "Every operation ran: one result per operation, in order.",
                    "content": {ATOMIC_MEDIA_TYPE: {"schema": schema_ref("AtomicResultsDocument")}},
                },
                **{
                    code: {"$ref": f"#/components/responses/{_response_name(code)}"}
                    for code in _ERRORS
                },
            },
            LABEL: ATOMIC.uri,
        }
    }


_DESCRIPTION = f"""{NOT_HOSTED} The JSON:API Atomic Operations extension \
({ATOMIC.uri}): send `{ATOMIC_MEDIA_TYPE}` (any other Content-Type answers 415; an Accept \
that lists the JSON:API media type only with other parameters or extensions, 406). The \
operations run in order in one transaction, in one account (`accountId` when the token reaches \
several): the first that fails rolls back every one before it, and the error's \
`source.pointer` names it (`/atomic:operations/3/data/attributes/price`; a missing row or a \
409 pair points at the operation). Each does what the single-resource endpoint does, with its \
rules: `add` as POST, `update` as PATCH (the row named by `ref` or by `data.id`/`data.lid`), \
`remove` as DELETE (by `ref`, cascading). A to-one relationship in `data.relationships` sets \
its attribute by `id` or by the `lid` an earlier `add` gave its row (`"product": {{"data": \
{{"type": "products", "lid": "p1"}}}}`). The token needs `write` for add and update, `delete` \
for remove. Results: the row as GET renders it (`meta.orderLineIds` for an order added with \
lines), `{{}}` for a remove. Not supported (400): `href`, relationship operations \
(`ref.relationship`), client-chosen ids (use `lid`). An Idempotency-Key covers the whole \
request; a sandbox fault rule matching POST /v1/operations acts on the whole request."""


def _response_name(code: str) -> str:
    return _ERROR_NAMES.get(code) or RESPONSE_NAMES[code]


def _labelled(schema: Schema) -> Schema:
    return {**schema, LABEL: ATOMIC.uri}


def _operations_of(spec: ResourceSpec) -> dict[str, Schema]:
    """The add, update and remove operation schemas of ``spec``, as its methods allow."""
    found: dict[str, Schema] = {}
    kind = {"type": "string", "const": spec.type}
    row = {
        "oneOf": [
            object_schema({"type": kind, "id": _id()}, required=["type", "id"]),
            object_schema({"type": kind, "lid": _lid()}, required=["type", "lid"]),
        ]
    }
    if "POST" in spec.methods:
        data = object_schema(
            {
                "type": kind,
                "lid": _lid(),
                "attributes": schema_ref(f"{spec.label}AddAttributes"),
                "relationships": _relationships(spec, creating=True),
            },
            required=["type", "attributes"],
        )
        found["Add"] = object_schema(
            {"op": {"const": "add"}, "ref": object_schema({"type": kind}), "data": data},
            required=["op", "data"],
        )
    if "PATCH" in spec.methods:
        data = object_schema(
            {
                "type": kind,
                "id": _id(),
                "lid": _lid(),
                "attributes": schema_ref(f"{spec.label}UpdateAttributes"),
                "relationships": _relationships(spec, creating=False),
            },
            required=["type"],
        )
        found["Update"] = object_schema(
            {"op": {"const": "update"}, "ref": row, "data": data},
            required=["op", "ref", "data"],
        )
    if "DELETE" in spec.methods:
        found["Remove"] = object_schema(
            {"op": {"const": "remove"}, "ref": row}, required=["op", "ref"]
        )
    return found


def _relationships(spec: ResourceSpec, *, creating: bool) -> Schema:
    """The to-one relationships a request may set, each to an identifier by id or lid."""
    writable = {
        a.name: a for a in (creatable_attributes(spec) if creating else updatable_attributes(spec))
    }
    properties: Schema = {}
    for relationship in spec.relationships:
        attribute = writable.get(relationship.attribute)
        if relationship.to_many or attribute is None:
            continue
        target = {"type": "string", "const": relationship.target}
        identifier: Schema = {
            "oneOf": [
                object_schema({"type": target, "id": _id()}, required=["type", "id"]),
                object_schema({"type": target, "lid": _lid()}, required=["type", "lid"]),
            ]
        }
        if attribute.nullable:
            identifier = {"oneOf": [*identifier["oneOf"], {"type": "null"}]}
        properties[relationship.name] = {
            **object_schema({"data": identifier}, required=["data"]),
            "description": f"Sets {relationship.attribute} (then leave it out of attributes).",
        }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _result() -> Schema:
    resources = [schema_ref(spec.label) for spec in REGISTRY]
    lines = {"type": "array", "items": {"type": "string", "pattern": ID_TEXT}}
    return _labelled(
        {
            "anyOf": [
                {"type": "object", "maxProperties": 0, "description": "A remove's result."},
                object_schema(
                    {
                        "data": {"oneOf": resources},
                        "meta": object_schema({"orderLineIds": lines}),
                    },
                    required=["data"],
                ),
            ]
        }
    )
