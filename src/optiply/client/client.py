"""``OptiplyClient`` and ``AsyncOptiplyClient``: typed CRUD and paging for the Optiply API v1.

Both clients keep connections alive, send ``accountId``/``couplingId`` on every request and
retry transient failures (``optiply.client.retries``); every request goes through their send
path (``optiply.client.send``), every body and document through ``optiply.client.documents``.
Their methods mirror each other; what they share is ``_Settings``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from optiply.client import documents, paging
from optiply.client.auth import BearerAuth, OptiplyAuth
from optiply.client.documents import Resource, ResourcePage
from optiply.client.errors import ConfigurationError
from optiply.client.retries import Backoff, Retries
from optiply.client.secrets import Secret
from optiply.client.send import AsyncSender, Endpoint, Params, Sender
from optiply.client.transport import Http11Transport, proxies_configured
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, build

DEFAULT_BASE_URL = "https://api.optiply.com/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_MAX_CONCURRENCY = 8

_HEADERS = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE}


class _Settings:
    """The arguments both clients take, checked; paths and list queries; no I/O."""

    def __init__(
        self,
        base_url: str,
        auth: OptiplyAuth | None,
        access_token: str | Secret | None,
        account_id: int | str | None,
        coupling_id: int | str | None,
        max_retries: int,
        backoff: Backoff | None,
    ) -> None:
        if auth is not None and access_token is not None:
            raise ConfigurationError("give either auth or access_token, not both")
        if auth is None and access_token is None:
            raise ConfigurationError("give auth (an OptiplyAuth) or an access_token")
        self.retries = Retries(max_retries, backoff or Backoff())
        base = httpx.URL(base_url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self.auth: OptiplyAuth | BearerAuth = auth or BearerAuth(access_token or "")
        self.account_id = documents.account_id(account_id)
        self.coupling_id = None if coupling_id in (None, "") else str(coupling_id)
        params: list[tuple[str, str]] = []
        if self.account_id is not None:
            params.append(("accountId", str(self.account_id)))
        if self.coupling_id is not None:
            params.append(("couplingId", self.coupling_id))
        self.endpoint = Endpoint(base, params)

    def describe(self, name: str) -> str:
        return (
            f"{name}(base_url={str(self.endpoint.base_url)!r}, account_id={self.account_id!r}, "
            f"coupling_id={self.coupling_id!r}, auth={self.auth!r})"
        )

    def list_params(
        self, resource_type: str, query: ListQuery | None, options: dict[str, Any], limit: int
    ) -> Params:
        """The parameters of a list request: ``query`` plus keyword filters (and
        ``sort``/``limit``/``offset``); ``limit`` when neither sets a page size."""
        paging.resource_spec(resource_type, "GET")
        if query is None:
            options.setdefault("limit", limit)
        merged = paging.merge(query, paging.filters(resource_type, **options))
        return [*self.endpoint.params, *build(merged)]


def _path(resource_type: str, method: str, id_: int | str | None = None) -> str:
    paging.resource_spec(resource_type, method)
    if id_ is None:
        return f"/{resource_type}"
    return f"/{resource_type}/{documents.resource_id(id_)}"


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
        self._settings = _Settings(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff
        )
        if transport is None and not proxies_configured():
            transport = Http11Transport()
        http = httpx.Client(headers=_HEADERS, timeout=timeout, transport=transport)
        self._http = http
        self._sender = Sender(
            self._settings.endpoint, self._settings.auth, self._settings.retries, http, transport
        )

    def __repr__(self) -> str:
        return self._settings.describe(type(self).__name__)

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
        response = self._sender.send("GET", _path(resource_type, "GET", resource_id))
        return documents.resource(response)

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
        params = self._settings.list_params(resource_type, query, filters, DEFAULT_LIMIT)
        return documents.page(self._sender.send("GET", f"/{resource_type}", params))

    def pages(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> Iterator[ResourcePage]:
        """Every page of a collection, following ``links.next``; 100 rows a page by default."""
        params = self._settings.list_params(resource_type, query, filters, MAX_LIMIT)
        first = documents.page(self._sender.send("GET", f"/{resource_type}", params))
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
        body = documents.body(resource_type, attributes)
        response = self._sender.send("POST", _path(resource_type, "POST"), content=body)
        return documents.resource(response)

    def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource:
        """PATCH the given attributes of a resource; the others stay as they are."""
        path = _path(resource_type, "PATCH", resource_id)
        body = documents.body(resource_type, attributes, documents.resource_id(resource_id))
        return documents.resource(self._sender.send("PATCH", path, content=body))

    def delete(self, resource_type: str, resource_id: int | str) -> None:
        """DELETE a resource.

        Raises:
            NotFoundError: It does not exist (any more); often to be taken as success.
        """
        self._sender.send("DELETE", _path(resource_type, "DELETE", resource_id))

    def _next_page(self, url: str) -> ResourcePage:
        return documents.page(self._sender.send("GET", self._settings.endpoint.next_url(url)))


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
        self._settings = _Settings(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff
        )
        self._http = httpx.AsyncClient(
            auth=self._settings.auth,
            headers=_HEADERS,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max(max_concurrency, 10),
                max_keepalive_connections=max_concurrency,
            ),
        )
        self.max_concurrency = max_concurrency
        self._sender = AsyncSender(
            self._settings.endpoint, self._settings.retries, self._http, max_concurrency
        )

    def __repr__(self) -> str:
        return self._settings.describe(type(self).__name__)

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
        response = await self._sender.send("GET", _path(resource_type, "GET", resource_id))
        return documents.resource(response)

    async def list(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> ResourcePage:
        """GET one page of a collection (see ``OptiplyClient.list``)."""
        params = self._settings.list_params(resource_type, query, filters, DEFAULT_LIMIT)
        return documents.page(await self._sender.send("GET", f"/{resource_type}", params))

    async def pages(
        self, resource_type: str, query: ListQuery | None = None, /, **filters: Any
    ) -> AsyncIterator[ResourcePage]:
        """Every page of a collection, following ``links.next``; 100 rows a page by default."""
        params = self._settings.list_params(resource_type, query, filters, MAX_LIMIT)
        response = await self._sender.send("GET", f"/{resource_type}", params)
        async for page in paging.afollow(documents.page(response), self._next_page):
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
        body = documents.body(resource_type, attributes)
        response = await self._sender.send("POST", _path(resource_type, "POST"), content=body)
        return documents.resource(response)

    async def update(
        self, resource_type: str, resource_id: int | str, attributes: Mapping[str, Any]
    ) -> Resource:
        """PATCH the given attributes of a resource."""
        path = _path(resource_type, "PATCH", resource_id)
        body = documents.body(resource_type, attributes, documents.resource_id(resource_id))
        return documents.resource(await self._sender.send("PATCH", path, content=body))

    async def delete(self, resource_type: str, resource_id: int | str) -> None:
        """DELETE a resource (see ``OptiplyClient.delete``)."""
        await self._sender.send("DELETE", _path(resource_type, "DELETE", resource_id))

    async def _next_page(self, url: str) -> ResourcePage:
        return documents.page(await self._sender.send("GET", self._settings.endpoint.next_url(url)))
