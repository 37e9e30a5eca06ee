"""The extensions of this server in the document (docs/extensions.md), laid over the v1 one.

``add_extensions`` changes a finished v1 document in place: the ``Idempotency-Key`` header,
its 409 and 422 answers and the ``Idempotent-Replayed`` header on every write of ``/v1``;
``filter[remoteId]`` on every type with ``remoteIdMap``; ``filter[deletedAt]`` (``deleted_rows``)
on every type whose rows can be deleted; the ``jsonapi`` member of documents;
``GET /v1``; and ``source.header`` in errors. Everything it adds carries ``x-optiply-extension``
(the extension's URI) and says in words that it is not part of the hosted API. Without
extensions (``--no-extensions``) the document is the v1 one, unchanged. Atomic operations
(``POST /v1/operations``) come from ``operations``.
"""

from __future__ import annotations

import copy

from optiply.jsonapi.extensions import (
    ATOMIC_MEDIA_TYPE,
    IDEMPOTENCY,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    JSONAPI_VERSION,
    MAX_KEY_LENGTH,
    OPERATIONS_PATH,
    REMOTE_ID,
    SERVER_EXTENSIONS,
    Extension,
)
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query.parse import MAX_REMOTE_ID
from optiply.resources import REGISTRY
from optiply.server.http.openapi.common import (
    LABEL,
    NOT_HOSTED,
    Schema,
    object_schema,
    parameter_ref,
    schema_ref,
)
from optiply.server.http.openapi.deleted_rows import DESCRIPTION as DELETED_ROWS_DESCRIPTION
from optiply.server.http.openapi.deleted_rows import add_deleted_rows
from optiply.server.http.openapi.operations import operations_components, operations_path
from optiply.server.http.openapi.patterns import NULL, anchored

__all__ = ["LABEL", "NOT_HOSTED", "add_extensions"]
_WRITES = ("post", "patch", "delete")
_DESCRIPTION = f"""

**Extensions** (of this server, not in the hosted API; `GET /v1` lists them, and every `/v1` \
document names them in `jsonapi.ext`; `optiply serve --no-extensions` turns them off). \
`{IDEMPOTENCY_KEY}` on POST, PATCH and DELETE: the same key with the same request (method, \
path, query, body) within the key's lifetime (24 h by default) replays the stored answer with \
`{IDEMPOTENT_REPLAYED}: true` and writes nothing; with another request it answers 422 \
`IDEMPOTENCY_KEY_REUSED`, while the first still runs 409 `IDEMPOTENCY_KEY_IN_USE`. Keys belong \
to a user and the accounts of the request; 2xx and 4xx answers are stored, 5xx never. \
`filter[remoteId]=X` (repeat the key for IN) finds the rows whose `remoteIdMap` holds X under \
the request's `couplingId` (`publicApi` without one). `POST /v1/operations` runs up to 100 \
add, update and remove operations in one transaction, all or nothing (JSON:API Atomic \
Operations, `{ATOMIC_MEDIA_TYPE}`). {DELETED_ROWS_DESCRIPTION}"""


def add_extensions(document: Schema) -> None:
    """Describe every extension in the v1 ``document`` (in place)."""
    document["info"]["description"] += _DESCRIPTION
    components = document["components"]
    document["tags"].append(
        {"name": "extensions", "description": f"What this server offers beyond v1. {NOT_HOSTED}"}
    )
    document["paths"]["/v1"] = _index_path()
    document["paths"][OPERATIONS_PATH] = operations_path()
    components["schemas"].update(_schemas())
    schemas, responses = operations_components()
    components["schemas"].update(schemas)
    components["responses"].update(responses)
    components["parameters"]["IdempotencyKey"] = _key_parameter()
    components["responses"].update(_responses(components["responses"]["Conflict"]))
    source = components["schemas"]["Error"]["properties"]["source"]
    source["properties"]["header"] = {"type": "string", LABEL: IDEMPOTENCY.uri}
    source["description"] = "The culprit: a JSON pointer into the body, a query parameter or a "
    source["description"] += "request header (the extensions' Idempotency-Key)."
    for name, schema in components["schemas"].items():
        if name.endswith("Document") and name not in ("ErrorDocument", "ExtensionsDocument"):
            schema["properties"]["jsonapi"] = schema_ref("JsonApi")
    for path, item in document["paths"].items():
        if path.startswith("/v1/"):
            for method in _WRITES:
                if method in item:
                    _idempotent(item[method])
    _remote_id_filters(document)
    add_deleted_rows(document)


def _labelled(extension: Extension, schema: Schema) -> Schema:
    return {**schema, LABEL: extension.uri}


def _key_parameter() -> Schema:
    return _labelled(
        IDEMPOTENCY,
        {
            "name": IDEMPOTENCY_KEY,
            "in": "header",
            "required": False,
            "description": f"{NOT_HOSTED} Makes this write happen once: send the same key "
            "when you send the same request again (a retry after a timeout, a 5xx or a lost "
            f"connection) and get the first answer back, with {IDEMPOTENT_REPLAYED}: true. 1 to "
            f"{MAX_KEY_LENGTH} printable ASCII characters, as sent or as a quoted string (RFC "
            "8941); anything else answers 400 with source.header.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_KEY_LENGTH,
                "pattern": "^[ -~]+$",
                "examples": ["8e03978e-40d5-43e8-bc93-6894a57f9324"],
            },
        },
    )


