"""The paths of the ``/v1`` resources (collection, item, related and relationship endpoints)
with their operations, and ``/health``."""

from __future__ import annotations

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT
from optiply.resources import Kind, Relationship, ResourceSpec, get
from optiply.server.auth.principal import METHOD_SCOPES
from optiply.server.http.openapi.attributes import creatable_attributes
from optiply.server.http.openapi.common import (
    Schema,
    json_response,
    parameter_ref,
    schema_ref,
    title,
)
from optiply.server.http.openapi.parameters import list_parameters
from optiply.server.http.openapi.responses import RESPONSE_NAMES


def resource_paths(spec: ResourceSpec) -> dict[str, Schema]:
    label, plural = spec.label, title(spec.type)
    collection: Schema = {
        "get": _operation(
            spec,
            "get",
            f"list{plural}",
            f"List {spec.type}",
            responses={"200": _ok(f"{label}ListDocument")},
            parameters=list_parameters(spec),
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
        "parameters": [parameter_ref("ResourceId")],
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
        base = f"/v1/{spec.type}/{{id}}"
        paths[f"{base}/{relationship.name}"] = _related_path(spec, relationship)
        paths[f"{base}/relationships/{relationship.name}"] = _identifiers_path(spec, relationship)
    return paths


def _related_path(spec: ResourceSpec, relationship: Relationship) -> Schema:
    target = get(relationship.target)
    if relationship.to_many:
        document, note = f"{target.label}ListDocument", ""
    else:
        document = f"{target.label}NullableDocument"
        note = f"`data` is null when the {relationship.name} is unset or deleted."
    operation = _operation(
        spec,
        "get",
        f"get{spec.label}{title(relationship.name)}",
        f"Get the {relationship.name} of a {spec.label}",
        responses={"200": _ok(document)},
        parameters=list_parameters(target) if relationship.to_many else [],
        description=note,
    )
    return {"parameters": [parameter_ref("ResourceId")], "get": operation}


def _identifiers_path(spec: ResourceSpec, relationship: Relationship) -> Schema:
    target = get(relationship.target)
    if relationship.to_many:
        document = f"{target.label}IdentifiersDocument"
        note = (
            f"The identifiers of one page (page[limit], default {DEFAULT_LIMIT}; the list "
            "parameters apply as on the related endpoint), without links: page through the "
            "related endpoint."
        )
    else:
        document = f"{target.label}IdentifierDocument"
        note = f"`data` is null when the {relationship.name} is unset or deleted."
    operation = _operation(
        spec,
        "get",
        f"get{spec.label}{title(relationship.name)}Relationship",
        f"Get the {relationship.name} identifiers of a {spec.label}",
        responses={"200": _ok(document)},
        parameters=list_parameters(target) if relationship.to_many else [],
        description=note,
    )
    return {"parameters": [parameter_ref("ResourceId")], "get": operation}


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
        "security": [{"oauth2": [METHOD_SCOPES[method.upper()].value]}],
        "parameters": [
            *(parameters or []),
            parameter_ref("AccountId"),
            parameter_ref("CouplingId"),
        ],
        "responses": {**responses, **_errors_for(spec, method, not_found=not_found)},
    }
    if body is not None:
        schema = schema_ref(body)
        operation["requestBody"] = {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": schema}, JSON: {"schema": dict(schema)}},
        }
    return operation


def _errors_for(spec: ResourceSpec, method: str, *, not_found: bool) -> Schema:
    codes = ["400", "401", "403"]
    if not_found:
        codes.append("404")
    if method in ("post", "patch"):
        codes += ["409", "413", "415"] if spec.unique else ["413", "415"]
    codes += ["429", "503"]  # a sandbox rate limit; a busy database
    return {code: {"$ref": f"#/components/responses/{RESPONSE_NAMES[code]}"} for code in codes}


def _has_parents(spec: ResourceSpec) -> bool:
    """Whether a POST names rows that may not exist (404): references besides the account."""
    creatable = creatable_attributes(spec)
    return spec.embedded is not None or any(
        a.kind is Kind.REFERENCE and a.name != "accountId" for a in creatable
    )


def _cascade_note(spec: ResourceSpec) -> str:
    cascades = [r.name for r in spec.relationships if r.cascade]
    return f"Also deletes its {', '.join(cascades)}." if cascades else ""


def _ok(schema: str, description: str = "OK.") -> Schema:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema_ref(schema)}}}


def health_path() -> Schema:
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    ok = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
    return {
        "get": {
            "tags": ["health"],
            "operationId": "getHealth",
            "summary": "Check that the server and its database are up",
            "security": [],
            "responses": {
                "200": json_response("The server and its database are up.", ok),
                "503": json_response("The database is unreachable.", status),
            },
        }
    }
