"""``OptiplyClient`` and ``AsyncOptiplyClient``: typed CRUD and paging over ``httpx``.

Both clients keep connections alive, send ``accountId``/``couplingId`` on every request, and
retry transient failures (429 honouring ``Retry-After``, 408, 502, 503, 504, timeouts and
connection errors) with exponential backoff and full jitter, but only for GET, PATCH and
DELETE. A POST is never re-sent: when its outcome is unknown (a timeout or reset after sending,
any 5xx) it raises ``AmbiguousWriteError`` so the caller can read back before creating again.

The two clients share everything but the I/O through ``_Core``; their methods mirror each other.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import httpx
import orjson

from optiply.client import paging
from optiply.client.auth import BearerAuth, OptiplyAuth
from optiply.client.errors import (
    AmbiguousWriteError,
    ConfigurationError,
    FatalError,
    OptiplyError,
    RetriableError,
    ValidationError,
    from_response,
    safe_url,
)
from optiply.client.secrets import Secret
from optiply.client.transport import (
    Http11Transport,
    header_lines,
    origin,
    proxies_configured,
    request_line,
)
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, build

logger = logging.getLogger("optiply.client")

DEFAULT_BASE_URL = "https://api.optiply.com/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_MAX_CONCURRENCY = 8
_URL_CACHE_SIZE = 64

_HEADERS = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE}
# Failures that happen before a byte of the request left: a POST can safely be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures after the request may have reached the server: a POST's outcome is then unknown.
_UNKNOWN_OUTCOME = (*_TRANSIENT, httpx.DecodingError)


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource object of a response.

    Attributes:
        id: The Optiply id.
        type: The JSON:API type, e.g. ``products``.
        attributes: The attributes as the server rendered them (decimals are strings).
        meta: The resource's ``meta``; for a single-resource document the top-level ``meta``
            too (e.g. ``orderLineIds`` after a buy order was created with embedded lines).
    """

    id: int
    type: str
    attributes: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourcePage:
    """One page of a collection: the resources, the paging links and the ``meta``."""

    data: tuple[Resource, ...]
    links: dict[str, str | None]
    meta: dict[str, Any]

    @property
    def next_url(self) -> str | None:
        """``links.next``: the absolute URL of the next page, or None on the last page."""
        return self.links.get("next") or None

    @property
    def total(self) -> int | None:
        """``meta.totalResourceCount``: the number of rows on all pages, when given."""
        total = self.meta.get("totalResourceCount")
        return total if isinstance(total, int) else None

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


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
class _Reply:
    """A plain 2xx answer taken on the hot path: what the document decoders read."""

    status_code: int
    content: bytes
    method: str
    url: httpx.URL


_Answer = httpx.Response | _Reply


