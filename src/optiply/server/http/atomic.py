"""An atomic operations document (``{"atomic:operations": [...]}``) to validated operations,
every problem pointing into it (``/atomic:operations/3/data/attributes/price``).

What the extension specifies, for resources (https://jsonapi.org/ext/atomic):

- ``add``: ``data`` is a resource object (``type``, ``attributes``, ``relationships``, and a
  ``lid`` later operations may name); ``ref``, when sent, names the type only.
- ``update``: the row is ``ref`` (``type`` and ``id`` or ``lid``) or, without ``ref``,
  ``data``'s ``type`` and ``id`` or ``lid``; when both are sent they must agree.
- ``remove``: the row is ``ref``; no ``data``.

A to-one relationship in ``data.relationships`` sets its attribute (``"product": {"data":
{"type": "products", "lid": "p1"}}`` sets ``productId``), by ``id`` or by the ``lid`` of an
earlier add of the same type. The attributes are then validated exactly as the single-resource
endpoints do (``deserialize.parse_data``), a ``lid`` standing for a valid id until the run
fills it in. Not supported (400): ``href``, relationship operations (``ref.relationship``), ids
chosen by the client on ``add``, to-many relationships in ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.jsonapi.extensions import MAX_OPERATIONS
from optiply.resources import ResourceSpec
from optiply.resources import find as find_spec
from optiply.resources.types import INT64_MAX
from optiply.server.http.deserialize import load, parse_data
from optiply.server.service.errors import DomainError
from optiply.server.service.operations import (
    OPERATIONS_POINTER,
    Op,
    Operation,
    Target,
    within,
)

_PLACEHOLDER_ID = 1  # what a lid stands for while the attributes are validated
_MAX_LID = 255
_OPS = ", ".join(repr(op.value) for op in Op)


def parse_operations(body: bytes) -> list[Operation]:
    """The validated operations of an atomic operations request body.

    Raises:
        DomainError: 400 (405 for an operation its type does not allow) with a pointer into
            the document; problems of the first operation at fault.
    """
    document = load(body)
    if not isinstance(document, dict):
        raise _refused("", "the request body must be a JSON object")
    operations = document.get("atomic:operations")
    if not isinstance(operations, list):
        raise _refused(OPERATIONS_POINTER, "atomic:operations must be an array of operations")
    if not 0 < len(operations) <= MAX_OPERATIONS:
        raise _refused(
            OPERATIONS_POINTER,
            f"atomic:operations holds 1 to {MAX_OPERATIONS} operations, got {len(operations)}",
        )
    for member in ("data", "included", "atomic:results"):
        if member in document:
            raise _refused(f"/{member}", f"an operations request has no {member} member")
    lids: dict[str, str] = {}  # lid -> type, as the adds so far define them
    parsed = []
    for index, operation in enumerate(operations):
        try:
            parsed.append(_operation(operation, lids))
        except DomainError as error:
            raise within(error, index) from None
    return parsed


@dataclass(frozen=True, slots=True)
class _Relationships:
    """Attribute values a ``relationships`` object sets, and where each came from."""

    values: dict[str, Any]
    linked: dict[str, str]  # attribute -> lid
    pointers: dict[str, str]  # "/data/attributes/<attribute>" -> its relationship's pointer


def _operation(operation: Any, lids: dict[str, str]) -> Operation:
    if not isinstance(operation, dict):
        raise _refused("", "an operation must be an object")
    code = operation.get("op")
    if code not in tuple(Op):
        raise _refused("/op", f"op must be one of {_OPS}, got {code!r}")
    op = Op(code)
    if "href" in operation:
        raise _refused("/href", "href is not supported: name the target with ref")
    ref = operation.get("ref")
    if ref is not None and not isinstance(ref, dict):
        raise _refused("/ref", "ref must be an object")
    if ref is not None and "relationship" in ref:
        raise _refused(
            "/ref/relationship",
            "relationship operations are not supported: update the resource's attribute",
        )
    data = operation.get("data")
    if op is Op.REMOVE:
        if ref is None:
            raise _refused("/ref", "remove needs ref: the type and id (or lid) of the row")
        if data is not None:
            raise _refused("/data", "remove takes no data: ref names the row")
        spec = _spec(ref.get("type"), "/ref/type", op)
        return Operation(op, spec, _target(ref, "/ref", spec, lids))
    if not isinstance(data, dict):
        raise _refused("/data", f"{op.value} needs data: a resource object")
    spec = _spec(data.get("type"), "/data/type", op)
    if ref is not None and ref.get("type") != spec.type:
        raise _refused("/ref/type", f"ref.type must be data.type {spec.type!r}")
    if op is Op.ADD:
        return _add(spec, ref, data, lids)
    return _update(spec, ref, data, lids)


def _add(spec: ResourceSpec, ref: Any, data: dict[str, Any], lids: dict[str, str]) -> Operation:
    for where, holder in (("/ref", ref), ("/data", data)):
        if isinstance(holder, dict) and "id" in holder:
            raise _refused(
                f"{where}/id", "ids are chosen by the server: name the new row with lid instead"
            )
    if ref is not None and "lid" in ref:
        raise _refused("/ref/lid", "add names its row's lid in data.lid")
    lid = data.get("lid")
    if lid is not None:
        _check_lid(lid, "/data/lid")
        if lid in lids:
            raise _refused("/data/lid", f"lid {lid!r} is defined by an earlier operation")
    linked = _relationships(spec, data, lids)
    parsed = parse_data(_with(data, linked.values), spec, creating=True)
    if lid is not None:
        lids[lid] = spec.type  # after validation: a refused operation defines nothing
    return Operation(
        Op.ADD,
        spec,
        lid=lid,
        values=parsed.values,
        lines=parsed.lines,
        linked=linked.linked,
        pointers=linked.pointers,
    )


def _update(spec: ResourceSpec, ref: Any, data: dict[str, Any], lids: dict[str, str]) -> Operation:
    if ref is not None:
        target = _target(ref, "/ref", spec, lids)
        for member, pointer in (("id", "/data/id"), ("lid", "/data/lid")):
            if member in data and str(data[member]) != str(ref.get(member)):
                raise _refused(pointer, f"data.{member} must be ref.{member}, as both name the row")
    elif "id" in data or "lid" in data:
        target = _target(data, "/data", spec, lids)
    else:
        raise _refused("/ref", "update needs ref (or data.id or data.lid): the row to change")
    linked = _relationships(spec, data, lids)
    stripped = {k: v for k, v in data.items() if k not in ("id", "lid")}
    parsed = parse_data(_with(stripped, linked.values), spec, creating=False)
    return Operation(
        Op.UPDATE,
        spec,
        target,
        values=parsed.values,
        linked=linked.linked,
        pointers=linked.pointers,
    )


def _spec(name: Any, pointer: str, op: Op) -> ResourceSpec:
    spec = find_spec(name) if isinstance(name, str) else None
    if spec is None:
        raise _refused(pointer, f"unknown resource type {name!r}")
    if op.method not in spec.methods:
        detail = f"{spec.type} take no {op.value} operation (the API has no {op.method} for them)"
        raise DomainError(Problem(ErrorCode.METHOD_NOT_ALLOWED, detail, pointer="/op"))
    return spec


def _target(
    holder: dict[str, Any], pointer: str, spec: ResourceSpec, lids: dict[str, str]
) -> Target:
    """The row ``holder`` (a ref, or data) names by ``id`` or ``lid``."""
    if holder.get("type") != spec.type:
        raise _refused(f"{pointer}/type", f"type must be {spec.type!r}")
    if "id" in holder and "lid" in holder:
        raise _refused(pointer, "name the row by id or by lid, not both")
    if "lid" in holder:
        return Target(lid=_known_lid(holder["lid"], f"{pointer}/lid", spec.type, lids))
    if "id" not in holder:
        raise _refused(f"{pointer}/id", "the id (or lid) of the row is required")
    return Target(id=_row_id(holder["id"], f"{pointer}/id"))


def _relationships(
    spec: ResourceSpec, data: dict[str, Any], lids: dict[str, str]
) -> _Relationships:
    found = _Relationships({}, {}, {})
    relationships = data.get("relationships", {})
    if not isinstance(relationships, dict):
        raise _refused("/data/relationships", "relationships must be an object")
    attributes = data.get("attributes")
    sent = attributes if isinstance(attributes, dict) else {}
    for name, value in relationships.items():
        pointer = f"/data/relationships/{name}"
        relationship = spec.relationship(name)
        if relationship is None:
            raise _refused(pointer, f"{spec.type} have no relationship {name!r}")
        if relationship.to_many:
            raise _refused(pointer, f"{name} is a to-many relationship: set it from the other side")
        if not isinstance(value, dict) or "data" not in value:
            raise _refused(pointer, "a relationship is an object with data")
        identifier, attribute = value["data"], relationship.attribute
        if identifier is None:
            chosen: Any = None
        elif not isinstance(identifier, dict):
            raise _refused(f"{pointer}/data", "data must be a resource identifier or null")
        elif identifier.get("type") != relationship.target:
            raise _refused(f"{pointer}/data/type", f"type must be {relationship.target!r}")
        elif "lid" in identifier and "id" not in identifier:
            lid = _known_lid(identifier["lid"], f"{pointer}/data/lid", relationship.target, lids)
            found.linked[attribute] = lid
            chosen = _PLACEHOLDER_ID
        elif "id" in identifier and "lid" not in identifier:
            chosen = _row_id(identifier["id"], f"{pointer}/data/id")
        else:
            raise _refused(f"{pointer}/data", "a resource identifier has an id or a lid")
        if attribute in sent and (attribute in found.linked or str(sent[attribute]) != str(chosen)):
            raise _refused(pointer, f"{name} and attributes.{attribute} disagree: send one")
        found.values[attribute] = chosen
        found.pointers[f"/data/attributes/{attribute}"] = pointer
    return found


def _with(data: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` whose attributes hold ``values`` too."""
    if not values:
        return data
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        return data  # parse_data reports it
    return {**data, "attributes": {**attributes, **values}}


def _known_lid(lid: Any, pointer: str, resource_type: str, lids: dict[str, str]) -> str:
    _check_lid(lid, pointer)
    if lid not in lids:
        raise _refused(pointer, f"lid {lid!r} is not defined by an earlier add of this request")
    if lids[lid] != resource_type:
        raise _refused(pointer, f"lid {lid!r} names a row of {lids[lid]}, not of {resource_type}")
    return str(lid)


def _check_lid(lid: Any, pointer: str) -> None:
    if not isinstance(lid, str) or not 0 < len(lid) <= _MAX_LID:
        raise _refused(pointer, f"a lid is a string of 1 to {_MAX_LID} characters")


def _row_id(value: Any, pointer: str) -> int:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) <= INT64_MAX):
        raise DomainError(
            Problem(
                ErrorCode.INVALID_ID,
                f"{value!r} is not a valid id: ids are positive integers",
                pointer=pointer,
            )
        )
    return int(text)


def _refused(pointer: str, detail: str) -> DomainError:
    return DomainError(Problem(ErrorCode.INVALID_DOCUMENT, detail, pointer=pointer))
