"""``dry_run``: every intended write goes to a JSONL file instead of the API.

Each line is ``{"method": "POST", "path": "/products", "body": {...}}``. Created rows get
placeholder ids (1, 2, ...) so references between the run's own records still resolve; reads
answer with empty pages, so every record without an id is treated as new.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optiply.client import Resource, ResourcePage

Key = str | bool  # an Idempotency-Key (recorded nowhere: a dry run sends nothing)


class DryRunApi:
    """Records requests as JSON lines; answers like an empty, always-successful API."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        self._next_id = 0
        self._lock = threading.Lock()

    def _write(self, method: str, path: str, body: Any = None) -> None:
        line: dict[str, Any] = {"method": method, "path": path}
        if body is not None:
            line["body"] = body
        with self._lock:
            self._file.write(json.dumps(line, default=str) + "\n")
            self._file.flush()

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def create(
        self, resource_type: str, attributes: Mapping[str, Any], *, idempotency_key: Key = False
    ) -> Resource:
        """Record a POST; the row gets the next placeholder id (and its lines too)."""
        self._write(
            "POST",
            f"/{resource_type}",
            {"data": {"type": resource_type, "attributes": dict(attributes)}},
        )
        lines = attributes.get("orderLines")
        meta: dict[str, Any] = {}
        created = self._new_id()
        if isinstance(lines, list):
            meta["orderLineIds"] = [str(self._new_id()) for _ in lines]
        return Resource(id=created, type=resource_type, attributes={}, meta=meta)

    def update(
        self,
        resource_type: str,
        resource_id: int | str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: Key = False,
    ) -> Resource:
        """Record a PATCH."""
        body = {"data": {"type": resource_type, "id": str(resource_id), "attributes": attributes}}
        self._write("PATCH", f"/{resource_type}/{resource_id}", body)
        return Resource(id=int(resource_id), type=resource_type, attributes=dict(attributes))

    def delete(
        self, resource_type: str, resource_id: int | str, *, idempotency_key: Key = False
    ) -> None:
        """Record a DELETE."""
        self._write("DELETE", f"/{resource_type}/{resource_id}")

    def list(self, resource_type: str, query: Any = None, /, **filters: Any) -> ResourcePage:
        """No rows exist in a dry run."""
        return ResourcePage(data=(), links={}, meta={})

    def extensions(self) -> frozenset[str]:
        """None: a dry run writes one request per record, as against the hosted API."""
        return frozenset()

    def find_by_remote_id(self, resource_type: str, remote_id: Any) -> Sequence[Resource]:
        """No rows exist in a dry run."""
        return []

    def operations(self, ops: Any, *, idempotency_key: Key = False) -> Sequence[Resource | None]:
        """Never asked: no extension is offered."""
        raise NotImplementedError("a dry run sends no atomic operations")

    def close(self) -> None:
        """Close the file."""
        self._file.close()
