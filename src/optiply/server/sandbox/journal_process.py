"""The journal writer in a process of its own, fed through a pipe by the event loop.

A writer thread in the server's process took the GIL from the event loop: a request waited
about as long as the thread spent on its row (redaction, compression, the insert), though the
two ran on different cores (benchmarks/README.md, "Request journal"). Here the event loop only
frames each record (a few µs) and writes the frames of one loop iteration to a pipe in one
non-blocking write; a child process (``python -m optiply.server.sandbox.journal_process``)
reads them, rebuilds the records and hands them to a ``JournalWriter`` of its own.

Frames: a header (a kind byte and three lengths), then the parts.
- ``C``: the configuration, first (the database URL goes through the pipe: never the command
  line, which any user of the machine can read).
- ``R``: a record: its fields pickled, its request body, its response body.
- ``F``: a flush marker: once everything before it is in the table, the child writes its
  number to the acknowledgement pipe.

A page-cache answer (the same bytes for every request of the same page) crosses the pipe once:
both ends keep an LRU of ``SHARED`` entries and make the same moves on it in the same order, so
the parent knows which bodies the child holds without asking.

The process ends when its input does (the server stopped or died). A child that dies is
started again, at most once per ``RESTART_SECONDS``; records in between are counted as dropped.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO

from optiply.server.sandbox.journal import JournalWriter, lower_priority
from optiply.server.sandbox.records import KEPT, Record, RequestNote, joined
from optiply.server.storage.caches import Lru
from optiply.server.storage.engine import in_memory, make_engine
from optiply.server.storage.repository import Engine

logger = logging.getLogger(__name__)

HEADER = struct.Struct("<cIII")
ACK = struct.Struct("<Q")
SHARED = 64
"""Page-cache answers each end remembers (the storage layer keeps as many encoded)."""
PIPE_BYTES = 1 << 20
"""The pipe's capacity asked of the kernel (Linux; 64 KiB otherwise): a second of GETs."""
MAX_BACKLOG = 64 << 20
"""Bytes waiting for the pipe beyond which records are dropped (the child is not keeping up)."""
RESTART_SECONDS = 5.0
STARTUP_SECONDS = 30.0


def _part(chunks: list[bytes | memoryview]) -> bytes | memoryview:
    """A body's first ``KEPT`` bytes (the writer cuts at 64 KiB and flags what was longer)."""
    body = joined(chunks) if chunks else b""
    return memoryview(body)[:KEPT] if len(body) > KEPT else body


