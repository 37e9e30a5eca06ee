"""When a request is sent again: what a failure means, and how long to wait before the retry.

Transient failures (429 honouring ``Retry-After``, 408, 502, 503, 504, timeouts and
connection errors) are retried with exponential backoff and full jitter, for GET, PATCH and
DELETE. A POST is re-sent only when it is *replayable*: it carries an ``Idempotency-Key`` and
the server honours keys (it advertises the idempotency extension; docs/extensions.md). Then a
retry with the same key and bytes is answered by the server's replay of the first outcome, so
an unknown outcome (a timeout or reset after sending, any 5xx: ``AmbiguousWriteError``) is
retried like any transient failure, and so is a 409 ``IDEMPOTENCY_KEY_IN_USE``. Otherwise (the
hosted API, ``--no-extensions``) a POST is never re-sent: ``AmbiguousWriteError`` goes to the
caller, who reads back before creating again. The send loops of ``optiply.client.send`` ask
``Retries.delay`` after every failure.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import httpx

from optiply.client.errors import (
    AmbiguousWriteError,
    AuthenticationError,
    ConfigurationError,
    FatalError,
    OptiplyError,
    RetriableError,
)

logger = logging.getLogger("optiply.client")

# Failures that happen before a byte of the request left: a POST can safely be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures after the request may have reached the server: a POST's outcome is then unknown.
_UNKNOWN_OUTCOME = (*_TRANSIENT, httpx.DecodingError)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, for retries.

    Retry ``n`` (from 0) waits a uniformly random time between 0 and
    ``min(max_delay, initial * multiplier ** n)``. A ``Retry-After`` from the server is
    waited exactly instead; one longer than ``max_delay`` is not waited for at all: the error
    is raised at once, carrying ``retry_after``.
    """

    initial: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if not (self.initial >= 0 and self.multiplier >= 1 and self.max_delay >= 0):
            raise ConfigurationError("backoff needs initial >= 0, multiplier >= 1, max_delay >= 0")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (from 0)."""
        try:
            return min(self.max_delay, self.initial * self.multiplier**attempt)
        except OverflowError:
            return self.max_delay

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt``, or None to give up now.

        >>> Backoff(initial=1, max_delay=10).delay(5, retry_after=3.0)
        3.0
        >>> Backoff(max_delay=10).delay(0, retry_after=60.0) is None
        True
        >>> 0 <= Backoff(initial=1).delay(2) <= 4
        True
        """
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay else None
        return random.uniform(0, self.ceiling(attempt))  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True, slots=True)
class Retries:
    """How often and after how long a failed request is sent again."""

    max_retries: int
    backoff: Backoff

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError("max_retries must not be negative")

    def delay(
        self,
        error: OptiplyError,
        attempt: int,
        method: str,
        path: str,
        *,
        replayable: bool = False,
    ) -> float | None:
        """Seconds to wait before sending the request again, or None to raise ``error``.

        ``replayable``: the request carries an ``Idempotency-Key`` the server honours, so
        sending it again cannot write twice (a POST, or a write whose outcome is unknown).
        """
        if attempt >= self.max_retries:
            return None
        if replayable:
            if not (isinstance(error, RetriableError) or unknown_outcome(error, method)):
                return None
        elif (
            not isinstance(error, RetriableError)
            or isinstance(error, AmbiguousWriteError)
            or method == "POST"
        ):
            return None
        retry_after = error.retry_after if isinstance(error, RetriableError) else None
        delay = self.backoff.delay(attempt, retry_after)
        if delay is not None:
            logger.info(
                "retrying %s %s in %.2f s after %s (retry %d of %d)",
                method,
                path,
                delay,
                error.status or error.detail.split(":", 1)[0],
                attempt + 1,
                self.max_retries,
            )
        return delay


def unknown_outcome(error: OptiplyError, method: str) -> bool:
    """Whether a write may have been applied although it failed: ``AmbiguousWriteError``, or a
    500 (any 5xx not retried anyway) answered to a PATCH or DELETE.

    >>> unknown_outcome(FatalError("boom", status=500), "PATCH")
    True
    >>> unknown_outcome(FatalError("forbidden", status=403), "PATCH")
    False
    """
    if isinstance(error, AmbiguousWriteError):
        return True
    return (
        method in ("PATCH", "DELETE")
        and isinstance(error, FatalError)
        and not isinstance(error, AuthenticationError)
        and (error.status or 0) >= 500
    )


def transport_error(
    error: httpx.RequestError, method: str, url: str, *, api_request: bool
) -> OptiplyError:
    """The client error for an exception raised while sending (``method``, ``url``: the
    request that failed; ``api_request``: it was the API request, not a token request)."""
    sent = api_request and not isinstance(error, _NOT_SENT)
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if sent and method == "POST" and isinstance(error, _UNKNOWN_OUTCOME):
        return AmbiguousWriteError(
            f"{detail}; the POST may have been applied: read back before creating again",
            method=method,
            url=url,
        )
    if isinstance(error, _TRANSIENT):
        return RetriableError(detail, method=method, url=url)
    return FatalError(detail, method=method, url=url)
