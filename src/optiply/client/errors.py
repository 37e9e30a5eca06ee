"""The client's exceptions, grouped by what the caller should do (style principle 7).

- ``RetriableError``: 429, 408, 502, 503, 504, timeouts, connection errors. Retry later (the
  client already retried GET, PATCH and DELETE).

  - ``AmbiguousWriteError``: a POST whose outcome is unknown (a timeout or reset after
    sending, any 5xx). Read back by a natural key; never re-POST blindly.

- ``FatalError``: 403, 405, 5xx other than the above, unusable answers. Stop the job.

  - ``AuthenticationError``: a 401 after one refresh, or credentials the token endpoint refused.
  - ``ConfigurationError`` (also a ``ValueError``): a bad argument, found before any I/O.

- ``RecordError``: 400, 404, 409, 413, 415 and other 4xx. Fail this record, go on with others.

  - ``NotFoundError``: 404 or 410 (for a DELETE, usually success).
  - ``ConflictError``: 409, a unique pair exists (adopt the existing row). A 409
    ``IDEMPOTENCY_KEY_IN_USE`` is a ``RetriableError`` instead: wait, the replay will come.
  - ``ValidationError``: 400 or 422, or a value that cannot be sent (NaN, a bad id).

Every error carries ``status``, ``code``, ``detail``, ``pointer``, ``parameter``, ``method`` and
``url`` of its first problem, and ``problems`` lists all of them. Nothing here ever holds a
request header, a request body or a token.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson

_RAW_TEXT_LIMIT = 500
_SECRET_PARAMETERS = frozenset(
    {"password", "client_secret", "access_token", "refresh_token", "token", "code"}
)
_RETRIABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
_OPERATION = re.compile(r"^/atomic:operations/([0-9]+)(?:/|$)")
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"  # 409: a request with the key is in flight; retry later
KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # 422: the key came with another request (a caller bug)


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem of an error response (one ``errors[*]`` entry, or the whole OAuth body)."""

    status: int | None = None
    code: str | None = None
    title: str | None = None
    detail: str = ""
    pointer: str | None = None
    parameter: str | None = None

    @property
    def operation(self) -> int | None:
        """The index of the atomic operation the pointer names (``/atomic:operations/3/...``).

        >>> ErrorDetail(pointer="/atomic:operations/3/data/attributes/price").operation
        3
        """
        match = _OPERATION.match(self.pointer or "")
        return int(match.group(1)) if match else None


