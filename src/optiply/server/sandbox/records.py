"""A recorded request turned into a journal row, on the writer thread: secrets hidden (query,
form, JSON and multipart bodies, credential headers, secrets an answer echoes), bodies cut at
64 KiB and flagged, the JSON:API error code, the resource for the stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import orjson

from optiply.server.sandbox.redact import (
    _JSON_MEMBER,
    HIDDEN,
    SECRET_KEYS,
    redact_headers,
    redact_json,
    redact_query,
)
from optiply.server.storage.caches import Lru
from optiply.server.storage.journal_writes import BODY_KEY

BODY_LIMIT = 64 * 1024
"""Bytes of each body kept; longer bodies are cut there and flagged truncated."""
KEPT = BODY_LIMIT + 4096
"""Bytes of a body the middleware keeps: 4 KiB past the cut, so that a secret of the request
that the answer echoes is hidden whole even where the cut splits it."""


@dataclass(slots=True)
class RequestNote:
    """Who a request was for, filled in by the route layer (no extra queries)."""

    account_ids: tuple[int, ...] = ()
    client_id: str | None = None
    username: str | None = None
    fault_id: int | None = None
    answered: int | None = None  # set by a fault rule: the status the client saw (0: none)
    # The response body is the page cache's entry under this key, alive anyway: the journal
    # holds it rather than copy it, and stores it as it stored the same page before.
    body_key: object | None = None


@dataclass(slots=True)
class Record:
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


def joined(chunks: list[bytes | memoryview]) -> bytes | memoryview:
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


_SEEN_HEADERS: Lru[tuple[dict[str, str], str]] = Lru(256)  # the writer thread's own


def _headers(raw: list[tuple[bytes, bytes]]) -> tuple[dict[str, str], str]:
    """Request headers with credentials hidden, as a mapping and as the stored JSON text.

    A client sends the same headers request after request (its token included): those seen
    lately are looked up, not redacted and serialized again."""
    key = tuple(raw)
    seen = _SEEN_HEADERS.get(key)
    if seen is None:
        headers = redact_headers(raw)
        seen = (headers, _clean(orjson.dumps(headers).decode()))
        _SEEN_HEADERS.put(key, seen)
    return seen


def row_of(record: Record) -> dict[str, Any]:
    """The table row of a record, secrets hidden."""
    headers, headers_text = _headers(record.headers)
    query = record.query.decode("latin-1")
    shown_query = redact_query(query)
    raw_request = joined(record.request_chunks)
    request_body, request_truncated = _body(raw_request, headers.get("content-type"))
    echoed: tuple[bytes, ...] = ()
    if shown_query != query or request_body != raw_request[:BODY_LIMIT]:
        echoed = _echoed(query, bytes(raw_request[:BODY_LIMIT]))  # the request held a secret
    raw_response = joined(record.response_chunks)
    response_body, response_truncated = _body(
        raw_response,
        record.response_type,
        echoed,
        scan=not record.path.startswith("/v1/"),  # /api/auth answers mint secrets: scan those
    )
    note = record.note
    accounts = note.account_ids
    return {
        # The same page stores the same way unless this request's own secrets were hidden in it.
        BODY_KEY: None if echoed else note.body_key,
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
        "request_headers": headers_text,
        "request_body": request_body,
        "request_truncated": request_truncated,
        "response_body": response_body,
        "response_truncated": response_truncated,
        "error_code": _error_code(record.status, raw_response),
        "fault": note.fault_id,
    }