class _Core:
    """Settings, request building, response decoding and retry decisions; no I/O."""

    def __init__(
        self,
        base_url: str,
        auth: OptiplyAuth | None,
        access_token: str | Secret | None,
        account_id: int | str | None,
        coupling_id: int | str | None,
        max_retries: int,
        backoff: Backoff,
    ) -> None:
        if auth is not None and access_token is not None:
            raise ConfigurationError("give either auth or access_token, not both")
        if auth is None and access_token is None:
            raise ConfigurationError("give auth (an OptiplyAuth) or an access_token")
        if max_retries < 0:
            raise ConfigurationError("max_retries must not be negative")
        self.base_url = httpx.URL(base_url.rstrip("/"))
        if self.base_url.scheme not in ("http", "https") or not self.base_url.host:
            raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self.auth: httpx.Auth = auth if auth is not None else BearerAuth(access_token or "")
        self.account_id = _account_id(account_id)
        self.coupling_id = None if coupling_id in (None, "") else str(coupling_id)
        self.max_retries = max_retries
        self.backoff = backoff
        self.params: list[tuple[str, str]] = []
        if self.account_id is not None:
            self.params.append(("accountId", str(self.account_id)))
        if self.coupling_id is not None:
            self.params.append(("couplingId", self.coupling_id))
        self._prefix: str | None = None
        self._query = ""
        self._urls: dict[str, httpx.URL] = {}
        self._fixed_heads: dict[tuple[str, str, int | None], bytes] = {}
        self._auth_line: tuple[str, bytes] = ("", b"")

    def describe(self, name: str) -> str:
        return (
            f"{name}(base_url={str(self.base_url)!r}, account_id={self.account_id!r}, "
            f"coupling_id={self.coupling_id!r}, auth={self.auth!r})"
        )

    def request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        params: Any,
        content: bytes | None,
    ) -> httpx.Request:
        """The request to send. The common case (a path under the API base with the account
        parameters) is built from one string: ``build_request`` would parse URLs three times,
        which was a fifth of the client's CPU per request."""
        if isinstance(url, httpx.URL) or params is not None:
            return http.build_request(method, url, params=params, content=content)
        return httpx.Request(
            method,
            self.target(url),
            headers=http.headers,
            content=content,
            extensions={"timeout": http.timeout.as_dict()},
        )

    def list_params(self, query: ListQuery) -> list[tuple[str, str]]:
        return [*self.params, *build(query)]

    def list_query(
        self, resource_type: str, query: ListQuery | None, options: dict[str, Any], limit: int
    ) -> ListQuery:
        """``query`` plus keyword filters (and ``sort``/``limit``/``offset``); ``limit`` when
        neither sets a page size."""
        paging.resource_spec(resource_type, "GET")
        if query is None:
            options.setdefault("limit", limit)
        return paging.merge(query, paging.filters(resource_type, **options))

    def next_url(self, url: str) -> httpx.URL:
        """``links.next`` as sent: verbatim on the API host, the account context kept.

        A link to another origin (a proxy that rewrote the host or scheme) is followed on
        the configured API origin instead, so the token never goes to another host.
        """
        target = httpx.URL(url)
        base = self.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            logger.warning(
                "links.next points to %s://%s; following its path on the API host instead",
                target.scheme,
                target.host,
            )
            target = target.copy_with(scheme=base.scheme, host=base.host, port=base.port)
        for key, value in self.params:
            if key not in target.params:
                target = target.copy_add_param(key, value)
        return target

    def body(
        self, resource_type: str, attributes: Mapping[str, Any], resource_id: int | None = None
    ) -> bytes:
        data: dict[str, Any] = {"type": resource_type}
        if resource_id is not None:
            data["id"] = str(resource_id)
        data["attributes"] = dict(attributes)
        try:
            return _dumps({"data": data})
        except (TypeError, ValueError):
            pass
        for name, value in attributes.items():
            try:
                _dumps(value)
            except (TypeError, ValueError) as error:
                raise ValidationError(
                    f"{name}: {error}",
                    code="INVALID_VALUE",
                    pointer=f"/data/attributes/{name}",
                ) from None
        raise ValidationError("the attributes cannot be written as JSON", code="INVALID_VALUE")

    def path(self, resource_type: str, method: str, resource_id: int | str | None = None) -> str:
        paging.resource_spec(resource_type, method)
        if resource_id is None:
            return f"/{resource_type}"
        return f"/{resource_type}/{_resource_id(resource_id)}"

    def transport_error(self, error: httpx.RequestError, request: httpx.Request) -> OptiplyError:
        """The client error for an exception raised while ``request`` was being sent."""
        try:
            failed: httpx.Request | None = error.request
        except RuntimeError:
            failed = None
        sent = failed is request and not isinstance(error, _NOT_SENT)
        culprit = request if failed is None else failed
        method, url = culprit.method, safe_url(culprit.url)
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if sent and request.method == "POST" and isinstance(error, _UNKNOWN_OUTCOME):
            return AmbiguousWriteError(
                f"{detail}; the POST may have been applied: read back before creating again",
                method=method,
                url=url,
            )
        if isinstance(error, _TRANSIENT):
            return RetriableError(detail, method=method, url=url)
        return FatalError(detail, method=method, url=url)

    def retry_delay(
        self, error: OptiplyError, attempt: int, method: str, url: str | httpx.URL
    ) -> float | None:
        """Seconds to wait before sending the request again, or None to raise ``error``."""
        if (
            not isinstance(error, RetriableError)
            or isinstance(error, AmbiguousWriteError)
            or method == "POST"
            or attempt >= self.max_retries
        ):
            return None
        delay = self.backoff.delay(attempt, error.retry_after)
        if delay is not None:
            logger.info(
                "retrying %s %s in %.2f s after %s (retry %d of %d)",
                method,
                _path(url),
                delay,
                error.status or error.detail.split(":", 1)[0],
                attempt + 1,
                self.max_retries,
            )
        return delay

    def log(self, method: str, url: str | httpx.URL, status: int | str, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug("%s %s -> %s in %.0f ms", method, _path(url), status, elapsed)

    def document(self, response: _Answer) -> dict[str, Any]:
        try:
            document = orjson.loads(response.content)
            if isinstance(document, dict):
                return document
        except orjson.JSONDecodeError:
            pass
        raise self.bad_answer(response)

    def resource(self, response: _Answer) -> Resource:
        document = self.document(response)
        try:
            return _resource(document["data"], document.get("meta"))
        except (KeyError, TypeError, ValueError):
            raise self.bad_answer(response) from None

    def page(self, response: _Answer) -> ResourcePage:
        document = self.document(response)
        try:
            data = tuple(_resource(item, None) for item in document["data"])
            links = document.get("links") or {}
            meta = document.get("meta") or {}
            if not isinstance(links, dict) or not isinstance(meta, dict):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise self.bad_answer(response) from None
        return ResourcePage(data=data, links=links, meta=meta)

    def bad_answer(self, response: _Answer) -> OptiplyError:
        """A success whose body is not the expected document; a POST then may have applied."""
        if isinstance(response, _Reply):
            method, url = response.method, response.url
        else:
            method, url = response.request.method, response.request.url
        cls = AmbiguousWriteError if method == "POST" else FatalError
        return cls(
            "the response is not the expected JSON:API document",
            status=response.status_code,
            method=method,
            url=safe_url(url),
        )

    def head(
        self, http: httpx.Client, method: str, url: httpx.URL, bearer: str, size: int | None
    ) -> bytes:
        """The serialized head of a hot-path request: what httpx would send for it."""
        key = (url.scheme, url.host, url.port)
        fixed = self._fixed_heads.get(key)
        if fixed is None:  # the client's default headers, with Host: the same every request
            request = httpx.Request("GET", url, headers=http.headers)
            fixed = self._fixed_heads[key] = header_lines(request.headers.raw)
        if self._auth_line[0] != bearer:  # checked and formatted once per token
            line = header_lines([(b"Authorization", bearer.encode("latin-1"))])
            self._auth_line = (bearer, line)
        length = b"" if size is None else b"Content-Length: %d\r\n" % size
        return b"%s%s%s%s\r\n" % (
            request_line(method, url.raw_path),
            fixed,
            self._auth_line[1],
            length,
        )

    def target(self, path: str) -> httpx.URL:
        """The absolute URL of a path under the API base, the account parameters added."""
        found = self._urls.get(path)
        if found is None:
            found = httpx.URL(self._prefix_for() + path + self._query)
            if len(self._urls) < _URL_CACHE_SIZE:  # the collection paths POSTs go to
                self._urls[path] = found
        return found

    def _prefix_for(self) -> str:
        if self._prefix is None:
            query = str(httpx.QueryParams(tuple(self.params)))
            self._prefix = str(self.base_url)
            self._query = f"?{query}" if query else ""
        return self._prefix


class OptiplyClient:
    """A synchronous client for the Optiply Public API v1.

    Args:
        base_url: The API base, e.g. ``https://api.optiply.com/v1``.
        auth: An ``OptiplyAuth`` (token fetched and refreshed as needed).
        access_token: Instead of ``auth``: a fixed bearer token.
        account_id: Sent as ``?accountId=`` on every request.
        coupling_id: Sent as ``?couplingId=`` on every request.
        timeout: Seconds (or an ``httpx.Timeout``) per request.
        max_retries: Retries after the first attempt, for GET, PATCH and DELETE.
        backoff: The waits between retries.
        transport: An ``httpx`` transport, e.g. for tests. By default ``Http11Transport``
            (HTTP/1.1 keep-alive, responses parsed by httptools), or httpx's own when the
            environment configures a proxy.

    Raises:
        ConfigurationError: Both or neither of ``auth`` and ``access_token``, a bad URL or id.

    >>> client = OptiplyClient(access_token="t", account_id=7)
    >>> client
    OptiplyClient(base_url='https://api.optiply.com/v1', account_id=7, coupling_id=None, \
auth=BearerAuth(access_token=Secret('**********')))
    >>> client.close()
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        auth: OptiplyAuth | None = None,
        access_token: str | Secret | None = None,
        account_id: int | str | None = None,
        coupling_id: int | str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = _Core(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff or Backoff()
        )
        if transport is None and not proxies_configured():
            transport = Http11Transport()
        # Requests may skip httpx.Client.send (see _fast) only when nothing but this
        # transport could handle them: no proxy mounts.
        self._direct = transport
        self._http = httpx.Client(
            base_url=self._core.base_url,
            auth=self._core.auth,
            headers=_HEADERS,
            timeout=timeout,
            transport=transport,
        )
        self._timeouts = self._http.timeout.as_dict()

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def get(self, resource_type: str, resource_id: int | str) -> Resource:
        """GET one resource.

        Raises:
            NotFoundError: No such resource in the accounts the token reaches.
        """
        response = self._send("GET", self._core.path(resource_type, "GET", resource_id))
        return self._core.resource(response)

    def list(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> ResourcePage:
        """GET one page of a collection.

        Args:
            resource_type: The JSON:API type.
            query: Filters, sort and page (see ``optiply.client.paging``).
            **filters: Equality filters by attribute (a list means IN, None IS NULL), added
                to ``query``'s; ``sort``, ``limit`` and ``offset`` set the order and page.
        """
        query = self._core.list_query(resource_type, query, filters, DEFAULT_LIMIT)
        path = self._core.path(resource_type, "GET")
        return self._core.page(self._send("GET", path, params=self._core.list_params(query)))

    def pages(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> Iterator[ResourcePage]:
        """Every page of a collection, following ``links.next``; 100 rows a page by default."""
        query = self._core.list_query(resource_type, query, filters, MAX_LIMIT)
        path = self._core.path(resource_type, "GET")
        first = self._core.page(self._send("GET", path, params=self._core.list_params(query)))
        return paging.follow(first, self._next_page)

    def iterate(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> Iterator[Resource]:
        """Every resource of a collection, page after page (lazily)."""
        for page in self.pages(resource_type, query, **filters):
            yield from page.data

    def create(self, resource_type: str, attributes: Mapping[str, Any]) -> Resource:
        """POST a new resource; never re-sent automatically.

        Raises:
            AmbiguousWriteError: The outcome is unknown (timeout after sending, 5xx).
            ConflictError: A unique pair exists already.
            ValidationError: A value breaks a rule; ``pointer`` names it.
        """
        body = self._core.body(resource_type, attributes)
        response = self._send("POST", self._core.path(resource_type, "POST"), content=body)
        return self._core.resource(response)

    def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource:
        """PATCH the given attributes of a resource; the others stay as they are."""
        path = self._core.path(resource_type, "PATCH", resource_id)
        body = self._core.body(resource_type, attributes, _resource_id(resource_id))
        return self._core.resource(self._send("PATCH", path, content=body))

    def delete(self, resource_type: str, resource_id: int | str) -> None:
        """DELETE a resource.

        Raises:
            NotFoundError: It does not exist (any more); often to be taken as success.
        """
        self._send("DELETE", self._core.path(resource_type, "DELETE", resource_id))

    def _next_page(self, url: str) -> ResourcePage:
        return self._core.page(self._send("GET", self._core.next_url(url)))

    def _fast(
        self, method: str, url: str | httpx.URL, params: Any, content: bytes | None
    ) -> _Answer | None:
        """Send on the hot path, or None when the full ``httpx.Client.send`` must.

        ``httpx.Client.send`` runs the auth flow, redirects, cookies and hooks, and builds
        request and response objects: half the client's CPU per request, for nothing this
        API uses. So while the token is fresh, a request under the API base goes to the
        transport as bytes, and a plain 2xx comes back as bytes. Anything else becomes an
        ``httpx.Response`` without sending again; a 401 marks the token refused and hands
        over to the full path, which renews it and resends.
        """
        transport, auth = self._direct, self._core.auth
        if (
            not isinstance(transport, Http11Transport)
            or not isinstance(auth, OptiplyAuth)
            or params is not None
            or not isinstance(url, str)
        ):
            return None
        fresh = auth.fresh_bearer()
        if fresh is None:
            return None
        token, bearer = fresh
        target = self._core.target(url)
        body = content or b""
        size = None if content is None else len(body)
        try:
            head = self._core.head(self._http, method, target, bearer, size)
            answer = transport.exchange(origin(target), head, body, self._timeouts)
        except httpx.TransportError as error:
            error.request = self._core.request(self._http, method, url, None, content)
            raise
        if answer.status == 401:
            auth.refused(token)
            return None
        encoded = any(name.lower() == b"content-encoding" for name, _ in answer.headers)
        if 200 <= answer.status < 300 and not encoded:
            return _Reply(answer.status, answer.body, method, target)
        response = httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            request=self._core.request(self._http, method, url, None, content),
            extensions={"http_version": answer.version},
        )
        response.read()  # decodes the content
        return response

    def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Any = None,
        content: bytes | None = None,
    ) -> _Answer:
        attempt = 0
        while True:
            started = time.perf_counter()
            request: httpx.Request | None = None
            error: OptiplyError
            try:
                answer = self._fast(method, url, params, content)
                if isinstance(answer, _Reply):
                    self._core.log(method, answer.url, answer.status_code, started)
                    return answer
                if answer is None:
                    request = self._core.request(self._http, method, url, params, content)
                    answer = self._http.send(request)
                else:
                    request = answer.request
            except httpx.RequestError as exc:
                if request is None:  # raised on the hot path, which attached its request
                    request = exc.request
                error = self._core.transport_error(exc, request)
                self._core.log(method, request.url, type(exc).__name__, started)
            except OptiplyError as exc:  # raised by the auth flow: the request was not applied
                error = exc
            else:
                self._core.log(method, request.url, answer.status_code, started)
                if answer.is_success:
                    return answer
                error = from_response(answer)
            shown = request.url if request is not None else url
            delay = self._core.retry_delay(error, attempt, method, shown)
            if delay is None:
                raise error
            time.sleep(delay)
            attempt += 1


class AsyncOptiplyClient:
    """The asynchronous twin of ``OptiplyClient``.

    Takes the same arguments, plus ``max_concurrency``: at most this many requests are in
    flight at once across all tasks using the client (waits between retries do not count).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        auth: OptiplyAuth | None = None,
        access_token: str | Secret | None = None,
        account_id: int | str | None = None,
        coupling_id: int | str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        self._core = _Core(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff or Backoff()
        )
        self._http = httpx.AsyncClient(
            base_url=self._core.base_url,
            auth=self._core.auth,
            headers=_HEADERS,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max(max_concurrency, 10),
                max_keepalive_connections=max_concurrency,
            ),
        )
        self.max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def get(self, resource_type: str, resource_id: int | str) -> Resource:
        """GET one resource (see ``OptiplyClient.get``)."""
        response = await self._send("GET", self._core.path(resource_type, "GET", resource_id))
        return self._core.resource(response)

    async def list(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> ResourcePage:
        """GET one page of a collection (see ``OptiplyClient.list``)."""
        query = self._core.list_query(resource_type, query, filters, DEFAULT_LIMIT)
        path = self._core.path(resource_type, "GET")
        response = await self._send("GET", path, params=self._core.list_params(query))
        return self._core.page(response)

    async def pages(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> AsyncIterator[ResourcePage]:
        """Every page of a collection, following ``links.next``; 100 rows a page by default."""
        query = self._core.list_query(resource_type, query, filters, MAX_LIMIT)
        path = self._core.path(resource_type, "GET")
        response = await self._send("GET", path, params=self._core.list_params(query))
        async for page in paging.afollow(self._core.page(response), self._next_page):
            yield page

    async def iterate(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> AsyncIterator[Resource]:
        """Every resource of a collection, page after page (lazily)."""
        async for page in self.pages(resource_type, query, **filters):
            for resource in page.data:
                yield resource

    async def create(self, resource_type: str, attributes: Mapping[str, Any]) -> Resource:
        """POST a new resource; never re-sent automatically (see ``OptiplyClient.create``)."""
        body = self._core.body(resource_type, attributes)
        response = await self._send("POST", self._core.path(resource_type, "POST"), content=body)
        return self._core.resource(response)

    async def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource:
        """PATCH the given attributes of a resource."""
        path = self._core.path(resource_type, "PATCH", resource_id)
        body = self._core.body(resource_type, attributes, _resource_id(resource_id))
        return self._core.resource(await self._send("PATCH", path, content=body))

    async def delete(self, resource_type: str, resource_id: int | str) -> None:
        """DELETE a resource (see ``OptiplyClient.delete``)."""
        await self._send("DELETE", self._core.path(resource_type, "DELETE", resource_id))

    async def _next_page(self, url: str) -> ResourcePage:
        return self._core.page(await self._send("GET", self._core.next_url(url)))

    async def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            request = self._core.request(self._http, method, url, params, content)
            error: OptiplyError
            async with self._slots:
                started = time.perf_counter()
                try:
                    response = await self._http.send(request)
                except httpx.RequestError as exc:
                    error = self._core.transport_error(exc, request)
                    self._core.log(method, request.url, type(exc).__name__, started)
                except OptiplyError as exc:  # raised by the auth flow: the request was not applied
                    error = exc
                else:
                    self._core.log(method, request.url, response.status_code, started)
                    if response.is_success:
                        return response
                    error = from_response(response)
            delay = self._core.retry_delay(error, attempt, method, url)
            if delay is None:
                raise error
            await asyncio.sleep(delay)
            attempt += 1


def _resource(data: Any, meta: Any) -> Resource:
    """A ``Resource`` from a resource object (and a document's top-level meta)."""
    if not isinstance(data, dict):
        raise TypeError("not a resource object")
    attributes = data.get("attributes") or {}
    own_meta = data.get("meta") or {}
    if not isinstance(attributes, dict) or not isinstance(own_meta, dict):
        raise TypeError("not a resource object")
    merged = {**meta, **own_meta} if isinstance(meta, dict) else own_meta
    return Resource(id=int(data["id"]), type=str(data["type"]), attributes=attributes, meta=merged)


def _resource_id(value: int | str) -> int:
    """A positive integer id from an int or its text; anything else is refused before sending.

    >>> _resource_id("12")
    12
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    if number is None or number <= 0:
        raise ValidationError(
            f"{value!r} is not a valid id: ids are positive integers", code="INVALID_ID"
        )
    return number


def _account_id(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return _resource_id(value)
    except ValidationError:
        raise ConfigurationError(f"account_id must be a positive integer, got {value!r}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can carry")
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")


def _path(url: str | httpx.URL) -> str:
    return url.path if isinstance(url, httpx.URL) else url.split("?", 1)[0]


def _dumps(value: Any) -> bytes:
    """Compact JSON; NaN and infinities are refused (the API would answer 500 or worse;
    orjson alone would write them as null)."""
    if _non_finite(value):
        raise ValueError("NaN and infinity are not numbers JSON can carry")
    return orjson.dumps(value, default=_json_default)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite(item) for item in value)
    return False