class JournalProcess:
    """The server's end: frames records on the event loop and sends them to the child.

    ``start`` (in the lifespan, on the event loop) starts the child; ``put`` is called by the
    middleware on the event loop; ``flush`` from any thread; ``stop`` when the server stops.
    """

    def __init__(self, engine: Engine, *, keep: int, interval: float | None = None) -> None:
        self._config = {
            "url": engine.url.render_as_string(hide_password=False),
            "keep": keep,
            "interval": interval,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._out = -1  # the pipe to the child
        self._acks = -1  # the pipe from it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._frames: list[bytes | memoryview] = []
        self._backlog = bytearray()  # what the pipe did not take yet
        self._waiting = False  # a send is scheduled on the loop
        self._sent: Lru[int] = Lru(SHARED)
        self._next_body = 0
        self._marker = 0
        self._acked = 0
        self._flush_lock = threading.Lock()
        self._started_at = 0.0
        self._stopped = False
        self.restart_seconds = RESTART_SECONDS
        self.dropped = 0

    @property
    def pid(self) -> int | None:
        """The child's process id (benchmarks read its CPU time)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the child and wait until it can write (from the event loop that will call
        ``put``, before the server answers): its start-up, about a second of CPU on a slow
        machine, is not taken from the first requests, and a child that can't start says so."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._spawn()
        if not self.flush(STARTUP_SECONDS):
            logger.warning("journal: the writer process is not ready after %s s", STARTUP_SECONDS)

    def _spawn(self) -> None:
        self._started_at = time.monotonic()
        into_child, self._out = os.pipe()
        self._acks, from_child = os.pipe()
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            try:
                fcntl.fcntl(self._out, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:  # over the system's limit: the default size works, in more writes
                pass
        try:
            self._process = subprocess.Popen(  # noqa: S603 (this interpreter, this module)
                [sys.executable, "-m", __name__, str(from_child)],
                stdin=into_child,
                stdout=subprocess.DEVNULL,
                pass_fds=(from_child,),
            )
        except OSError:
            os.close(self._out)
            os.close(self._acks)
            raise
        finally:
            os.close(into_child)
            os.close(from_child)
        os.set_blocking(self._out, False)
        self._sent = Lru(SHARED)
        self._backlog.clear()
        self._frames.clear()
        self._frames.append(_frame(b"C", pickle.dumps(self._config)))
        self._schedule()

    def put(self, record: Record) -> None:
        """Frame a record for the child (on the event loop; never blocks)."""
        if self._process is None and not self._stopped:
            self._restart()
        if self._process is None or len(self._backlog) > MAX_BACKLOG:
            self.dropped += 1
            return
        note = record.note
        body: bytes | memoryview = b""
        shared: tuple[int, bool] | None = None
        if note.body_key is not None:
            number = self._sent.get(note.body_key)
            if number is None:  # the child learns this answer under a new number
                number = self._next_body = self._next_body + 1
                self._sent.put(note.body_key, number)
                body = _part(record.response_chunks)
                shared = (number, False)
            else:  # the child holds it
                shared = (number, True)
        else:
            body = _part(record.response_chunks)
        request = _part(record.request_chunks)
        head = pickle.dumps(
            (
                record.at.timestamp(),  # an aware datetime takes 10 times longer to pickle
                record.method,
                record.path,
                record.query,
                record.headers,
                note.account_ids,
                note.client_id,
                note.username,
                note.fault_id,
                note.answered,
                shared,
                record.response_type,
                record.status,
                record.duration_ms,
            ),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        self._frames += (HEADER.pack(b"R", len(head), len(request), len(body)), head, request, body)
        self._schedule()

    def flush(self, timeout: float = 10) -> bool:
        """Wait until everything put before this call is in the table."""
        if self._process is None or self._loop is None:
            return False
        with self._flush_lock:
            self._marker += 1
            marker = self._marker
            if threading.get_ident() == self._loop_thread:  # the loop can't send for us
                self._mark(marker)
                if not self._send_blocking():
                    return False
            else:
                try:
                    self._loop.call_soon_threadsafe(self._mark, marker)
                except RuntimeError:  # the loop is closed
                    return False
            return self._wait_for(marker, time.monotonic() + timeout)

    def stop(self, timeout: float = 10) -> None:
        """Send what is queued, let the child write it and end."""
        self._stopped = True
        process = self._process
        if process is None:
            return
        self._process = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_writer(self._out)
        self._send_blocking(process)
        os.close(self._out)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("journal: the writer process did not end in %s s", timeout)
            process.kill()
            process.wait()
        os.close(self._acks)

    def _mark(self, marker: int) -> None:
        self._frames.append(HEADER.pack(b"F", marker, 0, 0))
        self._schedule()

    def _schedule(self) -> None:
        if not self._waiting and self._loop is not None:
            self._waiting = True
            self._loop.call_soon(self._send)

    def _send(self) -> None:
        """Write the frames of this loop iteration (and any backlog) without blocking."""
        self._waiting = False
        if self._process is None:
            return
        if self._frames:
            self._backlog += b"".join(self._frames)
            self._frames.clear()
        if not self._backlog:
            return
        try:
            written = os.write(self._out, self._backlog)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:
            self._died()
            return
        del self._backlog[:written]
        assert self._loop is not None
        if self._backlog:
            self._loop.add_writer(self._out, self._send)
        else:
            self._loop.remove_writer(self._out)

    def _send_blocking(self, process: subprocess.Popen[bytes] | None = None) -> bool:
        """Write everything queued, waiting for the pipe (off the event loop's schedule)."""
        if self._frames:
            self._backlog += b"".join(self._frames)
            self._frames.clear()
        try:
            os.set_blocking(self._out, True)
            while self._backlog:
                del self._backlog[: os.write(self._out, self._backlog)]
        except BrokenPipeError:
            if process is None:
                self._died()
            return False
        finally:
            if self._out >= 0 and self._process is not None:
                os.set_blocking(self._out, False)
        return True

    def _wait_for(self, marker: int, deadline: float) -> bool:
        while self._acked < marker:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not select.select([self._acks], [], [], left)[0]:
                    return False
                answer = os.read(self._acks, ACK.size * 64)
            except (OSError, ValueError):  # the child died and its pipe was closed meanwhile
                return False
            if not answer:  # the child ended
                return False
            self._acked = ACK.unpack_from(answer, len(answer) - ACK.size)[0]
        return True

    def _died(self) -> None:
        process = self._process
        assert process is not None and self._loop is not None
        self._loop.remove_writer(self._out)
        self._process = None
        os.close(self._out)
        os.close(self._acks)
        code = process.wait()
        logger.warning("journal: the writer process ended (exit code %s)", code)
        self._restart()

    def _restart(self) -> None:
        if self._loop is not None and time.monotonic() - self._started_at >= self.restart_seconds:
            try:
                self._spawn()
            except OSError:  # no process to be had now (memory, limits): a later put tries again
                logger.exception("journal: the writer process could not be started")
                self._process = None


def open_writer(engine: Engine, *, keep: int) -> JournalProcess | JournalWriter:
    """The journal's writer for a server on ``engine``: a process of its own, or a thread in
    this one when the database is in this process's memory (SQLite ``:memory:``)."""
    if in_memory(engine):
        return JournalWriter(engine, keep=keep)
    return JournalProcess(engine, keep=keep)


def _frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload), 0, 0) + payload


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) < size:
        raise EOFError
    return data


