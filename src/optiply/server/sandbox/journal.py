"""The request journal: every request to ``/v1`` and ``/api/auth``, recorded off the request path.

``JournalMiddleware`` (pure ASGI) keeps references to what passes through: the request body
chunks as the app receives them, the response status and body chunks as the app sends them (up
to 64 KiB each, no copying), the timing, and the ``RequestNote`` that the route layer fills in
once it knows the caller. The finished record goes to the writer: a process of its own
(``sandbox.journal_process``), whose ``JournalWriter`` thread turns records into rows
(``sandbox.records``: redaction, error code, truncation all happen there, never on the request
path) and inserts them in batches (every 100 ms, up to 500 rows a statement), pruning each
account to its newest N rows every couple of seconds. (A server on an in-memory SQLite
database runs the ``JournalWriter`` thread itself.)

Secrets never reach the table: query strings, form, JSON and multipart bodies and the
credential headers go through ``sandbox.redact`` before a row is built.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from optiply.server.sandbox.records import KEPT, Record, RequestNote, row_of
from optiply.server.storage import journal_writes as storage
from optiply.server.storage.repository import Engine

logger = logging.getLogger(__name__)

COPY_FROM = 16 * 1024
"""Bodies from this size are copied into a reusable buffer when the request ends, not kept.

Keeping a 200 KB answer until the writer's next batch made the event loop allocate fresh
memory for every answer (the writer frees them a hundred at a time, and the C allocator gives
the freed top of the heap back to the system): 50 page faults a request, about 70 µs of kernel
time. A copy of the first 68 KiB into a buffer the writer hands back costs 3-5 µs."""
NOTE_KEY = "journal_note"
"""Where the ``RequestNote`` of a request lives in ``scope["state"]``."""
JOURNALED = ("/v1/", "/api/auth/")
BATCH_ROWS = 500
BATCH_SECONDS = 0.1
PRUNE_SECONDS = 2.0
MAX_PENDING = 100_000
WRITER_NICE = 10
"""How much lower than the server's the writer thread's CPU priority is (Linux: a thread has
its own nice value). On a machine whose cores the requests keep busy, the writer then works in
the gaps instead of taking its share from them; a row waits a little longer to be written."""


def note_of(scope: Scope) -> RequestNote | None:
    """The request's note when the journal is on (None otherwise: nothing to fill in)."""
    state = scope.get("state")
    return None if state is None else state.get(NOTE_KEY)


class Writer(Protocol):
    """Where the middleware hands finished records: ``JournalWriter`` (a thread) or
    ``journal_process.JournalProcess`` (a process of its own)."""

    def put(self, record: Record) -> None: ...


