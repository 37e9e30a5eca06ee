"""JSON:API error objects (§6.2): stable codes, and a pointer or parameter to the culprit.

``Problem`` is what the query parser (``QueryError``) and the service layer (``DomainError``)
report; the HTTP layer turns each into an ``ErrorObject`` with the status its code maps to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes; never reused for another meaning."""

    INVALID_VALUE = "INVALID_VALUE"  # an attribute value breaks a rule
    REQUIRED = "REQUIRED"  # a required attribute is missing on POST
    INVALID_DOCUMENT = "INVALID_DOCUMENT"  # malformed JSON or document structure
    INVALID_QUERY = "INVALID_QUERY"  # a filter, sort or page parameter
    INVALID_ID = "INVALID_ID"  # a path id that is not a positive integer
    NOT_FOUND = "NOT_FOUND"
    REFERENCE_NOT_FOUND = "REFERENCE_NOT_FOUND"  # a referenced id is not in the account
    CONFLICT = "CONFLICT"  # a unique pair exists already
    ACCOUNT_REQUIRED = "ACCOUNT_REQUIRED"  # several accounts and no way to choose
    ACCOUNT_FORBIDDEN = "ACCOUNT_FORBIDDEN"  # an account the user cannot reach
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"  # Accept names no media type the answer could have
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    BUSY = "BUSY"  # the database is busy with other writes (503, Retry-After): retry
    RATE_LIMITED = "RATE_LIMITED"  # over the account's sandbox rate limit (429, Retry-After)
    SANDBOX_FAULT = "SANDBOX_FAULT"  # answered by a sandbox fault rule (any status)
    # The idempotency extension (optiply.jsonapi.extensions; docs/extensions.md):
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"  # not 1-255 printable ASCII characters
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"  # a request with the key is in flight
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # the key came with another request


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request, pointing at the attribute, parameter or header at fault.

    >>> Problem.query("sort", "unknown attribute 'x' of products")
    Problem(code=<ErrorCode.INVALID_QUERY: 'INVALID_QUERY'>, detail="unknown attribute 'x' of \
products", pointer=None, parameter='sort', fails_hosted=False, header=None)
    """

    code: ErrorCode
    detail: str
    pointer: str | None = None  # JSON pointer into the request document
    parameter: str | None = None  # the offending query parameter
    # Input the hosted API answers 500 to (a non-numeric id, a float for an integer, a date it
    # cannot parse; reference §3.3): an account in production compat answers so too.
    fails_hosted: bool = False
    header: str | None = None  # the offending request header (JSON:API 1.1 source.header)

    @classmethod
    def query(cls, parameter: str, detail: str) -> Problem:
        """A query-string problem: ``INVALID_QUERY`` at ``parameter``."""
        return cls(ErrorCode.INVALID_QUERY, detail, parameter=parameter)


@dataclass(frozen=True, slots=True)
class ErrorObject:
    """One entry of an ``errors`` array."""

    status: int
    code: ErrorCode
    detail: str
    pointer: str | None = None  # JSON pointer into the request document
    parameter: str | None = None  # the offending query parameter
    header: str | None = None  # the offending request header

    def to_json(self) -> dict[str, Any]:
        """The wire form; ``meta.message`` repeats the detail for clients that read it there."""
        body: dict[str, Any] = {
            "status": str(self.status),
            "code": self.code.value,
            "title": TITLES.get(self.status, "Error"),
            "detail": self.detail,
        }
        if self.pointer is not None:
            body["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            body["source"] = {"parameter": self.parameter}
        elif self.header is not None:
            body["source"] = {"header": self.header}
        body["meta"] = {"message": self.detail}
        return body


def error_document(errors: list[ErrorObject]) -> dict[str, Any]:
    """A top-level error document."""
    return {"errors": [error.to_json() for error in errors]}
