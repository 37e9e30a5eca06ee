"""``OptiplyClient``: typed CRUD and paging for the Optiply API v1 (its asynchronous twin,
``AsyncOptiplyClient``, is in ``optiply.client.async_client``).

Both clients keep connections alive, send ``accountId``/``couplingId`` on every request and
retry transient failures (``optiply.client.retries``); every request goes through their send
path (``optiply.client.send``), every body and document through ``optiply.client.documents``.
Their methods mirror each other; what they share is ``ClientSettings``.

The server's extensions (docs/extensions.md; ``optiply.client.extensions``): every POST carries
an ``Idempotency-Key`` (a uuid4 per call unless given), PATCH and DELETE one when given;
``extensions()`` asks ``GET /v1`` once per client what the server offers, and only when needed:
before ``find_by_remote_id``, and when a keyed write failed in a way a replay would mend.
``operations()`` sends atomic operations (``optiply.client.operations``).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from optiply.client import documents, operations, paging
from optiply.client.auth import BearerAuth, OptiplyAuth
from optiply.client.documents import Answer, Resource, ResourcePage
from optiply.client.errors import ConfigurationError, FatalError, OptiplyError, RetriableError
from optiply.client.extensions import (
    IDEMPOTENCY,
    REMOTE_ID,
    KeyOption,
    advertised_by,
    idempotency_key,
    remote_id_params,
)
from optiply.client.operations import ATOMIC_MEDIA_TYPE, Operations
from optiply.client.retries import Backoff, Retries
from optiply.client.secrets import Secret
from optiply.client.send import Endpoint, Params, Sender
from optiply.client.transport import Http11Transport, proxies_configured
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.query import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, build

DEFAULT_BASE_URL = "https://api.optiply.com/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_MAX_CONCURRENCY = 8

JSONAPI_HEADERS = {"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE}


class ClientSettings:
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

    def remote_id_params(
        self,
        resource_type: str,
        remote_id: str | Sequence[str],
        coupling_id: int | str | None,
        offered: frozenset[str],
    ) -> Params:
        """The parameters of a lookup by remote id, checked against what the server offers."""
        if paging.resource_spec(resource_type, "GET").attribute("remoteIdMap") is None:
            raise ConfigurationError(f"{resource_type} have no remote ids")
        if REMOTE_ID.uri not in offered:
            raise FatalError(
                "the server does not offer filter[remoteId] (the remote-id extension of "
                "docs/extensions.md; the hosted API has none)"
            )
        coupling = None if coupling_id in (None, "") else str(coupling_id)
        return remote_id_params(self.endpoint.params, remote_id, coupling)


def offered(answer: Answer | OptiplyError) -> frozenset[str] | None:
    """What a ``GET /v1`` answer (or its failure) says is offered; None: unknown for now (a
    transient failure, not to be cached)."""
    if isinstance(answer, RetriableError):
        return None
    if isinstance(answer, OptiplyError):
        return frozenset()  # 404 from a plain v1 server, 401/403 from the hosted API
    return advertised_by(answer)


def resource_path(resource_type: str, method: str, id_: int | str | None = None) -> str:
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
        self._settings = ClientSettings(
            base_url, auth, access_token, account_id, coupling_id, max_retries, backoff
        )
        if transport is None and not proxies_configured():
            transport = Http11Transport()
        http = httpx.Client(headers=JSONAPI_HEADERS, timeout=timeout, transport=transport)
        self._http = http
        self._sender = Sender(
            self._settings.endpoint, self._settings.auth, self._settings.retries, http, transport
        )
        self._sender.honours_keys = lambda: IDEMPOTENCY.uri in self.extensions()
        self._extensions: frozenset[str] | None = None
        self._detecting = threading.Lock()

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
        response = self._sender.send("GET", resource_path(resource_type, "GET", resource_id))
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

    def create(
        self,
        resource_type: str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: KeyOption = True,
    ) -> Resource:
        """POST a new resource, with an ``Idempotency-Key``.

        Args:
            idempotency_key: The key (True: a new uuid4; False: none). The client's retries
                of this call send the same key and bytes, and a POST whose outcome is unknown
                is retried only when the server honours keys: then it is written once.

        Raises:
            AmbiguousWriteError: The outcome is unknown (timeout after sending, 5xx) and the
                server does not honour keys (or the retries ran out).
            ConflictError: A unique pair exists already.
            ValidationError: A value breaks a rule; ``pointer`` names it. Code
                ``IDEMPOTENCY_KEY_REUSED``: the key came with another request before.
        """
        key = key_of(idempotency_key)
        body = documents.body(resource_type, attributes)
        response = self._sender.send(
            "POST", resource_path(resource_type, "POST"), content=body, key=key
        )
        return documents.resource(response)

    def update(
        self,
        resource_type: str,
        resource_id: int | str,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: KeyOption = False,
    ) -> Resource:
        """PATCH the given attributes of a resource; the others stay as they are (a key: a 500
        is retried too, when the server honours keys)."""
        path = resource_path(resource_type, "PATCH", resource_id)
        body = documents.body(resource_type, attributes, documents.resource_id(resource_id))
        key = key_of(idempotency_key)
        return documents.resource(self._sender.send("PATCH", path, content=body, key=key))

    def delete(
        self, resource_type: str, resource_id: int | str, *, idempotency_key: KeyOption = False
    ) -> None:
        """DELETE a resource.

        Raises:
            NotFoundError: It does not exist (any more); often to be taken as success.
        """
        path = resource_path(resource_type, "DELETE", resource_id)
        self._sender.send("DELETE", path, key=key_of(idempotency_key))

    def find_by_remote_id(
        self,
        resource_type: str,
        remote_id: str | Sequence[str],
        *,
        coupling_id: int | str | None = None,
    ) -> builtins.list[Resource]:
        """The rows whose ``remoteIdMap`` holds ``remote_id`` (or any of several) under the
        coupling (the client's ``coupling_id`` unless given; ``publicApi`` without one). Remote
        ids are not unique: several rows may answer.

        Raises:
            FatalError: The server does not offer ``filter[remoteId]`` (the hosted API).
        """
        params = self._settings.remote_id_params(
            resource_type, remote_id, coupling_id, self.extensions()
        )
        first = documents.page(self._sender.send("GET", f"/{resource_type}", params))
        return [row for page in paging.follow(first, self._next_page) for row in page.data]

    def operations(
        self, ops: Operations, *, idempotency_key: KeyOption = True
    ) -> builtins.list[Resource | None]:
        """Send up to 100 operations as one atomic request (``POST /v1/operations``).

        Returns:
            One entry per operation, in order: the added or updated resource, None for a remove.

        Raises:
            OptiplyError: Nothing was written; ``operation`` is the index of the operation the
                error names (``pointer`` ``/atomic:operations/N/...``), when it names one.
                ``NotFoundError`` (404) from a server without atomic operations.
        """
        body = operations.body(ops)
        answer = self._sender.send(
            "POST",
            operations.PATH,
            content=body,
            key=key_of(idempotency_key),
            media=ATOMIC_MEDIA_TYPE,
        )
        return operations.results(answer, ops)

    def extensions(self) -> frozenset[str]:
        """The extension URIs the server offers (``optiply.jsonapi.extensions``): one
        ``GET /v1`` per client, cached; empty for a plain v1 server (a 404)."""
        with self._detecting:
            if self._extensions is None:
                try:
                    found = offered(self._sender.send("GET", ""))
                except OptiplyError as error:
                    found = offered(error)
                if found is None:
                    return frozenset()
                self._extensions = found
            return self._extensions

    def _next_page(self, url: str) -> ResourcePage:
        return documents.page(self._sender.send("GET", self._settings.endpoint.next_url(url)))


def key_of(option: KeyOption) -> str | None:
    """The key a write sends (the methods' ``idempotency_key`` argument hides the function)."""
    return idempotency_key(option)