class OptiplyError(Exception):
    """Base of every error the client raises.

    Attributes:
        status: The HTTP status, or None when no response was received.
        code: A stable error code (``INVALID_VALUE``, ``invalid_grant``, ...), when known.
        detail: A human sentence; never contains a secret.
        pointer: The JSON pointer of the culprit in the request document, when known.
        parameter: The offending query parameter, when known.
        method: The HTTP method of the failed request.
        url: The URL of the failed request, with secret-looking query values redacted.
        problems: Every problem the response listed, the first one first.
        operation: The index of the atomic operation the first problem names, if any.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        pointer: str | None = None,
        parameter: str | None = None,
        method: str | None = None,
        url: str | None = None,
        problems: tuple[ErrorDetail, ...] = (),
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.method = method
        self.url = url
        self.problems = problems or (ErrorDetail(status, code, None, detail, pointer, parameter),)
        self.operation = self.problems[0].operation
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [" ".join(str(p) for p in (self.status, self.code) if p is not None)]
        parts.append(self.detail)
        text = ": ".join(part for part in parts if part)
        if self.pointer:
            text += f" (at {self.pointer})"
        elif self.parameter:
            text += f" (parameter {self.parameter})"
        if len(self.problems) > 1:
            text += f" (+{len(self.problems) - 1} more)"
        if self.method and self.url:
            text += f" [{self.method} {self.url}]"
        return text

    @classmethod
    def parse(cls, response: httpx.Response, **extra: Any) -> Self:
        """This class, with every field read from ``response``; no classification.

        Args:
            response: A received response whose body has been read.
            **extra: More keyword arguments for the constructor (``retry_after``).
        """
        problems = parse_problems(response)
        first = problems[0]
        request = response.request
        return cls(
            first.detail,
            status=response.status_code,
            code=first.code,
            pointer=first.pointer,
            parameter=first.parameter,
            method=request.method,
            url=safe_url(request.url),
            problems=problems,
            **extra,
        )


class RetriableError(OptiplyError):
    """A transient failure: 429, 408, 502/503/504, a timeout or a connection error.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), when it said so.
    """

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **kwargs)


class AmbiguousWriteError(RetriableError):
    """A POST that may or may not have been applied; it is never re-sent automatically.

    Read back by a natural key (``remoteId``, the unique pair, ...) before creating again.
    """


class FatalError(OptiplyError):
    """A failure no other record will escape: stop the job (403, 405, most 5xx, bad answers)."""


class AuthenticationError(FatalError):
    """The credentials or the token were refused (a 401 after one refresh, a rejected grant)."""


class ConfigurationError(FatalError, ValueError):
    """A bad argument or setting, found before anything was sent."""


class RecordError(OptiplyError):
    """This request or record is at fault (400, 404, 409, 415, ...); other records may succeed."""


class NotFoundError(RecordError):
    """404 (or 410): the resource, or a resource it references, does not exist."""


class ConflictError(RecordError):
    """409: a unique pair exists already (supplierProducts, productCompositions)."""


class ValidationError(RecordError):
    """400 or 422: a value breaks a rule; ``pointer`` names the attribute when known."""


def error_class(status: int, *, idempotent: bool) -> type[OptiplyError]:
    """The class for an error status; a non-idempotent request that got a 5xx is ambiguous.

    >>> error_class(503, idempotent=True).__name__, error_class(503, idempotent=False).__name__
    ('RetriableError', 'AmbiguousWriteError')
    >>> error_class(409, idempotent=False).__name__
    'ConflictError'
    """
    if status >= 500 and not idempotent:
        return AmbiguousWriteError
    if status in _RETRIABLE_STATUSES:
        return RetriableError
    if status == 401:
        return AuthenticationError
    if status in (404, 410):
        return NotFoundError
    if status == 409:
        return ConflictError
    if status in (400, 422):
        return ValidationError
    if status in (403, 405) or not 400 <= status < 500:
        return FatalError
    return RecordError


def from_response(response: httpx.Response, *, idempotent: bool | None = None) -> OptiplyError:
    """The error for an unsuccessful response, classified by status (and method).

    Args:
        response: A received error response whose body has been read.
        idempotent: Whether repeating the request is harmless; by default every method but
            POST is. A 5xx to a non-idempotent request gives ``AmbiguousWriteError``.

    Returns:
        An instance of the class ``error_class`` picks, with every field filled in.
    """
    if idempotent is None:
        idempotent = response.request.method != "POST"
    cls = error_class(response.status_code, idempotent=idempotent)
    if cls is ConflictError and KEY_IN_USE in _codes(response):
        cls = RetriableError  # the first request with the key still runs: its replay will come
    if issubclass(cls, RetriableError):
        return cls.parse(response, retry_after=retry_after(response))
    return cls.parse(response)


def _codes(response: httpx.Response) -> set[str | None]:
    return {problem.code for problem in parse_problems(response)}


def parse_problems(response: httpx.Response) -> tuple[ErrorDetail, ...]:
    """Every problem of an error body: JSON:API ``errors``, an OAuth2 body, or raw text.

    For a JSON:API entry the detail is ``detail``, else ``meta.message``, else ``title``. For an
    OAuth2 body (``{"error", "error_description"}``) the code is ``error``. Other text is kept,
    cut to 500 characters; an empty body gives the reason phrase.
    """
    status = response.status_code
    try:
        body: Any = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            problems = tuple(_jsonapi_problem(entry, status) for entry in errors)
            return problems
        if "error" in body or "error_description" in body or "message" in body:
            detail = body.get("error_description") or body.get("message") or body.get("error")
            code = body.get("error")
            return (
                ErrorDetail(
                    status=status,
                    code=str(code) if code is not None else None,
                    detail=str(detail or ""),
                ),
            )
    text = response.text.strip() if response.content else ""
    if len(text) > _RAW_TEXT_LIMIT:
        text = text[: _RAW_TEXT_LIMIT - 3] + "..."
    return (ErrorDetail(status=status, detail=text or response.reason_phrase),)


def _jsonapi_problem(entry: Any, status: int) -> ErrorDetail:
    if not isinstance(entry, dict):
        return ErrorDetail(status=status, detail=str(entry))
    source = _mapping(entry.get("source"))
    meta = _mapping(entry.get("meta"))
    detail = (
        entry.get("detail") or meta.get("message") or entry.get("message") or entry.get("title")
    )
    try:
        entry_status = int(entry["status"])
    except (KeyError, TypeError, ValueError):
        entry_status = status
    return ErrorDetail(
        status=entry_status,
        code=_text(entry.get("code")),
        title=_text(entry.get("title")),
        detail=str(detail or ""),
        pointer=_text(source.get("pointer")),
        parameter=_text(source.get("parameter")),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    >>> retry_after(httpx.Response(429, headers={"Retry-After": "3"}))
    3.0
    >>> retry_after(httpx.Response(429)) is None
    True
    """
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def safe_url(url: httpx.URL | str) -> str:
    """``url`` with the values of secret-looking query parameters replaced by ``***``.

    >>> safe_url("https://h/api/auth/oauth/token?grant_type=refresh_token&refresh_token=abc")
    'https://h/api/auth/oauth/token?grant_type=refresh_token&refresh_token=***'
    """
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    items = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() in _SECRET_PARAMETERS for key, _ in items):
        return str(url)
    redacted = [(k, "***" if k.lower() in _SECRET_PARAMETERS else v) for k, v in items]
    return urlunsplit(parts._replace(query=urlencode(redacted, safe="[]*")))
