"""The write engine: buffered records, processed per stream in registry (dependency) order.

Design: sinks only hand records to the ``Writer``; API work happens in ``flush``, which walks
the buffers in ``REGISTRY`` order (parents before children), so interleaved Singer streams are
written in dependency order. A child whose parent reference is still unknown at an intermediate
flush is kept for the next one; at the final flush (end of input) it fails with a precise reason.

Each record follows the upsert decision list of integrator-needs §2.2:

1. normalise the id; 2. else look it up (in-run cache, previous state, snapshot, optional
   ``lookup_by`` query); unchanged since the last successful run (same hash) -> ``existing``;
3. id known -> PATCH (404: re-create or fail, per stream); 4. else POST; a 409 on a unique pair
   adopts the existing row (GET with the pair filter) and PATCHes it when it differs;
5. an ambiguous POST (timeout/5xx after sending) is read back by natural key before re-sending.

Within one stream, up to ``concurrency`` records are written at the same time (threads sharing
the client's connection pool and token); records with the same source id stay in input order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from optiply.client import (
    AmbiguousWriteError,
    ConflictError,
    NotFoundError,
    OptiplyError,
    RecordError,
    Resource,
    ResourcePage,
)
from optiply.resources import Kind, ResourceSpec, get
from optiply.resources.types import format_datetime
from target_optiply.policy import ErrorPolicy, Failure, JobAborted, failure_key
from target_optiply.records import (
    LEVELS,
    BadRecord,
    Mapped,
    convert,
    create_body,
    differs,
    line_keys,
    missing_required,
    normalise_external_id,
    raw_line_keys,
    stream_name,
    update_body,
    wire,
)
from target_optiply.references import References
from target_optiply.settings import (
    RECREATE_ON_PATCH_404,
    SOFT_DELETE,
    Settings,
    StreamOptions,
)
from target_optiply.state import Outcome, TargetState
from target_optiply.throttle import Throttle

logger = logging.getLogger("target_optiply")


class Api(Protocol):
    """What the writer needs of ``optiply.client.OptiplyClient`` (or the dry-run recorder)."""

    def create(self, resource_type: str, attributes: Mapping[str, Any]) -> Resource: ...

    def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource: ...

    def delete(self, resource_type: str, resource_id: int | str) -> None: ...

    def list(self, resource_type: str, query: Any = None, /, **filters: Any) -> ResourcePage: ...


@dataclass
class Pending:
    """A buffered record."""

    stream: str
    spec: ResourceSpec
    record: dict[str, Any]


class _Defer(Exception):
    """A parent is not known yet; try again at the next flush."""


class _Skip(Exception):
    """A parent failed in this run: skip this record with the reason."""


@dataclass
class _Result:
    outcome: Outcome
    method: str
    optiply_id: int | None = None
    note: str | None = None
    error: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)


class Writer:
    """Processes buffered records against the API; one per run (injected, no globals)."""

    def __init__(
        self,
        *,
        settings: Settings,
        api: Api,
        references: References,
        state: TargetState,
        policy: ErrorPolicy,
        previous: Mapping[str, Any] | None = None,
        concurrency: int = 1,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.throttle = throttle or Throttle(None)
        self.concurrency = max(1, concurrency)
        self.api = api
        self.refs = references
        self.state = state
        self.policy = policy
        self._buffers: dict[str, list[Pending]] = {}
        self._seen: dict[str, int] = {}
        self._lock = threading.RLock()
        self._counters = threading.Lock()  # _seen, _in_flight, state.requests, state.elapsed
        self._in_flight: dict[str, int] = {}  # records of a stream under way
        self._busy_since: dict[str, float] = {}  # since when a stream has had one under way
        self._previous = _previous_successes(previous or {})
        self._pool: ThreadPoolExecutor | None = None  # the run's worker threads, made on use
        self._coordinator: ThreadPoolExecutor | None = None  # writes a batch in the background
        self._background: Future[None] | None = None
        self._totals: dict[str, str] = {}  # STREAM_TOTAL_<Stream>, for "#n/total"

    # -- buffering -------------------------------------------------------------------------

    def add(self, spec: ResourceSpec, record: dict[str, Any]) -> None:
        """Buffer one record of ``spec``'s stream."""
        with self._lock:
            self._buffers.setdefault(spec.type, []).append(Pending(stream_name(spec), spec, record))

    def flush(self, *, final: bool) -> None:
        """Write every buffered record, level after level (``records.LEVELS``).

        A batch (``final`` False) is written in the background while the input goes on being
        read, after the batch before it is done, so the writer's threads are not idle while
        the next batch is read. ``wait`` (called before a Singer STATE is passed on) and the
        final flush wait for it; a stop raised there comes out of the next call.

        Args:
            final: No more input will come: write now, and fail unresolved references
                instead of keeping them for later.
        """
        self.wait()
        if final:
            self._write_buffered(final=True)
            return
        if self._coordinator is None:
            self._coordinator = ThreadPoolExecutor(1, thread_name_prefix="target-optiply-flush")
        self._background = self._coordinator.submit(self._write_buffered, final=False)

    def wait(self) -> None:
        """Wait for the batch being written in the background; raise what stopped it."""
        background, self._background = self._background, None
        if background is not None:
            background.result()

    def _write_buffered(self, *, final: bool) -> None:
        for level in LEVELS:
            with self._lock:
                items = [item for spec in level for item in self._buffers.pop(spec.type, [])]
            if not items:
                continue
            done = self._process_all(items, final=final)
            deferred: dict[str, list[Pending]] = {}
            for item, ok in zip(items, done, strict=True):
                if not ok:
                    deferred.setdefault(item.spec.type, []).append(item)
            with self._lock:  # before what arrived meanwhile: input order within a stream
                for resource_type, waiting in deferred.items():
                    self._buffers[resource_type] = waiting + self._buffers.get(resource_type, [])
        self.state.write()

    def close(self) -> None:
        """Stop the background flush and the worker threads (after the last flush)."""
        for pool in (self._coordinator, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._coordinator = self._pool = None

    def _process_all(self, items: list[Pending], *, final: bool) -> list[bool]:
        """Write the records of one dependency level; for each, False when it must wait.

        With ``concurrency`` > 1 the records run on that many threads (the streams of the level
        together), but records of the same stream and source id (``externalId``/``remoteId``,
        else ``id``) stay in input order on one thread, so an update never overtakes the create
        it follows. Levels are written one after the other, so parents are done before their
        children start. On ``JobAborted`` no new record starts, the ones under way finish (and
        are recorded), then it is raised.
        """
        if self.concurrency == 1 or len(items) == 1:
            return [self._process(item, final=final) for item in items]
        chains: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            key = f"{item.spec.type}:{_chain_key(item.record, index)}"
            chains.setdefault(key, []).append(index)
        done = [False] * len(items)
        stop = threading.Event()
        aborted: list[JobAborted] = []

        def run(chain: list[int]) -> None:
            for index in chain:
                if stop.is_set():
                    return
                try:
                    done[index] = self._process(items[index], final=final)
                except JobAborted as error:
                    stop.set()
                    aborted.append(error)
                    return
                except BaseException:
                    stop.set()
                    raise

        pending = iter(list(chains.values()))
        take = threading.Lock()

        def work() -> None:  # each thread takes chains until none is left
            while not stop.is_set():
                with take:
                    chain = next(pending, None)
                if chain is None:
                    return
                run(chain)

        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="target-optiply")
        workers = min(self.concurrency, len(chains))
        futures = [self._pool.submit(work) for _ in range(workers)]
        wait(futures)  # all of them, even after a failure: none may outlive this flush
        for future in futures:
            future.result()
        if aborted:
            raise aborted[0]
        return done

    # -- one record ------------------------------------------------------------------------

    def _process(self, item: Pending, *, final: bool) -> bool:
        """Write one record; False when it must wait for the next flush."""
        started = self._started(item.stream)
        mapped: Mapped | None = None
        failure: Failure | None = None
        try:
            mapped = convert(item.spec, item.record)
            digest = mapped.hash
            result = self._decide(mapped, digest, final=final)
        except _Defer:
            self._stopped(item.stream)
            return False
        except _Skip as skip:
            digest = mapped.hash if mapped else _raw_hash(item.record)
            result = _Result(Outcome.SKIPPED, "-", error=str(skip))
        except BadRecord as error:
            digest = _raw_hash(item.record)
            result = _Result(Outcome.FAILED, "-", error=f"invalid {error}")
            failure = Failure(f"invalid {error.path}", result.error or "")
        except OptiplyError as error:
            digest = mapped.hash if mapped else _raw_hash(item.record)
            result = _Result(Outcome.FAILED, error.method or "-", error=_describe(error))
            failure = Failure(_culprit(error), result.error or "", error)
        self._finish(item, mapped, digest, result, started)
        if result.outcome is Outcome.FAILED:
            error_text = result.error or "failed"
            self.policy.record_failed(
                item.stream, failure or Failure(failure_key(error_text), error_text)
            )
        elif result.outcome is not Outcome.SKIPPED:
            self.policy.succeeded(item.stream)
        return True

    def _started(self, stream: str) -> float:
        """A record of ``stream`` starts: its clock starts when none of its records is under
        way (the stream's busy time is the union of its records' times, whatever the number
        of threads)."""
        now = time.perf_counter()
        with self._counters:
            if not self._in_flight.get(stream):
                self._busy_since[stream] = now
            self._in_flight[stream] = self._in_flight.get(stream, 0) + 1
        return now

    def _stopped(self, stream: str) -> None:
        """A record of ``stream`` is done: the stream's busy time grows when it was the last."""
        now = time.perf_counter()
        with self._counters:
            self._in_flight[stream] -= 1
            if not self._in_flight[stream]:
                self.state.elapsed[stream] = self.state.elapsed.get(stream, 0.0) + (
                    now - self._busy_since[stream]
                )

    def _finish(
        self,
        item: Pending,
        mapped: Mapped | None,
        digest: str,
        result: _Result,
        started: float,
    ) -> None:
        spec, stream = item.spec, item.stream
        external = mapped.external_id if mapped else _source_id(item.record)
        entry: dict[str, Any] = {"hash": digest, "success": result.outcome not in _BAD}
        if result.optiply_id is not None:
            entry["id"] = str(result.optiply_id)
        if external is not None:
            entry["externalId"] = external
        if result.error:
            entry["error"] = result.error
        if result.note:
            entry["note"] = result.note
        if result.outcome is Outcome.SKIPPED:
            entry["skipped"] = True
        if mapped is not None and mapped.deleted:
            entry["deleted"] = True
        if result.line_ids:
            entry["lineIds"] = result.line_ids
        if external is not None:
            if result.outcome in _BAD:
                self.refs.mark_failed(spec.type, external, result.error or "failed")
                if spec.embedded is not None:
                    keys = (
                        line_keys(mapped) if mapped else raw_line_keys(spec, item.record, external)
                    )
                    for key in keys:
                        self.refs.mark_failed(
                            spec.embedded.target, key, f"{stream} {external} failed"
                        )
            elif mapped is not None and mapped.deleted:
                self.refs.forget(spec.type, external)
            elif result.optiply_id is not None:
                self.refs.remember(spec.type, external, result.optiply_id)
        if spec.embedded is not None:
            for key, line_id in result.line_ids.items():
                self.refs.remember(spec.embedded.target, key, int(line_id))
        self.state.add(stream, entry, result.outcome)
        self._stopped(stream)
        with self._counters:
            number = self._seen[stream] = self._seen.get(stream, 0) + 1
        total = self._totals.get(stream)
        if total is None:  # read once per stream
            total = self._totals[stream] = os.environ.get(
                f"STREAM_TOTAL_{stream}"
            ) or os.environ.get(f"STREAM_TOTAL_{stream.upper()}", "?")
        logger.info(
            "%s #%d/%s %s externalId=%s -> %s id=%s %.0f ms%s",
            stream,
            number,
            total,
            result.method,
            external,
            result.outcome.value,
            result.optiply_id,
            (time.perf_counter() - started) * 1000,
            f" ({result.error or result.note})" if (result.error or result.note) else "",
        )

    def _decide(self, mapped: Mapped, digest: str, *, final: bool) -> _Result:
        spec = mapped.spec
        stream = stream_name(spec)
        options = self.settings.stream(stream)
        if mapped.deleted:
            return self._delete(mapped, options)
        previous = self._previous.get(stream, {}).get(digest)
        if previous is not None:
            if mapped.external_id:
                self.refs.remember(spec.type, mapped.external_id, previous[0])
            return _Result(
                Outcome.EXISTING,
                "-",
                previous[0],
                note="unchanged since the last run",
                line_ids=previous[1],
            )
        self._resolve_references(mapped, final=final)
        optiply_id, how = self._find_id(mapped, options)
        if optiply_id is not None:
            result = self._patch(mapped, optiply_id, options)
            if result is not None:
                if how not in ("record", "run"):
                    result.note = f"id from {how}"
                return result
        return self._post(mapped, options)

    # -- references --------------------------------------------------------------------------

    def _resolve_references(self, mapped: Mapped, *, final: bool) -> None:
        spec = mapped.spec
        for name, source in mapped.remote_refs.items():
            if name in mapped.attributes:
                continue  # an explicit Optiply id wins
            attribute = spec.attribute(name)
            assert attribute is not None and attribute.references is not None
            mapped.attributes[name] = self._reference(
                spec, name, attribute.references, source, final=final
            )
        for index, line in enumerate(mapped.lines or ()):
            if line.product_id is None:
                assert line.remote_product_id is not None
                line.product_id = self._reference(
                    spec,
                    f"line_items/{index}/productId",
                    "products",
                    line.remote_product_id,
                    final=final,
                )

    def _reference(
        self, spec: ResourceSpec, name: str, target: str, source: str, *, final: bool
    ) -> int:
        found = self.refs.lookup(target, source)
        if found is not None:
            return found[0]
        target_stream = stream_name(get(target))
        reason = self.refs.failure(target, source)
        if reason is not None:
            raise _Skip(f"{name}: parent {target_stream} {source} failed ({reason})")
        if not final:
            raise _Defer
        snapshot = (
            f" nor in snapshot {target_stream}_{self.settings.flow}"
            if self.settings.snapshot_dir and self.settings.flow
            else ""
        )
        remote = name if "/" in name else f"Remote_{name}"
        raise BadRecord(
            f"/{remote}",
            f"{name.rsplit('/', 1)[-1]} unresolved ({remote}={source} not created in this run, "
            f"nor in the previous state{snapshot})",
        )

    def _find_id(self, mapped: Mapped, options: StreamOptions) -> tuple[int | None, str]:
        if mapped.optiply_id is not None:
            return mapped.optiply_id, "record"
        if mapped.external_id is None:
            return None, "none"
        found = self.refs.lookup(mapped.spec.type, mapped.external_id)
        if found is not None:
            return found
        key = options.lookup_by
        value = mapped.attributes.get(key) if key else None
        if key and value is not None:
            page = self._call(mapped, "list", mapped.spec.type, **{key: wire(value), "limit": 2})
            if isinstance(page, ResourcePage) and len(page) == 1:
                return page.data[0].id, f"lookup by {key}"
        return None, "none"

    # -- writes ------------------------------------------------------------------------------

    def _extras(self, mapped: Mapped, options: StreamOptions, *, create: bool) -> dict[str, Any]:
        spec = mapped.spec
        extra: dict[str, Any] = {}
        if options.send_remote_id and mapped.external_id and spec.attribute("remoteId"):
            extra["remoteId"] = mapped.external_id[:255]
        if (
            options.send_remote_data_synced_to_date
            and spec.attribute("remoteDataSyncedToDate")
            and "remoteDataSyncedToDate" not in mapped.attributes
        ):
            extra["remoteDataSyncedToDate"] = format_datetime(datetime.now(UTC))
        if (
            create
            and spec.has_account
            and self.settings.account_id is not None
            and "accountId" not in mapped.attributes
        ):
            extra["accountId"] = self.settings.account_id
        return extra

    def _patch(self, mapped: Mapped, optiply_id: int, options: StreamOptions) -> _Result | None:
        """PATCH; None when the row is gone and the stream re-creates it."""
        spec = mapped.spec
        body = {**update_body(mapped), **self._extras(mapped, options, create=False)}
        try:
            self._call(mapped, "update", spec.type, optiply_id, body)
        except NotFoundError:
            policy = options.on_patch_not_found or (
                "create" if spec.type in RECREATE_ON_PATCH_404 else "fail"
            )
            if policy == "create":
                if mapped.external_id:
                    self.refs.forget(spec.type, mapped.external_id)
                return None
            return _Result(
                Outcome.FAILED,
                "PATCH",
                optiply_id,
                error=f"404: {spec.label} {optiply_id} was deleted in Optiply",
            )
        return _Result(Outcome.UPDATED, "PATCH", optiply_id)

    def _post(self, mapped: Mapped, options: StreamOptions) -> _Result:
        spec = mapped.spec
        problem = missing_required(mapped)
        if problem is not None:
            raise problem
        body = {**create_body(mapped), **self._extras(mapped, options, create=True)}
        if spec.embedded is not None and mapped.lines:
            body[spec.embedded.attribute] = [
                {**{k: wire(v) for k, v in line.attributes.items()}, "productId": line.product_id}
                for line in mapped.lines
            ]
        try:
            created = self._call(mapped, "create", spec.type, body)
        except ConflictError:
            if not spec.unique:
                raise
            return self._adopt(mapped, body, options)
        except AmbiguousWriteError as error:
            found = self._read_back(mapped, body)
            if found is not None:
                return self._created(mapped, found, note=f"adopted after ambiguous POST ({error})")
            created = self._call(mapped, "create", spec.type, body)  # known not to exist
        assert isinstance(created, Resource)
        return self._created(mapped, created)

    def _created(self, mapped: Mapped, created: Resource, note: str | None = None) -> _Result:
        result = _Result(Outcome.SUCCESS, "POST", created.id, note=note)
        spec = mapped.spec
        if spec.embedded is not None and mapped.lines:
            ids = created.meta.get("orderLineIds")
            if not isinstance(ids, list) or len(ids) != len(mapped.lines):
                page = self._call(
                    mapped,
                    "list",
                    spec.embedded.target,
                    **{spec.embedded.parent_attribute: created.id, "sort": "id", "limit": 100},
                )
                assert isinstance(page, ResourcePage)
                ids = [row.id for row in page.data]
            if len(ids) == len(mapped.lines):
                for key, line_id in zip(line_keys(mapped), ids, strict=True):
                    result.line_ids[key] = str(line_id)
        return result

    def _adopt(self, mapped: Mapped, body: Mapping[str, Any], options: StreamOptions) -> _Result:
        """A 409 on a unique pair: take the existing row, PATCH it when it differs."""
        spec = mapped.spec
        pair = spec.unique[0].attributes
        page = self._call(mapped, "list", spec.type, **{a: body[a] for a in pair}, limit=1)
        assert isinstance(page, ResourcePage)
        if not page.data:
            return _Result(Outcome.FAILED, "POST", error="409 but no row with the pair found")
        existing = page.data[0]
        wanted = update_body(mapped)
        if differs(spec, wanted, existing.attributes):
            patch = {**wanted, **self._extras(mapped, options, create=False)}
            self._call(mapped, "update", spec.type, existing.id, patch)
            return _Result(Outcome.EXISTING, "POST+PATCH", existing.id, note="adopted on 409")
        return _Result(Outcome.EXISTING, "POST", existing.id, note="adopted on 409")

    def _read_back(self, mapped: Mapped, body: Mapping[str, Any]) -> Resource | None:
        """Find the row an ambiguous POST may have created, by its natural key."""
        spec = mapped.spec
        keys: dict[str, Any] = {}
        for attribute in spec.attributes:
            if (
                attribute.required
                and attribute.filterable
                and attribute.kind is not Kind.LINES
                and attribute.name in body
            ):
                keys[attribute.name] = body[attribute.name]
        if not keys:
            return None
        page = self._call(mapped, "list", spec.type, **keys, sort="-id", limit=20)
        assert isinstance(page, ResourcePage)
        candidates = list(page.data)
        if spec.attribute("remoteIdMap") and mapped.external_id and "remoteId" in body:
            candidates = [
                row
                for row in candidates
                if mapped.external_id in (row.attributes.get("remoteIdMap") or {}).values()
            ]
        elif not spec.unique:
            return None  # no way to tell our row from another with the same key
        return candidates[0] if candidates else None

    def _delete(self, mapped: Mapped, options: StreamOptions) -> _Result:
        spec = mapped.spec
        optiply_id = mapped.optiply_id
        if optiply_id is None and mapped.external_id is not None:
            found = self.refs.lookup(spec.type, mapped.external_id)
            optiply_id = found[0] if found else None
        if optiply_id is None:
            return _Result(Outcome.SUCCESS, "-", note="nothing to delete: id unknown")
        soft = SOFT_DELETE.get(spec.type) if options.delete_mode == "soft" else None
        try:
            if soft is not None:
                self._call(mapped, "update", spec.type, optiply_id, soft)
                return _Result(Outcome.SUCCESS, "PATCH", optiply_id, note="soft-deleted")
            self._call(mapped, "delete", spec.type, optiply_id)
        except NotFoundError:
            return _Result(Outcome.SUCCESS, "DELETE", optiply_id, note="already gone (404)")
        return _Result(Outcome.SUCCESS, "DELETE", optiply_id, note="deleted")

    def _call(self, mapped: Mapped, method: str, *args: Any, **kwargs: Any) -> Any:
        stream = stream_name(mapped.spec)
        with self._counters:
            self.state.requests[stream] = self.state.requests.get(stream, 0) + 1
        function = getattr(self.api, method)
        if self.settings.output_mapped_records and method in ("create", "update"):
            logger.info(  # HotGlue's OUTPUT_MAPPED_RECORD: the body as sent
                "%s %s mapped: %s",
                stream,
                mapped.external_id,
                orjson.dumps(args[-1], default=str).decode(),
            )
        self.throttle.wait()
        return function(*args, **kwargs)

    # -- the end -----------------------------------------------------------------------------

    def log_summary(self) -> None:
        """One table of counts per stream, and requests per second."""
        summary = {stream: dict(counts) for stream, counts in self.state.summary.items()}
        if not summary:
            return
        logger.info(
            "%-20s %8s %8s %8s %8s %8s %9s %7s",
            "stream",
            "success",
            "updated",
            "existing",
            "failed",
            "skipped",
            "requests",
            "req/s",
        )
        for stream, counts in summary.items():
            requests = self.state.requests.get(stream, 0)
            elapsed = self.state.elapsed.get(stream, 0.0)
            logger.info(
                "%-20s %8d %8d %8d %8d %8d %9d %7.1f",
                stream,
                counts.get("success", 0),
                counts.get("updated", 0),
                counts.get("existing", 0),
                counts.get("fail", 0),
                counts.get("skipped", 0),
                requests,
                requests / elapsed if elapsed > 0 else 0.0,
            )


