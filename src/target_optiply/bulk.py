"""Many records per request, when the server offers it (docs/extensions.md).

- **Remote-id lookups** (``prefetch``): before a dependency level is written, the records that
  have a source id but no Optiply id yet (none in the record, the run, the previous state or a
  snapshot) are looked up with ``filter[remoteId]``, up to 100 source ids a request; a row
  found is adopted (PATCHed instead of created again; the oldest when several carry the id).
  Only when the server offers the remote-id extension and the stream sends remote ids.
- **Atomic batches** (``write``): with ``bulk: auto`` and a server that offers atomic
  operations (or ``bulk: on``), the records of a chunk (up to 100 of one stream) are decided
  one by one (``Upsert.plan``) and their POSTs and PATCHes sent as one ``POST /v1/operations``
  with an ``Idempotency-Key`` derived from theirs. The server writes all or nothing: a chunk
  it rejects as a whole is written again record by record (``Upsert.write``), so one bad
  record fails alone with its path and the others land. A chunk whose outcome stayed unknown
  (the client's replays ran out) is looked up again by remote id first, so nothing it wrote
  is created twice.

``Batches`` decides which records form a chunk (one per source id per chunk, so a chain's
order holds); this module knows nothing of threads.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from optiply.client import Operations, OptiplyError, RetriableError
from optiply.jsonapi.extensions import ATOMIC, MAX_OPERATIONS
from optiply.resources import ResourceSpec
from target_optiply.policy import JobAborted
from target_optiply.records import (
    DELETE_KEYS,
    is_missing_value,
    normalise_external_id,
    normalise_id,
)
from target_optiply.references import References
from target_optiply.upsert import Api, Plan, Result, Upsert

logger = logging.getLogger("target_optiply")

CHUNK = MAX_OPERATIONS
_ID_KEYS = ("id", "optiply_id")
Item = tuple[ResourceSpec, dict[str, Any]]
Settle = Callable[[int, Result | None], None]


def enabled(mode: str, offered: frozenset[str]) -> bool:
    """Whether batches go as atomic operations: ``bulk`` (``auto``: when the server
    advertises them; ``on``: even when it does not say so; ``off``: never).

    >>> atomic = frozenset({ATOMIC.uri})
    >>> enabled("auto", frozenset()), enabled("auto", atomic), enabled("off", atomic)
    (False, True, False)
    """
    return mode == "on" or (mode == "auto" and ATOMIC.uri in offered)


class Bulk:
    """Remote-id lookups and atomic batches of one run; thread-safe (per chunk)."""

    def __init__(self, *, upsert: Upsert, api: Api, references: References, mode: str) -> None:
        self.upsert = upsert
        self.api = api
        self.refs = references
        self.enabled = enabled(mode, upsert.offered)

    # -- remote-id lookups --------------------------------------------------------------------

    def lookups(self, items: Sequence[Item]) -> list[tuple[ResourceSpec, list[str]]]:
        """The lookups a level needs: per type, up to 100 source ids not known yet."""
        wanted: dict[str, tuple[ResourceSpec, dict[str, None]]] = {}
        for spec, record in items:
            if not self.upsert.can_find_by_remote_id(spec):
                continue
            source = _unknown_source_id(spec, record, self.refs)
            if source is not None:
                wanted.setdefault(spec.type, (spec, {}))[1][source] = None
        out = []
        for spec, ids in wanted.values():
            ordered = list(ids)
            out += [(spec, ordered[i : i + CHUNK]) for i in range(0, len(ordered), CHUNK)]
        return out

    def look_up(self, spec: ResourceSpec, source_ids: list[str]) -> None:
        """Adopt the rows that carry these source ids (one request; failures only logged:
        the records are then written as if nothing was found, as on the hosted API)."""
        try:
            self.upsert.sending_request(spec)
            rows = self.api.find_by_remote_id(spec.type, [s[:255] for s in source_ids])
        except OptiplyError as error:
            logger.warning(
                "lookup by remote id of %d %s failed: %s", len(source_ids), spec.type, error
            )
            return
        coupling = self.upsert.settings.coupling_id or "publicApi"
        found: dict[str, int] = {}
        for row in rows:
            remote = (row.attributes.get("remoteIdMap") or {}).get(coupling)
            if isinstance(remote, str) and (remote not in found or row.id < found[remote]):
                found[remote] = row.id
        for source in source_ids:
            optiply_id = found.get(source[:255])
            if optiply_id is not None:
                self.refs.adopt(spec.type, source, optiply_id)

    # -- atomic batches -------------------------------------------------------------------------

    def write(
        self, items: Sequence[Item], *, final: bool, settle: Settle, stop: threading.Event
    ) -> None:
        """Write a chunk of one stream's records (at most one per source id), in input order:
        each record is decided, and what needs no request (a failure, an unchanged record, a
        wait) settled at once, so the error policy sees records in order and can stop before
        the batch is sent; then the batch, then each of its records settled.

        Args:
            settle: Takes a record's index and result (None: it waits for the next flush); may
                raise ``JobAborted``.
            stop: Set when the job stops: nothing more is sent.
        """
        plans: list[tuple[int, Plan]] = []
        aborted: JobAborted | None = None
        for index, (spec, record) in enumerate(items):
            step = self.upsert.plan(spec, record, final=final)
            if isinstance(step, Plan):
                plans.append((index, step))
                continue
            try:
                settle(index, step)
            except JobAborted as error:
                aborted = error
                break
        if plans and not stop.is_set():
            self._send(items, plans, final=final, settle=settle, stop=stop)
        if aborted is not None:
            raise aborted

    def _send(
        self,
        items: Sequence[Item],
        plans: list[tuple[int, Plan]],
        *,
        final: bool,
        settle: Settle,
        stop: threading.Event,
    ) -> None:
        if len(plans) == 1:  # one record: its own request, as without batches
            ((index, _),) = plans
            spec, record = items[index]
            settle(index, self.upsert.write(spec, record, final=final))
            return
        ops = Operations()
        for _, plan in plans:
            if plan.method == "POST":
                ops.add(plan.spec.type, plan.body)
            else:
                assert plan.optiply_id is not None
                ops.update(plan.spec.type, plan.optiply_id, plan.body)
        key = (
            "target-optiply-batch-"
            + hashlib.sha256("|".join(plan.key for _, plan in plans).encode()).hexdigest()[:40]
        )
        try:
            self.upsert.sending_batch([plan for _, plan in plans])
            resources = self.api.operations(ops, idempotency_key=key)
        except OptiplyError as error:
            self._one_by_one(items, plans, error, final=final, settle=settle, stop=stop)
            return
        aborted: JobAborted | None = None
        for (index, plan), resource in zip(plans, resources, strict=True):
            assert resource is not None
            try:
                settle(index, self.upsert.complete(plan, resource))
            except JobAborted as error:  # every record sent is settled first
                aborted = aborted or error
        if aborted is not None:
            raise aborted

    def _one_by_one(
        self,
        items: Sequence[Item],
        plans: list[tuple[int, Plan]],
        error: OptiplyError,
        *,
        final: bool,
        settle: Settle,
        stop: threading.Event,
    ) -> None:
        """The batch was refused (or its outcome is unknown): its records again, one by one."""
        spec = plans[0][1].spec
        where = f", operation {error.operation}" if error.operation is not None else ""
        logger.info(
            "%s: a batch of %d records was not written (%s%s); writing them one by one",
            spec.type,
            len(plans),
            f"{error.status or type(error).__name__} {error.code or ''}".strip(),
            where,
        )
        if isinstance(error, RetriableError) and self.upsert.can_find_by_remote_id(spec):
            # its outcome is unknown: adopt what it may have written instead of creating twice
            known = [p.mapped.external_id for _, p in plans if p.method == "POST"]
            sources = [source for source in known if source is not None]
            for i in range(0, len(sources), CHUNK):
                self.look_up(spec, sources[i : i + CHUNK])
        for index, _ in plans:
            if stop.is_set():
                return
            spec, record = items[index]
            settle(index, self.upsert.write(spec, record, final=final))


def _unknown_source_id(
    spec: ResourceSpec, record: Mapping[str, Any], refs: References
) -> str | None:
    """The record's source id when it has no Optiply id anywhere yet and is no delete."""
    if any(normalise_id(record.get(key)) is not None for key in _ID_KEYS):
        return None
    if any(not is_missing_value(record.get(key)) for key in DELETE_KEYS):
        return None
    source = normalise_external_id(
        record.get("externalId", record.get("remoteId", record.get("inputId")))
    )
    if source is None or refs.lookup(spec.type, source) is not None:
        return None
    return source
