"""Atomic operations (JSON:API ``https://jsonapi.org/ext/atomic``; issue 13 §3): many writes,
one request, all or nothing.

``Operations`` collects up to 100 ``add`` / ``update`` / ``remove`` operations; an ``add`` may
carry a ``lid`` that later operations reference (``ref(type, lid)`` in ``relationships``). The
clients' ``operations()`` sends them to ``POST /v1/operations`` with the extension's media type
and returns one entry per operation, in order: the ``Resource`` an add or update answered, None
for a remove. An error names its operation: ``OptiplyError.operation`` (from the pointer
``/atomic:operations/3/data/attributes/price``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from optiply.client import documents
from optiply.client.documents import Answer, Resource
from optiply.client.errors import ConfigurationError
from optiply.client.paging import resource_spec
from optiply.jsonapi.extensions import ATOMIC_MEDIA_TYPE, MAX_OPERATIONS, OPERATIONS_PATH

__all__ = ["ATOMIC_MEDIA_TYPE", "MAX_OPERATIONS", "PATH", "Operation", "Operations", "ref"]

PATH = OPERATIONS_PATH.removeprefix("/v1")  # under the client's base URL


def ref(resource_type: str, lid: str) -> dict[str, Any]:
    """A relationship to a resource added earlier in the same request, by its ``lid``.

    >>> ref("products", "p1")
    {'data': {'type': 'products', 'lid': 'p1'}}
    """
    return {"data": {"type": resource_type, "lid": lid}}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: ``op`` (add, update, remove), its type, id or lid, and its content."""

    op: str
    type: str
    id: int | None = None
    lid: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    relationships: Mapping[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        """The operation object as sent."""
        target: dict[str, Any] = {"type": self.type}
        if self.id is not None:
            target["id"] = str(self.id)
        if self.lid is not None:
            target["lid"] = self.lid
        if self.op == "remove":
            return {"op": "remove", "ref": target}
        data = {**target, "attributes": dict(self.attributes)}
        if self.relationships:
            data["relationships"] = dict(self.relationships)
        return {"op": self.op, "data": data}


class Operations:
    """Up to 100 operations for one atomic request, in order.

    >>> ops = Operations()
    >>> ops.add("products", {"name": "Mug", "stockLevel": 1}, lid="p1")
    0
    >>> ops.remove("products", 9)
    1
    >>> body(ops)
    b'{"atomic:operations":[{"op":"add","data":{"type":"products","lid":"p1","attributes":\
{"name":"Mug","stockLevel":1}}},{"op":"remove","ref":{"type":"products","id":"9"}}]}'
    """

    def __init__(self) -> None:
        self._items: list[Operation] = []

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._items)

    def add(
        self,
        resource_type: str,
        attributes: Mapping[str, Any],
        *,
        lid: str | None = None,
        relationships: Mapping[str, Any] | None = None,
    ) -> int:
        """Create a resource; returns the operation's index (its place in the results)."""
        resource_spec(resource_type, "POST")
        return self._append(
            Operation("add", resource_type, None, lid, attributes, relationships or {})
        )

    def update(
        self,
        resource_type: str,
        resource_id: int | str,
        attributes: Mapping[str, Any],
        *,
        relationships: Mapping[str, Any] | None = None,
    ) -> int:
        """Change the given attributes of a resource; returns the operation's index."""
        resource_spec(resource_type, "PATCH")
        rid = documents.resource_id(resource_id)
        return self._append(
            Operation("update", resource_type, rid, None, attributes, relationships or {})
        )

    def remove(self, resource_type: str, resource_id: int | str) -> int:
        """Delete a resource; returns the operation's index."""
        resource_spec(resource_type, "DELETE")
        return self._append(Operation("remove", resource_type, documents.resource_id(resource_id)))

    def _append(self, operation: Operation) -> int:
        if len(self._items) >= MAX_OPERATIONS:
            raise ConfigurationError(f"at most {MAX_OPERATIONS} operations go in one request")
        self._items.append(operation)
        return len(self._items) - 1


def body(operations: Operations) -> bytes:
    """The request document.

    Raises:
        ConfigurationError: No operation.
        ValidationError: A value cannot be written as JSON.
    """
    if not len(operations):
        raise ConfigurationError("give at least one operation")
    wire = [operation.wire() for operation in operations]
    for index, item in enumerate(wire):  # NaN, Decimal, dates: as documents.body writes them
        data = item.get("data")
        if data is not None:
            documents.body(data["type"], data["attributes"], pointer_prefix=_at(index))
    return documents.dumps({"atomic:operations": wire})


def results(answer: Answer, operations: Operations) -> list[Resource | None]:
    """One entry per operation, in order: its resource, or None (a remove, or no data)."""
    if not answer.content and all(op.op == "remove" for op in operations):
        return [None] * len(operations)  # 204: nothing to report
    found = documents.document(answer).get("atomic:results")
    if not isinstance(found, list) or len(found) != len(operations):
        raise documents.bad_answer(answer)
    out: list[Resource | None] = []
    for item in found:
        data = item.get("data") if isinstance(item, dict) else None
        if data is None:
            out.append(None)
            continue
        try:
            out.append(documents.resource_object(data, item.get("meta")))
        except (KeyError, TypeError, ValueError):
            raise documents.bad_answer(answer) from None
    return out


def _at(index: int) -> str:
    return f"/atomic:operations/{index}"