def _record(fields: tuple[Any, ...], request: bytes, body: bytes, shared: Lru[bytes]) -> Record:
    """The record a frame describes; a shared answer looked up (or learned) by its number."""
    (at, method, path, query, headers, accounts, client, user, fault, answered, ref) = fields[:11]
    response_type, status, duration_ms = fields[11:]
    if ref is not None:
        number, known = ref
        if known:
            found = shared.get(number)
            if found is None:  # the two ends' memories are out of step: a defect
                logger.error("journal: a shared answer is missing; its row has no body")
            body = found or b""
        else:
            shared.put(number, body)
    note = RequestNote(accounts, client, user, fault, answered, None if ref is None else ref[0])
    return Record(
        at=datetime.fromtimestamp(at, UTC),
        method=method,
        path=path,
        query=query,
        headers=headers,
        note=note,
        request_chunks=[request] if request else [],
        request_size=len(request),
        response_chunks=[body] if body else [],
        response_size=len(body),
        response_type=response_type,
        status=status,
        duration_ms=duration_ms,
    )


def main(argv: list[str]) -> int:
    """The child: read frames from stdin until it ends, write the records, acknowledge flushes."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C and a service manager's SIGTERM reach the whole process group: the writer ends
    # when the server closes the pipe, after writing what it holds, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    acks = int(argv[0])
    stream = os.fdopen(0, "rb", buffering=PIPE_BYTES)
    try:
        kind, size, _, _ = HEADER.unpack(_read(stream, HEADER.size))
        if kind != b"C":
            raise SystemExit("journal: the configuration must come first")
        config = pickle.loads(_read(stream, size))  # noqa: S301 (the pipe from our own server)
    except EOFError:  # the server ended before it said anything
        return 0
    options = {} if config["interval"] is None else {"interval": config["interval"]}
    writer = JournalWriter(make_engine(config["url"]), keep=config["keep"], copies=False, **options)
    writer.start()  # its thread lowers its own priority
    lower_priority()  # and this one, which reads the pipe: the server's requests come first
    shared: Lru[bytes] = Lru(SHARED)
    try:
        while True:
            kind, head, request, body = HEADER.unpack(_read(stream, HEADER.size))
            if kind == b"R":
                fields = pickle.loads(_read(stream, head))  # noqa: S301 (as above)
                writer.put(_record(fields, _read(stream, request), _read(stream, body), shared))
            elif kind == b"F":
                if not writer.flush():  # the writer thread is gone: end, to be started anew
                    return 1
                os.write(acks, ACK.pack(head))
    except EOFError:
        pass
    finally:
        writer.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
