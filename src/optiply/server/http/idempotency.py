r"""``Idempotency-Key`` on the writes of ``/v1`` (an extension; docs/extensions.md).

The header is read before anything else (400 with ``source.header`` when it is not 1 to 255
printable ASCII characters); the key is claimed in the write's transaction right after the
token and the account scope are known, and the answer stored in that same transaction
(``service.idempotency``). A replay is the stored status, ``Content-Type``, ``Location`` and
body, with ``Idempotent-Replayed: true``.

The value is taken as sent (``abc``, Stripe's form) or as the RFC 8941 string the IETF draft
specifies (``"abc"``), which is the same key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from optiply.jsonapi.errors import ErrorCode
from optiply.jsonapi.extensions import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, MAX_KEY_LENGTH
from optiply.query import QueryError
from optiply.server.http.errors import HANDLERS, ApiError
from optiply.server.http.headers import API_HEADERS
from optiply.server.service import idempotency
from optiply.server.service.crud import Context
from optiply.server.service.errors import DomainError
from optiply.server.storage.contention import DatabaseError
from optiply.server.storage.repository import Connection, Engine

logger = logging.getLogger("optiply.server")

Transaction = Callable[[Request], AbstractContextManager[tuple[Connection, Context]]]
"""The route layer's transaction: authenticated, scoped, committed on a normal exit."""
Act = Callable[[Connection, Context], Response]
"""The write itself, in that transaction; its answer."""

_REPLAYED = (IDEMPOTENT_REPLAYED.lower().encode(), b"true")
_PURGE_EVERY = 60.0  # seconds between purges of expired keys in a process, at most
_REFUSALS = (DomainError, QueryError, ApiError)  # what a write refuses with (4xx, or compat 500)


def read_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, None when it has none.

    Raises:
        ApiError: 400 ``INVALID_IDEMPOTENCY_KEY`` (``source.header``) for a malformed key or
            several of them.
    """
    values = request.headers.getlist(IDEMPOTENCY_KEY)
    if not values:
        return None
    if len(values) > 1:
        raise _invalid(f"send one {IDEMPOTENCY_KEY} header, not {len(values)}")
    return parse_key(values[0])


def parse_key(text: str) -> str:
    r"""The key of an ``Idempotency-Key`` value: as sent, or unquoted when it is an RFC 8941
    string (``\"`` and ``\\`` escaped).

    >>> parse_key('"8e03-40d5"'), parse_key("8e03-40d5"), parse_key(r'"a \"b\""')
    ('8e03-40d5', '8e03-40d5', 'a "b"')
    >>> parse_key("caf\xe9")
    Traceback (most recent call last):
    ...
    optiply.server.http.errors.ApiError: Idempotency-Key must be 1 to 255 printable ASCII characters
    """
    key = text.strip(" \t")
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = _unquote(key[1:-1])
    if not 0 < len(key) <= MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise _invalid(
            f"{IDEMPOTENCY_KEY} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def answer_of(response: Response) -> idempotency.Answer:
    """What a replay of ``response`` sends."""
    headers = response.headers
    return idempotency.Answer(
        response.status_code,
        headers.get("content-type"),
        headers.get("location"),
        bytes(response.body),
    )


def replay(answer: idempotency.Answer) -> Response:
    """The stored answer again, marked ``Idempotent-Replayed: true``."""
    response = Response(answer.body, answer.status, media_type=answer.content_type)
    if answer.location is not None:
        response.headers["location"] = answer.location
    response.raw_headers.extend((*API_HEADERS, _REPLAYED))
    return response


class Idempotency:
    """The extension in one server process: the keys' lifetime and the purge of expired ones."""

    def __init__(self, engine: Engine, ttl: int) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl)
        self._purge_every = min(float(ttl), _PURGE_EVERY)
        self._next_purge = 0.0  # time.monotonic() of the next purge

    async def write(
        self, request: Request, key: str, body: bytes, transaction: Transaction, act: Act
    ) -> Response:
        """Run the write ``act`` under ``key``: replay, refuse, or write and store the answer."""
        query: bytes = request.scope.get("query_string", b"")
        request_print = idempotency.fingerprint(request.method, request.url.path, query, body)
        held: idempotency.Claim | None = None
        try:
            with transaction(request) as (connection, context):
                claimed = idempotency.claim(connection, context, key, request_print, self.ttl)
                if isinstance(claimed, idempotency.Answer):
                    return replay(claimed)
                held = claimed
                response = act(connection, context)
                idempotency.complete(connection, held, answer_of(response))
        except _REFUSALS as error:
            if held is None:  # refused before the key was held (or by the key itself)
                raise
            response = await _render(request, error)
            if 400 <= response.status_code < 500:
                self._store(held, answer_of(response))
        self._purge()
        return response

    def _store(self, held: idempotency.Claim, answer: idempotency.Answer) -> None:
        try:
            with self.engine.begin() as connection:
                idempotency.store_refusal(connection, held, answer, datetime.now(UTC))
        except DatabaseError:  # the refusal stands; a retry is handled afresh
            logger.warning("idempotency: a refusal could not be stored", exc_info=True)

    def _purge(self) -> None:
        """Delete the expired keys, at most every minute (or TTL) per process."""
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_every
        try:
            with self.engine.begin() as connection:
                idempotency.purge(connection, datetime.now(UTC))
        except DatabaseError:  # busy: the next purge takes them
            logger.warning("idempotency: expired keys could not be purged", exc_info=True)


async def _render(request: Request, error: Exception) -> Response:
    """``error`` as its exception handler answers it."""
    for kind in type(error).__mro__:
        handler = HANDLERS.get(kind)
        if handler is not None:
            return await handler(request, error)
    raise error


def _unquote(text: str) -> str:
    """The content of an RFC 8941 string (without its quotes); a NUL, which fails the
    character check, when a quote or backslash is not escaped as it should be."""
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            if char not in '"\\':
                return "\x00"
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return "\x00"
        else:
            out.append(char)
    return "\x00" if escaped else "".join(out)


def _invalid(detail: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_IDEMPOTENCY_KEY, detail, header=IDEMPOTENCY_KEY)
