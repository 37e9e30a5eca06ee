"""``AsyncOptiplyClient``: the asynchronous twin of ``optiply.client.client.OptiplyClient``,
method for method, on the same settings (``Settings``), paths and key rules."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from optiply.client import documents, operations, paging
from optiply.client.auth import OptiplyAuth
from optiply.client.client import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    JSONAPI_HEADERS,
    ClientSettings,
    key_of,
    offered,
    resource_path,
)
from optiply.client.documents import Resource, ResourcePage
from optiply.client.errors import ConfigurationError, OptiplyError
from optiply.client.extensions import (
    IDEMPOTENCY,
    KeyOption,
)
from optiply.client.operations import ATOMIC_MEDIA_TYPE, Operations
from optiply.client.retries import Backoff
from optiply.client.secrets import Secret
from optiply.client.send import AsyncSender
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT, ListQuery


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
        self._settings = ClientSettings(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff
        )
        self._http = httpx.AsyncClient(
            auth=self._settings.auth,
            headers=JSONAPI_HEADERS,
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
        self._sender.honours_keys = self._honours_keys
        self._extensions: frozenset[str] | None = None
        self._detecting: asyncio.Lock | None = None

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
        response = await self._sender.send("GET", resource_path(resource_type, "GET", resource_id))
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

    async def create(
        self,
        resource_type: str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: KeyOption = True,
    ) -> Resource:
        """POST a new resource, with an ``Idempotency-Key`` (see ``OptiplyClient.create``)."""
        key = key_of(idempotency_key)
        body = documents.body(resource_type, attributes)
        path = resource_path(resource_type, "POST")
        return documents.resource(await self._sender.send("POST", path, content=body, key=key))

    async def update(
        self,
        resource_type: str,
        resource_id: int | str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: KeyOption = False,
    ) -> Resource:
        """PATCH the given attributes of a resource (see ``OptiplyClient.update``)."""
        path = resource_path(resource_type, "PATCH", resource_id)
        body = documents.body(resource_type, attributes, documents.resource_id(resource_id))
        key = key_of(idempotency_key)
        return documents.resource(await self._sender.send("PATCH", path, content=body, key=key))

    async def delete(
        self, resource_type: str, resource_id: int | str, *, idempotency_key: KeyOption = False
    ) -> None:
        """DELETE a resource (see ``OptiplyClient.delete``)."""
        path = resource_path(resource_type, "DELETE", resource_id)
        await self._sender.send("DELETE", path, key=key_of(idempotency_key))

    async def find_by_remote_id(
        self,
        resource_type: str,
        remote_id: str | Sequence[str],
        *,
        coupling_id: int | str | None = None,
    ) -> builtins.list[Resource]:
        """The rows with this remote id (see ``OptiplyClient.find_by_remote_id``)."""
        params = self._settings.remote_id_params(
            resource_type, remote_id, coupling_id, await self.extensions()
        )
        first = documents.page(await self._sender.send("GET", f"/{resource_type}", params))
        return [row async for page in paging.afollow(first, self._next_page) for row in page.data]

    async def operations(
        self, ops: Operations, *, idempotency_key: KeyOption = True
    ) -> builtins.list[Resource | None]:
        """Send operations as one atomic request (see ``OptiplyClient.operations``)."""
        body = operations.body(ops)
        answer = await self._sender.send(
            "POST",
            operations.PATH,
            content=body,
            key=key_of(idempotency_key),
            media=ATOMIC_MEDIA_TYPE,
        )
        return operations.results(answer, ops)

    async def extensions(self) -> frozenset[str]:
        """The extension URIs the server offers (see ``OptiplyClient.extensions``)."""
        if self._detecting is None:
            self._detecting = asyncio.Lock()
        async with self._detecting:
            if self._extensions is None:
                try:
                    found = offered(await self._sender.send("GET", ""))
                except OptiplyError as error:
                    found = offered(error)
                if found is None:
                    return frozenset()
                self._extensions = found
            return self._extensions

    async def _honours_keys(self) -> bool:
        return IDEMPOTENCY.uri in await self.extensions()

    async def _next_page(self, url: str) -> ResourcePage:
        return documents.page(await self._sender.send("GET", self._settings.endpoint.next_url(url)))
