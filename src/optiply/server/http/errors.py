"""Exceptions to error documents: the only place HTTP statuses of errors are chosen (§6)."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from optiply.jsonapi.errors import ErrorCode, ErrorObject, error_document
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import QueryError
from optiply.server.auth.tokens import AuthError
from optiply.server.http.headers import API_HEADERS
from optiply.server.sandbox.controls import FaultFired
from optiply.server.sandbox.limits import RateLimited
from optiply.server.service.errors import DomainError
from optiply.server.storage.contention import DatabaseError, is_contention

logger = logging.getLogger("optiply.server")

STATUS = {
    ErrorCode.INVALID_VALUE: 400,
    ErrorCode.REQUIRED: 400,
    ErrorCode.INVALID_DOCUMENT: 400,
    ErrorCode.INVALID_QUERY: 400,
    ErrorCode.INVALID_ID: 400,
    ErrorCode.ACCOUNT_REQUIRED: 400,
    ErrorCode.ACCOUNT_FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.REFERENCE_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.BUSY: 503,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INVALID_IDEMPOTENCY_KEY: 400,
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
}
RETRY_AFTER_BUSY = "1"  # seconds
# When one request has problems of several kinds, the response takes the most specific status.
_PRECEDENCE = (403, 404, 409, 400)


class ApiError(Exception):
    """An HTTP-level problem (media type, path id, body size) raised by the HTTP layer."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        parameter: str | None = None,
        header: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.error = ErrorObject(STATUS[code], code, detail, parameter=parameter, header=header)


def errors_response(errors: list[ErrorObject], headers: dict[str, str] | None = None) -> Response:
    """A JSON:API error document; the status is the most telling one of ``errors``."""
    statuses = {error.status for error in errors}
    status = next((s for s in _PRECEDENCE if s in statuses), errors[0].status)
    shown = [error for error in errors if error.status == status]
    response = Response(orjson.dumps(error_document(shown)), status, headers, media_type=MEDIA_TYPE)
    response.raw_headers.extend(API_HEADERS)  # nosniff, and errors are never cached either
    return response


async def domain_error(request: Request, exc: Exception) -> Response:
    """Business-rule refusals: 400, 403, 404 or 409 with pointers; in an account in production
    compat, the input the hosted API fails on is answered 500 as there (reference §3.3)."""
    assert isinstance(exc, DomainError)
    if any(p.fails_hosted for p in exc.problems) and request.app.state.controls.production(request):
        strict = next(p for p in exc.problems if p.fails_hosted)
        return _production_500(strict.detail)
    return errors_response(
        [
            ErrorObject(STATUS[p.code], p.code, p.detail, p.pointer, p.parameter, p.header)
            for p in exc.problems
        ]
    )


def _production_500(detail: str) -> Response:
    error = ErrorObject(500, ErrorCode.INTERNAL_ERROR, "internal server error").to_json()
    error["meta"] = {"message": "internal server error", "compat": "production", "strict": detail}
    response = Response(orjson.dumps({"errors": [error]}), 500, media_type=MEDIA_TYPE)
    response.raw_headers.extend(API_HEADERS)
    return response


async def fault_fired(_request: Request, exc: Exception) -> Response:
    """A sandbox fault rule's answer: its status as a JSON:API error (``Retry-After`` when the
    rule has one). For the actions that own the connection, a placeholder the fault middleware
    never sends."""
    assert isinstance(exc, FaultFired)
    rule = exc.rule
    status = rule.status or 503
    detail = f"sandbox fault rule {rule.id} answered {status} (match {exc.ordinal})"
    headers = None if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
    return errors_response([ErrorObject(status, ErrorCode.SANDBOX_FAULT, detail)], headers)


async def rate_limited(_request: Request, exc: Exception) -> Response:
    """Over the account's rate limit: 429 with ``Retry-After``."""
    assert isinstance(exc, RateLimited)
    error = ErrorObject(
        429,
        ErrorCode.RATE_LIMITED,
        f"more than {exc.limit:g} requests per second with this token; retry after "
        f"{exc.retry_after} s",
    )
    return errors_response([error], {"Retry-After": str(exc.retry_after)})


async def query_error(_request: Request, exc: Exception) -> Response:
    """Bad filter, sort or page parameters: 400 with ``source.parameter``."""
    assert isinstance(exc, QueryError)
    return errors_response(
        [
            ErrorObject(STATUS[p.code], p.code, p.detail, p.pointer, p.parameter, p.header)
            for p in exc.problems
        ]
    )


async def api_error(_request: Request, exc: Exception) -> Response:
    """HTTP-level problems."""
    assert isinstance(exc, ApiError)
    return errors_response([exc.error])


async def auth_error(_request: Request, exc: Exception) -> Response:
    """401/403 from the security layer, OAuth2-style (§2.5; docs/behaviour.md, Authentication)."""
    assert isinstance(exc, AuthError)
    response = Response(
        orjson.dumps(exc.body()),
        exc.status,
        {"WWW-Authenticate": exc.www_authenticate},
        media_type="application/json",
    )
    response.raw_headers.extend(API_HEADERS)
    return response


async def http_exception(_request: Request, exc: Exception) -> Response:
    """Routing misses (404) and wrong methods (405) as JSON:API errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ErrorObject(405, ErrorCode.METHOD_NOT_ALLOWED, "method not allowed on this path")
    elif exc.status_code == 404:
        error = ErrorObject(404, ErrorCode.NOT_FOUND, "no such path")
    else:
        error = ErrorObject(exc.status_code, ErrorCode.INVALID_DOCUMENT, str(exc.detail))
    return errors_response([error], dict(exc.headers or {}))


async def database_error(request: Request, exc: Exception) -> Response:
    """A lock timeout, deadlock or serialization failure: 503 with ``Retry-After`` (nothing
    was written: the transaction rolled back); any other database error is a real 500."""
    if not is_contention(exc):
        return await unexpected_error(request, exc)
    logger.warning("database contention on %s %s: answered 503", request.method, request.url.path)
    error = ErrorObject(
        503, ErrorCode.BUSY, "the database is busy with other writes; retry the request"
    )
    return errors_response([error], {"Retry-After": RETRY_AFTER_BUSY})


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A real 500: logged with its traceback, answered without anything internal."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return errors_response([ErrorObject(500, ErrorCode.INTERNAL_ERROR, "internal server error")])


HANDLERS = {
    DomainError: domain_error,
    QueryError: query_error,
    ApiError: api_error,
    AuthError: auth_error,
    HTTPException: http_exception,
    DatabaseError: database_error,
    FaultFired: fault_fired,
    RateLimited: rate_limited,
    Exception: unexpected_error,
}