class JournalMiddleware:
    """Pure-ASGI middleware recording requests to /v1 and /api/auth on the writer's queue."""

    def __init__(self, app: ASGIApp, writer: Writer) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(JOURNALED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        note = RequestNote()
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state[NOTE_KEY] = note
        record = Record(
            at=datetime.now(UTC),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b""),
            headers=scope["headers"],
            note=note,
        )

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request" and record.request_size < KEPT:
                chunk = message.get("body", b"")
                if chunk:
                    record.request_chunks.append(chunk)
                    record.request_size += len(chunk)
            return message

        async def send_and_keep(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                record.status = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"content-type":
                        record.response_type = value.decode("latin-1")
            elif kind == "http.response.body" and record.response_size < KEPT:
                chunk = message.get("body", b"")
                if chunk:
                    record.response_chunks.append(chunk)
                    record.response_size += len(chunk)
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        except BaseException:
            if record.status == 0:
                record.status = 500
            raise
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
            self.writer.put(record)


class _Buffers:
    """Reusable buffers of ``KEPT`` bytes for large bodies (``COPY_FROM``), shared by the event
    loop (which takes them) and the writer thread (which gives them back once the batch is
    written). Deque appends and pops are atomic: no lock."""

    def __init__(self) -> None:
        self._free: deque[bytearray] = deque()

    def copy(self, record: Record, chunks: list[bytes | memoryview]) -> memoryview:
        """The first ``KEPT`` bytes of ``chunks`` in a buffer, which ``record`` holds on to."""
        try:
            buffer = self._free.pop()
        except IndexError:
            buffer = bytearray(KEPT)
        size = 0
        for chunk in chunks:
            length = min(len(chunk), KEPT - size)
            buffer[size : size + length] = memoryview(chunk)[:length]
            size += length
        if record.buffers is None:
            record.buffers = []
        record.buffers.append(buffer)
        return memoryview(buffer)[:size]

    def give(self, buffers: list[bytearray]) -> None:
        self._free.extend(buffers)

    def clear(self) -> None:
        """Let the memory go (when the server is idle)."""
        self._free.clear()


def lower_priority() -> None:
    """Lower the calling thread's CPU priority by ``WRITER_NICE`` (Linux only; best effort)."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(
            os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + WRITER_NICE
        )
    except OSError:  # not allowed here: the writer keeps the server's priority
        logger.debug("journal: the writer's priority could not be lowered")


class JournalWriter:
    """The thread that writes records to the table in batches and prunes it.

    The request path only appends to a deque; the thread wakes every 100 ms (or when a flush
    is asked for), takes everything queued, and writes it. It never wakes per request: each
    wake-up takes the GIL from the event loop, and per-request hand-offs cost more than the
    writing itself.
    """

    def __init__(
        self, engine: Engine, *, keep: int, interval: float = BATCH_SECONDS, copies: bool = True
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.interval = interval
        self._pending: deque[Record] = deque()
        self._waiters: deque[threading.Event] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._touched: set[int | None] = set()
        self.buffers = _Buffers() if copies else None
        self.written = 0
        self.dropped = 0

    @property
    def thread(self) -> threading.Thread:
        """The writer's thread (benchmarks read its CPU time)."""
        return self._thread

    def start(self) -> None:
        self._thread.start()

    def put(self, record: Record) -> None:
        """Queue a record (from the event loop; never blocks)."""
        buffers = self.buffers
        if buffers is not None:
            if record.response_size >= COPY_FROM and record.note.body_key is None:
                record.response_chunks = [buffers.copy(record, record.response_chunks)]
            if record.request_size >= COPY_FROM:
                record.request_chunks = [buffers.copy(record, record.request_chunks)]
        if len(self._pending) < MAX_PENDING:
            self._pending.append(record)
        else:  # the database is not keeping up (or is down): lose rows, not memory
            self.dropped += 1

    def flush(self, timeout: float = 10) -> bool:
        """Wait until everything queued before this call is in the table."""
        if not self._thread.is_alive():
            return False
        done = threading.Event()
        self._waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, prune, and end the thread."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.engine.dispose()

    def _run(self) -> None:
        lower_priority()
        next_prune = time.monotonic() + PRUNE_SECONDS
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping
            waiters = []
            while self._waiters:
                waiters.append(self._waiters.popleft())
            if not self._pending and self.buffers is not None:
                self.buffers.clear()
            while self._pending:
                batch: list[dict[str, Any]] = []
                used: list[bytearray] = []
                taken = 0
                while self._pending and taken < BATCH_ROWS:
                    record = self._pending.popleft()
                    taken += 1
                    if record.buffers is not None:
                        used.extend(record.buffers)
                    try:
                        batch.append(row_of(record))
                    except Exception:  # never the record's content in the log
                        logger.exception("journal: a request could not be recorded")
                try:
                    self._write(batch)
                finally:
                    del batch  # the rows' bodies are views of the buffers
                    if self.buffers is not None:
                        self.buffers.give(used)
            now = time.monotonic()
            if now >= next_prune or stopping:
                self._prune()
                next_prune = now + PRUNE_SECONDS
            for event in waiters:
                event.set()
            if stopping:
                return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        written = storage.insert_rows(self.engine, batch)
        self.written += written
        if written < len(batch):
            lost = len(batch) - written
            logger.warning("journal: %d of %d rows could not be written", lost, len(batch))
        self._touched.update(row["account_id"] for row in batch)

    def _prune(self) -> None:
        touched, self._touched = self._touched, set()
        try:
            storage.prune(self.engine, touched, self.keep)
        except Exception:
            logger.exception("journal: pruning failed")
