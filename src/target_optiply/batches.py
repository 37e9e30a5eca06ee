"""When records are written, on which thread, and in which order.

Sinks only hand records over (``Writer.add``); nothing is sent until a flush. A flush walks the
buffers level after level (``streams.LEVELS``: parents before children), so interleaved Singer
streams are written in dependency order. Within a level, up to ``concurrency`` records are
written at the same time, on the run's worker threads, but records of the same stream and
source id (``externalId``/``remoteId``, else ``id``) form a chain written in input order on one
thread, so an update never overtakes the create it follows. A batch (not the final flush) is
written in the background while the input goes on being read. A record that must wait (its
parent is not known yet) is kept, ahead of what arrived meanwhile, for the next flush.

``Batches`` knows nothing of the API: it calls ``process(item, final)`` per record (False:
keep it for the next flush). ``Writer`` wires it to the decision (``upsert.Upsert``) and the
bookkeeping (``report.Report``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from optiply.client import OptiplyError
from optiply.resources import ResourceSpec
from target_optiply.bulk import CHUNK, Bulk
from target_optiply.policy import ErrorPolicy, JobAborted
from target_optiply.records import normalise_external_id
from target_optiply.references import References
from target_optiply.report import Report
from target_optiply.settings import Settings
from target_optiply.state import TargetState, previous_successes
from target_optiply.streams import LEVELS, stream_name
from target_optiply.throttle import Throttle
from target_optiply.upsert import Api, Result, Upsert

logger = logging.getLogger("target_optiply")


@dataclass
class Pending:
    """A buffered record."""

    stream: str
    spec: ResourceSpec
    record: dict[str, Any]


# Writes one record; False when it must wait for the next flush. May raise ``JobAborted``.
Process = Callable[[Pending, bool], bool]
# A piece of a flush run on a worker thread; returns early once the event is set.
Task = Callable[[threading.Event], None]


class Batches:
    """Buffers records and writes them in dependency order on worker threads."""

    def __init__(
        self,
        process: Process,
        *,
        concurrency: int = 1,
        after_flush: Callable[[], None] = lambda: None,
    ) -> None:
        """Args:
        process: Writes one record (``final``: fail unresolved references instead of
            waiting); False when the record must wait for the next flush.
        concurrency: Records written at the same time.
        after_flush: Called once a flush has written everything it could.
        """
        self._process = process
        self.concurrency = max(1, concurrency)
        self._after_flush = after_flush
        self._buffers: dict[str, list[Pending]] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None  # the run's worker threads, made on use
        self._coordinator: ThreadPoolExecutor | None = None  # writes a batch in the background
        self._background: Future[None] | None = None

    def add(self, spec: ResourceSpec, record: dict[str, Any]) -> None:
        """Buffer one record of ``spec``'s stream."""
        with self._lock:
            self._buffers.setdefault(spec.type, []).append(Pending(stream_name(spec), spec, record))

    def flush(self, *, final: bool) -> None:
        """Write every buffered record, level after level (``streams.LEVELS``).

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

    def close(self) -> None:
        """Stop the background flush and the worker threads (after the last flush)."""
        for pool in (self._coordinator, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._coordinator = self._pool = None

    def _write_buffered(self, *, final: bool) -> None:
        for level in LEVELS:
            with self._lock:
                items = [item for row in level for item in self._buffers.pop(row.type, [])]
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
        self._after_flush()

    def _process_all(self, items: list[Pending], *, final: bool) -> list[bool]:
        """Write the records of one dependency level; for each, False when it must wait.

        With ``concurrency`` > 1 the records run on that many threads (the streams of the level
        together), a chain per stream and source id (``chain_key``). Levels are written one
        after the other, so parents are done before their children start. On ``JobAborted``
        no new record starts, the ones under way finish (and are recorded), then it is raised.
        """
        if self.concurrency == 1 or len(items) == 1:
            return [self._process(item, final) for item in items]
        chains: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            key = f"{item.spec.type}:{chain_key(item.record, index)}"
            chains.setdefault(key, []).append(index)
        done = [False] * len(items)

        def chain_task(chain: list[int]) -> Task:
            def run(stop: threading.Event) -> None:
                for index in chain:
                    if stop.is_set():
                        return
                    done[index] = self._process(items[index], final)

            return run

        self._run_tasks([chain_task(chain) for chain in chains.values()])
        return done

    def _run_tasks(self, tasks: list[Task]) -> None:
        """Run ``tasks`` on the worker threads, ``concurrency`` at a time, each taking the next
        when done. On ``JobAborted`` no new task starts (a task sees ``stop`` set between its
        records), the ones under way finish, then it is raised."""
        stop = threading.Event()
        aborted: list[JobAborted] = []
        pending = iter(tasks)
        take = threading.Lock()

        def work() -> None:  # each thread takes tasks until none is left
            while not stop.is_set():
                with take:
                    task = next(pending, None)
                if task is None:
                    return
                try:
                    task(stop)
                except JobAborted as error:
                    stop.set()
                    aborted.append(error)
                    return
                except BaseException:
                    stop.set()
                    raise

        workers = min(self.concurrency, len(tasks))
        if workers <= 1:
            work()
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.concurrency, thread_name_prefix="target-optiply"
                )
            futures = [self._pool.submit(work) for _ in range(workers)]
            wait(futures)  # all of them, even after a failure: none may outlive this flush
            for future in futures:
                future.result()
        if aborted:
            raise aborted[0]


def chunks_of(items: list[Pending]) -> tuple[list[list[int]], list[int]]:
    """Atomic chunks of a level (indexes): per stream, the first record of each source id, up
    to 100 a chunk; and the later records of a source id, in input order (``rest``).

    >>> from optiply.resources import get
    >>> rows = [Pending("Products", get("products"), {"externalId": x}) for x in "abab"]
    >>> chunks_of(rows)
    ([[0, 1]], [2, 3])
    """
    chunks: dict[str, list[list[int]]] = {}
    seen: set[str] = set()
    rest: list[int] = []
    for index in range(len(items)):
        key = _key_of(items, index)
        if key in seen:
            rest.append(index)
            continue
        seen.add(key)
        runs = chunks.setdefault(items[index].spec.type, [[]])
        if len(runs[-1]) >= CHUNK:
            runs.append([])
        runs[-1].append(index)
    return [chunk for runs in chunks.values() for chunk in runs if chunk], rest


def _key_of(items: list[Pending], index: int) -> str:
    item = items[index]
    return f"{item.spec.type}:{chain_key(item.record, index)}"


def _lookup_task(bulk: Bulk, spec: ResourceSpec, ids: list[str]) -> Task:
    def run(stop: threading.Event) -> None:
        if not stop.is_set():
            bulk.look_up(spec, ids)

    return run


def _offered(api: Api) -> frozenset[str]:
    """The extensions the server offers (none when it cannot tell: the run goes on as v1)."""
    try:
        return api.extensions()
    except OptiplyError as error:
        logger.warning("could not ask the server for its extensions: %s", error)
        return frozenset()


def chain_key(record: Mapping[str, Any], index: int) -> str:
    """Records sharing this key (within a stream) are written in input order, one after the
    other: the source id, else the Optiply id, else none (the record's own chain).

    >>> chain_key({"remoteId": 12.0}, 0), chain_key({"id": "7"}, 1), chain_key({}, 2)
    ('x:12', 'i:7', 'n:2')
    """
    external = normalise_external_id(record.get("externalId", record.get("remoteId")))
    if external is not None:
        return f"x:{external}"
    optiply_id = record.get("id")
    if optiply_id not in (None, ""):
        return f"i:{optiply_id}"
    return f"n:{index}"


class Writer(Batches):
    """The run's write engine: ``Batches`` writing each record through ``upsert.Upsert`` and
    keeping its outcome with ``report.Report``; one per run (injected, no globals)."""

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
        super().__init__(self._write_one, concurrency=concurrency, after_flush=state.write)
        self.settings = settings
        self.state = state
        self.policy = policy
        self.report = Report(state, policy, totals=settings.stream_totals)
        offered = _offered(api)
        self.upsert = Upsert(
            settings=settings,
            api=api,
            references=references,
            previous=previous_successes(previous or {}),
            throttle=throttle or Throttle(None),
            count_request=self.report.request,
            offered=offered,
            run=settings.job_id or uuid.uuid4().hex,
        )
        self.bulk = Bulk(upsert=self.upsert, api=api, references=references, mode=settings.bulk)
        self._proven: set[str] = set()  # streams with a batch written in this run
        if offered:
            logger.info(
                "server extensions: %s; atomic batches %s",
                ", ".join(sorted(uri.rsplit("/", 1)[-1] for uri in offered)),
                "on" if self.bulk.enabled else "off",
            )

    def _process_all(self, items: list[Pending], *, final: bool) -> list[bool]:
        """A dependency level: remote-id lookups first (``bulk``), then atomic chunks of up to
        100 records of a stream (the first record of each source id; the first chunk alone,
        then the others at once), then record by record the rest in input order (a later
        record of a source id waits with its first)."""
        lookups = self.bulk.lookups([(item.spec, item.record) for item in items])
        if lookups:
            self._run_tasks([_lookup_task(self.bulk, spec, ids) for spec, ids in lookups])
        if not self.bulk.enabled:
            return super()._process_all(items, final=final)
        chunks, rest = chunks_of(items)
        done = [False] * len(items)
        tasks = [self._chunk_task(items, chunk, done, final) for chunk in chunks]
        # The first chunk alone until each stream here has had a batch written in this run: a
        # failure that stops the job (a 401, a missing scope) stops it after one batch, not
        # after as many as run at once; then (and from then on) the others together.
        if all(items[chunk[0]].stream in self._proven for chunk in chunks):
            self._run_tasks(tasks)
        else:
            self._run_tasks(tasks[:1])
            self._run_tasks(tasks[1:])
        if rest:
            first_done: dict[str, bool] = {}
            for index, item in enumerate(items):
                key = f"{item.spec.type}:{chain_key(item.record, index)}"
                first_done.setdefault(key, done[index])
            ready = [i for i in rest if first_done[_key_of(items, i)]]
            for index, ok in zip(
                ready, super()._process_all([items[i] for i in ready], final=final), strict=True
            ):
                done[index] = ok
        return done

    def _chunk_task(
        self, items: list[Pending], chunk: list[int], done: list[bool], final: bool
    ) -> Task:
        stream = items[chunk[0]].stream

        def run(stop: threading.Event) -> None:
            if stop.is_set():
                return
            started = [self.report.started(stream) for _ in chunk]
            open_ = set(range(len(chunk)))

            def settle(position: int, result: Result | None) -> None:
                open_.discard(position)
                if result is None:  # a parent is not known yet
                    self.report.stopped(stream)
                    return
                done[chunk[position]] = True
                self.report.record(stream, result, started[position])

            try:
                self.bulk.write(
                    [(items[i].spec, items[i].record) for i in chunk],
                    final=final,
                    settle=settle,
                    stop=stop,
                )
                self._proven.add(stream)
            finally:
                for _ in open_:  # not written (the job stops): their clocks stop too
                    self.report.stopped(stream)

        return run

    def _write_one(self, item: Pending, final: bool) -> bool:
        started = self.report.started(item.stream)
        result = self.upsert.write(item.spec, item.record, final=final)
        if result is None:  # a parent is not known yet
            self.report.stopped(item.stream)
            return False
        self.report.record(item.stream, result, started)
        return True

    def log_summary(self) -> None:
        """One table of counts per stream, and requests per second."""
        self.report.log_summary()
