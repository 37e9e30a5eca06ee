"""The request journal: every request to ``/v1`` and ``/api/auth``, recorded off the request path.

``JournalMiddleware`` (pure ASGI) keeps references to what passes through: the request body
chunks as the app receives them, the response status and body chunks as the app sends them (up
to 64 KiB each, no copying), the timing, and the ``RequestNote`` that the route layer fills in
once it knows the caller. The finished record goes on an in-process queue; a ``JournalWriter``
thread turns records into rows (redaction, error code, truncation all happen there, never on
the request path) and inserts them in batches (every 100 ms, up to 500 rows a statement),
pruning each account to its newest N rows every couple of seconds.

Secrets never reach the table: query strings, form, JSON and multipart bodies and the
credential headers go through ``redact`` before a row is built.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from optiply.server.sandbox.redact import (
    _JSON_MEMBER,
    HIDDEN,
    SECRET_KEYS,
    redact_headers,
    redact_json,
    redact_query,
)
from optiply.server.storage import journal as storage
from optiply.server.storage.engine import make_engine
from optiply.server.storage.repository import Engine

logger = logging.getLogger(__name__)

BODY_LIMIT = 64 * 1024
"""Bytes of each body kept; longer bodies are cut there and flagged truncated."""
KEPT = BODY_LIMIT + 4096
"""Bytes of a body the middleware keeps: 4 KiB past the cut, so that a secret of the request
that the answer echoes is hidden whole even where the cut splits it."""
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


@dataclass(slots=True)
class RequestNote:
    """Who a request was for, filled in by the route layer (no extra queries)."""

    account_ids: tuple[int, ...] = ()
    client_id: str | None = None
    username: str | None = None
    fault_id: int | None = None
    answered: int | None = None  # set by a fault rule: the status the client saw (0: none)


def note_of(scope: Scope) -> RequestNote | None:
    """The request's note when the journal is on (None otherwise: nothing to fill in)."""
    state = scope.get("state")
    return None if state is None else state.get(NOTE_KEY)


@dataclass(slots=True)
class _Record:
    """What the middleware saw of one request; turned into a row by the writer thread."""

    at: datetime
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    note: RequestNote
    request_chunks: list[bytes | memoryview] = field(default_factory=list)
    request_size: int = 0
    response_chunks: list[bytes | memoryview] = field(default_factory=list)
    response_size: int = 0
    buffers: list[bytearray] | None = None  # from the writer's pool, handed back once written
    response_type: str | None = None
    status: int = 0
    duration_ms: float = 0.0