_BAD = (Outcome.FAILED, Outcome.SKIPPED)


def _source_id(record: Mapping[str, Any]) -> str | None:
    """The record's source id (``externalId``, else ``remoteId``), normalised."""
    return normalise_external_id(record.get("externalId", record.get("remoteId")))


def _chain_key(record: Mapping[str, Any], index: int) -> str:
    """Records sharing this key are written in input order, one after the other."""
    external = _source_id(record)
    if external is not None:
        return f"x:{external}"
    optiply_id = record.get("id")
    if optiply_id not in (None, ""):
        return f"i:{optiply_id}"
    return f"n:{index}"


def _culprit(error: OptiplyError) -> str:
    """What an API error blames: ``"400 /data/attributes/stockLevel"``, else its status and
    code (``"409 conflict"``)."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    return " ".join(str(part) for part in (error.status, where or error.code) if part)


def _describe(error: OptiplyError) -> str:
    """``"400 /data/attributes/stockLevel: detail"``: status, culprit and detail, no URL."""
    where = error.pointer or (f"?{error.parameter}" if error.parameter else "")
    head = " ".join(str(part) for part in (error.status, where) if part)
    return f"{head}: {error.detail}" if head else error.detail


def _raw_hash(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _previous_successes(
    state: Mapping[str, Any],
) -> dict[str, dict[str, tuple[int, dict[str, str]]]]:
    """``stream -> hash -> (id, line ids)`` of the records a previous run wrote successfully."""
    result: dict[str, dict[str, tuple[int, dict[str, str]]]] = {}
    bookmarks = state.get("bookmarks")
    if not isinstance(bookmarks, dict):
        return result
    for stream, entries in bookmarks.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("success") or entry.get("deleted"):
                continue
            digest, optiply_id = entry.get("hash"), entry.get("id")
            if isinstance(digest, str) and str(optiply_id or "").isdigit():
                lines = entry.get("lineIds")
                result.setdefault(str(stream), {})[digest] = (
                    int(str(optiply_id)),
                    dict(lines) if isinstance(lines, dict) else {},
                )
    return result


__all__ = ["Api", "Pending", "RecordError", "Writer"]