def _responses(conflict: Schema) -> dict[str, Schema]:
    errors = {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}}
    in_use = (
        f"IDEMPOTENCY_KEY_IN_USE: a request with this {IDEMPOTENCY_KEY} is still being "
        f"handled (PostgreSQL; SQLite makes the second wait and replays). {NOT_HOSTED}"
    )
    return {
        "IdempotencyKeyInUse": _labelled(IDEMPOTENCY, {"description": in_use, "content": errors}),
        "ConflictOrIdempotencyKeyInUse": {
            "description": f"{conflict['description']} Or {in_use}",
            "content": copy.deepcopy(errors),
            LABEL: IDEMPOTENCY.uri,
        },
        "IdempotencyKeyReused": _labelled(
            IDEMPOTENCY,
            {
                "description": f"IDEMPOTENCY_KEY_REUSED: this {IDEMPOTENCY_KEY} came with "
                f"another request (method, path, query or body) before. {NOT_HOSTED}",
                "content": copy.deepcopy(errors),
            },
        ),
    }


def _idempotent(operation: Schema) -> None:
    """The header, its answers and the replay marker on one write."""
    operation["parameters"].append(parameter_ref("IdempotencyKey"))
    responses = operation["responses"]
    conflict = "ConflictOrIdempotencyKeyInUse" if "409" in responses else "IdempotencyKeyInUse"
    responses["409"] = {"$ref": f"#/components/responses/{conflict}"}
    responses["422"] = {"$ref": "#/components/responses/IdempotencyKeyReused"}
    replayed = _labelled(
        IDEMPOTENCY,
        {
            "description": f"`true` on a replay of a stored answer. {NOT_HOSTED}",
            "schema": {"type": "string", "const": "true"},
        },
    )
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})[IDEMPOTENT_REPLAYED] = replayed
    operation["responses"] = dict(sorted(responses.items()))


def _remote_id_filters(document: Schema) -> None:
    """``remoteId`` in the filter schema and description of every type with ``remoteIdMap``."""
    schemas = document["components"]["schemas"]
    labels = {spec.label for spec in REGISTRY if spec.has_remote_ids}
    for spec in REGISTRY:
        if spec.label in labels:
            properties = schemas[f"{spec.label}Filter"]["properties"]
            properties["remoteId"] = schema_ref("RemoteIdFilter")
            properties[spec.type]["properties"]["remoteId"] = schema_ref("RemoteIdFilter")
    note = (
        f" `filter[remoteId]=X` (EQ only; repeat the key for IN): the rows whose remoteIdMap "
        f"holds X under the request's couplingId (publicApi without one). {NOT_HOSTED}"
    )
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter.get("name") == "filter":
                label = parameter["schema"]["$ref"].rsplit("/", 1)[1].removesuffix("Filter")
                if label in labels and path.startswith("/v1/"):
                    parameter["description"] += note


def _schemas() -> dict[str, Schema]:
    value = _labelled(
        REMOTE_ID,
        {
            "type": "string",
            "maxLength": MAX_REMOTE_ID,
            "pattern": r"^[^\x00]*$",
            "not": {"pattern": anchored(NULL)},
            "description": f"A remote id, exactly as written (never split on commas; not the "
            f"word null). {NOT_HOSTED}",
        },
    )
    uris = {"type": "array", "items": {"type": "string", "pattern": "^https?://"}}
    described = object_schema(
        {"uri": {"type": "string"}, "name": {"type": "string"}, "summary": {"type": "string"}},
        required=["uri", "name", "summary"],
    )
    link = {"type": "string", "pattern": "^https?://"}
    return {
        "RemoteIdFilterValue": value,
        "RemoteIdFilterOperators": _labelled(
            REMOTE_ID,
            {
                "type": "object",
                "properties": {"EQ": schema_ref("RemoteIdFilterValue")},
                "additionalProperties": False,
                "minProperties": 1,
                "description": "EQ only (any case).",
            },
        ),
        "RemoteIdFilter": _labelled(
            REMOTE_ID,
            {"anyOf": [schema_ref("RemoteIdFilterValue"), schema_ref("RemoteIdFilterOperators")]},
        ),
        "JsonApi": {
            **object_schema(
                {"version": {"type": "string", "const": JSONAPI_VERSION}, "ext": uris},
                required=["version", "ext"],
            ),
            "description": "The extensions this server offers, by URI (`jsonapi.ext`). "
            + NOT_HOSTED,
            LABEL: [extension.uri for extension in SERVER_EXTENSIONS],
        },
        "ExtensionsDocument": object_schema(
            {
                "jsonapi": schema_ref("JsonApi"),
                "meta": object_schema(
                    {"extensions": {"type": "array", "items": described}},
                    required=["extensions"],
                ),
                "links": object_schema(
                    {"self": link, "describedby": link}, required=["self", "describedby"]
                ),
            },
            required=["jsonapi", "meta", "links"],
        ),
    }


def _index_path() -> Schema:
    return {
        "get": {
            "tags": ["extensions"],
            "operationId": "getExtensions",
            "summary": "List the extensions this server offers",
            "description": "No token needed. A server without extensions (the hosted API, "
            f"`optiply serve --no-extensions`) answers 404 here. {NOT_HOSTED}",
            "security": [],
            "responses": {
                "200": {
                    "description": "The extensions, by URI in jsonapi.ext and described in "
                    "meta.extensions.",
                    "content": {MEDIA_TYPE: {"schema": schema_ref("ExtensionsDocument")}},
                }
            },
            LABEL: [extension.uri for extension in SERVER_EXTENSIONS],
        }
    }
