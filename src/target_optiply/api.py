"""What one record's write is, and what the writer needs of the API to make it.

``Api``: the client's methods the writer calls (``optiply.client.OptiplyClient``, or the
dry-run recorder). ``Plan``: a record's POST or PATCH, decided and not yet sent (``upsert``
sends it alone, ``bulk`` with others). ``Result``: what came of a record, for the state file,
the log and the error policy.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from optiply.client import OptiplyError, Resource, ResourcePage
from optiply.resources import ResourceSpec
from target_optiply.policy import Failure
from target_optiply.records import Mapped, normalise_external_id
from target_optiply.state import Outcome

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
Key = str | bool  # an Idempotency-Key, or False for none


class Api(Protocol):
    """What the writer needs of ``optiply.client.OptiplyClient`` (or the dry-run recorder)."""

    def create(
        self, resource_type: str, attributes: Mapping[str, Any], *, idempotency_key: Key = ...
    ) -> Resource: ...

    def update(
        self,
        resource_type: str,
        resource_id: int | str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: Key = ...,
    ) -> Resource: ...

    def delete(
        self, resource_type: str, resource_id: int | str, *, idempotency_key: Key = ...
    ) -> None: ...

    def list(self, resource_type: str, query: Any = None, /, **filters: Any) -> ResourcePage: ...

    def extensions(self) -> frozenset[str]: ...

    def find_by_remote_id(self, resource_type: str, remote_id: Any) -> Sequence[Resource]: ...

    def operations(self, ops: Any, *, idempotency_key: Key = ...) -> Sequence[Resource | None]: ...


@dataclass
class Plan:
    """A record's write, decided and not yet sent: a POST or a PATCH of ``body``."""

    spec: ResourceSpec
    record: dict[str, Any]
    mapped: Mapped
    digest: str
    method: str  # "POST" or "PATCH"
    optiply_id: int | None  # the PATCHed row
    body: dict[str, Any]
    key: str
    how: str = "none"  # where the id came from


@dataclass
class Result:
    """What came of one record: its outcome and what the state file and the log need."""

    outcome: Outcome
    request: str  # what was sent, for the log: "POST", "PATCH", "POST+PATCH", "DELETE", "-"
    optiply_id: int | None = None
    note: str | None = None
    error: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)  # source line id -> Optiply id
    digest: str = ""  # the record's content hash (``Mapped.hash``, else of the raw record)
    external_id: str | None = None
    deleted: bool = False
    failure: Failure | None = None  # why it failed, for the error policy

    @property
    def bad(self) -> bool:
        """Failed or skipped: its dependents cannot use it."""
        return self.outcome in (Outcome.FAILED, Outcome.SKIPPED)


class Keys:
    """The ``Idempotency-Key``s of one run's writes: the same run, stream, source id, content
    (``Mapped.hash``) and request give the same key, the n-th such write of the run the n-th
    key; so a rerun of a job (``job_id``) sends the keys it sent before. Thread-safe."""

    def __init__(self, run: str) -> None:
        self._run = run
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(
        self, stream: str, source: str | None, digest: str, method: str, optiply_id: int | None
    ) -> str:
        """The key of the next such write."""
        what = f"{self._run}|{stream}|{source}|{digest}|{method}|{optiply_id}"
        with self._lock:
            count = self._seen[what] = self._seen.get(what, 0) + 1
        return "target-optiply-" + hashlib.sha256(f"{what}|{count}".encode()).hexdigest()[:40]


Step = Result | Plan | None
"""What ``Upsert.plan`` gives: a plan to send, a result, or None (the record waits)."""


def note(how: str) -> str | None:
    """A result's note on where the PATCHed row's id came from (none for the usual places)."""
    return None if how in ("record", "run", "none") else f"id from {how}"


def source_id(record: Mapping[str, Any]) -> str | None:
    """The record's source id (``externalId``, else ``remoteId``), normalised."""
    return normalise_external_id(record.get("externalId", record.get("remoteId")))


def culprit(error: OptiplyError) -> str:
    """What an API error blames: ``"400 /data/attributes/stockLevel"``, else its status and
    code (``"409 conflict"``)."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    return " ".join(str(part) for part in (error.status, where or error.code) if part)


def describe(error: OptiplyError) -> str:
    """``"400 /data/attributes/stockLevel: detail"``: status, culprit and detail, no URL."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    head = " ".join(str(part) for part in (error.status, where) if part)
    return f"{head}: {error.detail}" if head else error.detail


def raw_hash(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