class JournalMiddleware:
    """Pure-ASGI middleware recording requests to /v1 and /api/auth on the writer's queue."""

    def __init__(self, app: ASGIApp, writer: JournalWriter) -> None:
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
        record = _Record(
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
            if record.response_size >= COPY_FROM:
                record.response_chunks = [self.writer.buffers.copy(record, record.response_chunks)]
            if record.request_size >= COPY_FROM:
                record.request_chunks = [self.writer.buffers.copy(record, record.request_chunks)]
            self.writer.put(record)


class _Buffers:
    """Reusable buffers of ``KEPT`` bytes for large bodies (``COPY_FROM``), shared by the event
    loop (which takes them) and the writer thread (which gives them back once the batch is
    written). Deque appends and pops are atomic: no lock."""

    def __init__(self) -> None:
        self._free: deque[bytearray] = deque()

    def copy(self, record: _Record, chunks: list[bytes | memoryview]) -> memoryview:
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


def _own_engine(engine: Engine) -> Engine:
    """An engine (a pool) of the writer's own on ``engine``'s database.

    Not the server's pool: a pool that the writer also uses holds two connections or more, the
    server then takes them in turn, and on SQLite every commit empties the cache of the
    connections that did not make it: POSTs read their pages from the file again (23 reads a
    request instead of 3). An in-memory SQLite database is the server's engine's alone: that
    one is shared."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine
    return make_engine(url.render_as_string(hide_password=False))


class JournalWriter:
    """The thread that writes records to the table in batches and prunes it.

    The request path only appends to a deque; the thread wakes every 100 ms (or when a flush
    is asked for), takes everything queued, and writes it. It never wakes per request: each
    wake-up takes the GIL from the event loop, and per-request hand-offs cost more than the
    writing itself.
    """

    def __init__(self, engine: Engine, *, keep: int, interval: float = BATCH_SECONDS) -> None:
        self.engine = _own_engine(engine)
        self.keep = keep
        self.interval = interval
        self._pending: deque[_Record] = deque()
        self._waiters: deque[threading.Event] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._touched: set[int | None] = set()
        self.buffers = _Buffers()
        self.written = 0
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, record: _Record) -> None:
        """Queue a record (from the event loop; never blocks)."""
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
        next_prune = time.monotonic() + PRUNE_SECONDS
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping
            waiters = []
            while self._waiters:
                waiters.append(self._waiters.popleft())
            if not self._pending:
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


# --- records to rows (on the writer thread) ---------------------------------------------------

_MULTIPART_SECRET = re.compile(
    rb'(name="(?:' + b"|".join(k.encode() for k in SECRET_KEYS) + rb')"[^\r\n]*\r\n'
    rb"(?:[^\r\n]+\r\n)*\r\n)(.*?)(?=\r\n--|\Z)",
    re.IGNORECASE | re.DOTALL,
)

_JSON_START = re.compile(rb"\s*[{\[]")
_SECRET_NAMES = b"|".join(re.escape(key.encode()) for key in sorted(SECRET_KEYS))
_QUOTED_KEY = re.compile(rb'"(?:' + _SECRET_NAMES + rb')"')  # searched in lower-case text
_KEY_EQUALS = re.compile(rb"(?:" + _SECRET_NAMES + rb")=")  # searched in lower-case text
_URL_SECRET = re.compile(
    rb"((?<=[?&])(?:" + b"|".join(k.encode() for k in SECRET_KEYS) + rb")=)[^&\"\s#\\]*",
    re.IGNORECASE,
)


def _body(
    raw: bytes | memoryview,
    content_type: str | None,
    echoed: tuple[bytes, ...] = (),
    *,
    scan: bool = True,
) -> tuple[bytes | memoryview, bool]:
    """A body as stored: its first 64 KiB, secrets hidden; and whether it was cut.

    With ``scan``, every kind of secret is looked for (cheap checks first: JSON bodies are
    parsed only when they name a secret member, form redaction runs only on bodies that are no
    JSON). Without it (the /v1 answers, which hold only what the request sent), only the
    ``echoed`` values are hidden: the secrets of the request's query and body. A body with
    nothing to hide is not copied (its first 64 KiB are a view of it).
    """
    truncated = len(raw) > BODY_LIMIT
    if not scan and not echoed:
        return (memoryview(raw)[:BODY_LIMIT] if truncated else raw), truncated
    # An echoed secret that the cut would split is hidden before the cut (``KEPT``).
    hidden = bytes(raw[: BODY_LIMIT + len(echoed[0])] if echoed else raw[:BODY_LIMIT])
    if not hidden:
        return b"", False
    if scan:
        hidden = _scanned(hidden, content_type)
    for value in echoed:
        hidden = hidden.replace(value, HIDDEN.encode())
    if len(hidden) > BODY_LIMIT:  # "***" is longer than a one-letter secret
        hidden, truncated = hidden[:BODY_LIMIT], True
    return hidden, truncated


def _joined(chunks: list[bytes | memoryview]) -> bytes | memoryview:
    """The body the chunks make up (the one chunk itself when there is one: no copy)."""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _scanned(hidden: bytes, content_type: str | None) -> bytes:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    lowered = hidden.lower()
    if kind == "multipart/form-data":
        hidden = _MULTIPART_SECRET.sub(lambda m: m.group(1) + HIDDEN.encode(), hidden)
    elif not _JSON_START.match(hidden):
        # A form (by its type, or a body sent with a wrong or missing Content-Type).
        hidden = redact_query(hidden.decode("latin-1")).encode("latin-1")
    if _QUOTED_KEY.search(lowered):  # a JSON member named like a secret
        hidden = redact_json(hidden)
    if b"=" in lowered and _KEY_EQUALS.search(lowered):  # a URL with a secret parameter
        hidden = _URL_SECRET.sub(b"\\1" + HIDDEN.encode(), hidden)
    return hidden


def _echoed(query: str, body: bytes) -> tuple[bytes, ...]:
    """The secret values a request sent (query string, form or JSON body), as an answer may
    spell them (raw, decoded, re-encoded, JSON-escaped); longest first. Values under 4
    characters are not looked for: they would hide innocent text, and reveal little."""
    values: set[str] = set()
    is_json = _JSON_START.match(body) is not None
    for text in (query, "" if is_json else body.decode("latin-1")):
        for part in text.split("&"):
            key, equals, value = part.partition("=")
            if equals and unquote_plus(key).strip().casefold() in SECRET_KEYS:
                plain = unquote_plus(value)
                values.update({value, plain, quote(plain, safe=""), quote_plus(plain)})
    if is_json:
        try:
            values.update(_secret_members(orjson.loads(body)))
        except orjson.JSONDecodeError:
            for match in _JSON_MEMBER.finditer(body):
                values.add(match.group(2).decode("utf-8", errors="replace").strip('"'))
    found = {v.encode() for v in values if len(v) >= 4}
    found |= {orjson.dumps(v)[1:-1] for v in values if len(v) >= 4}
    return tuple(sorted(found, key=len, reverse=True))


def _secret_members(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).casefold() in SECRET_KEYS and isinstance(item, str | int | float):
                found.add(str(item))
            else:
                found |= _secret_members(item)
    elif isinstance(value, list):
        for item in value:
            found |= _secret_members(item)
    return found


def _clean(text: str) -> str:
    """Text PostgreSQL accepts: no NUL characters."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _error_code(status: int, body: bytes | memoryview) -> str | None:
    if status < 400 or body[:1] != b"{":
        return None
    try:
        document = orjson.loads(body[:BODY_LIMIT])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    errors = document.get("errors")
    code: Any = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
    elif isinstance(document.get("error"), str):
        code = document["error"]
    return None if code is None else _clean(str(code))[:64]


def resource_of(path: str) -> str:
    """The resource a path is about, for the stats.

    >>> resource_of("/v1/products/5/supplierProducts"), resource_of("/api/auth/oauth/token")
    ('products', 'oauth/token')
    """
    if path.startswith("/v1/"):
        return path[4:].split("/", 1)[0][:64] or "(none)"
    return path.removeprefix("/api/auth/")[:64] or "(none)"


def row_of(record: _Record) -> dict[str, Any]:
    """The table row of a record, secrets hidden."""
    headers = redact_headers(record.headers)
    query = record.query.decode("latin-1")
    shown_query = redact_query(query)
    raw_request = _joined(record.request_chunks)
    request_body, request_truncated = _body(raw_request, headers.get("content-type"))
    echoed: tuple[bytes, ...] = ()
    if shown_query != query or request_body != raw_request[:BODY_LIMIT]:
        echoed = _echoed(query, bytes(raw_request[:BODY_LIMIT]))  # the request held a secret
    raw_response = _joined(record.response_chunks)
    response_body, response_truncated = _body(
        raw_response,
        record.response_type,
        echoed,
        scan=not record.path.startswith("/v1/"),  # /api/auth answers mint secrets: scan those
    )
    note = record.note
    accounts = note.account_ids
    return {
        "at": record.at,
        "account_id": accounts[0] if len(accounts) == 1 else None,
        "account_ids": ("," + ",".join(map(str, accounts)) + ",")[:255] if accounts else None,
        "method": _clean(record.method)[:16],
        "path": _clean(record.path),
        "resource": _clean(resource_of(record.path)),
        "query": _clean(shown_query),
        "status": record.status if note.answered is None else note.answered,
        "duration_ms": record.duration_ms,
        "client_id": None if note.client_id is None else _clean(note.client_id)[:255],
        "username": None if note.username is None else _clean(note.username)[:255],
        "request_headers": _clean(orjson.dumps(headers).decode()),
        "request_body": request_body,
        "request_truncated": request_truncated,
        "response_body": response_body,
        "response_truncated": response_truncated,
        "error_code": _error_code(record.status, raw_response),
        "fault": note.fault_id,
    }
