"""How a request reaches the socket: the one send path of the clients, retries included.

``Sender.send`` (sync) is the only way ``OptiplyClient`` sends anything. Each attempt follows
the auth's rule (``OptiplyAuth.attempts``: obtain or renew the token when needed, send, on a 401
renew once and resend), and each send is one wire step:

- ``Http11Transport`` (the default): the request head is serialized from cached bytes (request
  line, the client's fixed headers, the ``Authorization`` line formatted once per token) and
  handed with the body to ``Http11Transport.exchange``; a plain 2xx comes back as a ``Reply``
  (bytes), anything else as an ``httpx.Response``. No ``httpx.Request``/``httpx.Client.send``
  per request: that was half the client's CPU, for redirects, cookies and hooks this API
  does not use.
- any other transport (tests' ``MockTransport``, httpx's own when a proxy is configured): an
  ``httpx.Request`` with the same headers through ``httpx.Client.send(auth=None)``.

Token requests go through ``httpx.Client.send`` either way (pool, transport, timeouts).
``AsyncSender`` is the async twin on ``httpx.AsyncClient``, whose auth flow follows the same
rule. Between attempts both consult ``Retries``.

A write may carry an ``Idempotency-Key`` (``key``): it is sent on every attempt of the call
with the same bytes, and such a write is *replayable* once the client knows the server honours
keys (``honours_keys``, asked only when a retry would need it): then a POST whose outcome is
unknown is sent again and the server answers with its replay (``optiply.client.retries``).
``media`` replaces the JSON:API media type of ``Content-Type`` and ``Accept`` (atomic
operations).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import httpx

from optiply.client.auth import BearerAuth, OptiplyAuth, Renew, Token, bearer
from optiply.client.documents import Answer, Reply
from optiply.client.errors import (
    KEY_IN_USE,
    OptiplyError,
    RetriableError,
    from_response,
    safe_url,
)
from optiply.client.extensions import IDEMPOTENCY_KEY
from optiply.client.retries import Retries, transport_error, unknown_outcome
from optiply.client.transport import Http11Transport, header_lines, origin, request_line

logger = logging.getLogger("optiply.client")

_URL_CACHE_SIZE = 64
Params = list[tuple[str, str]] | None


def _headers(key: str | None, media: str | None) -> dict[str, str]:
    """The headers a request adds to the client's own."""
    extra = {} if media is None else {"Content-Type": media, "Accept": media}
    if key is not None:
        extra[IDEMPOTENCY_KEY] = key
    return extra


def _worth_asking(error: OptiplyError, method: str, url: httpx.URL, key: str | None) -> bool:
    """Whether a replay could mend ``error``: a keyed write that failed transiently or with
    an unknown outcome (then the client asks whether the server honours keys); not a failure
    of a token request on the way."""
    return (
        key is not None
        and (isinstance(error, RetriableError) or unknown_outcome(error, method))
        and error.url == safe_url(url)
    )


class Endpoint:
    """Where requests go: the API base and the account parameters every request carries."""

    def __init__(self, base_url: httpx.URL, params: list[tuple[str, str]]) -> None:
        self.base_url = base_url
        self.params = params
        query = str(httpx.QueryParams(tuple(params)))
        self._prefix = str(base_url)
        self._query = f"?{query}" if query else ""
        self._urls: dict[str, httpx.URL] = {}

    def url(self, path: str | httpx.URL, params: Params = None) -> httpx.URL:
        """The absolute URL of a path under the base (the account parameters added, or
        ``params`` instead), or ``path`` itself when it is a URL already.

        >>> endpoint = Endpoint(httpx.URL("https://api.test/v1"), [("accountId", "7")])
        >>> endpoint.url("/products/5")
        URL('https://api.test/v1/products/5?accountId=7')
        """
        if isinstance(path, httpx.URL):
            return path
        if params is not None:
            return httpx.URL(self._prefix + path, params=params)
        found = self._urls.get(path)
        if found is None:
            found = httpx.URL(self._prefix + path + self._query)
            if len(self._urls) < _URL_CACHE_SIZE:  # the collection paths POSTs go to
                self._urls[path] = found
        return found

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


class Sender:
    """The sync send path: auth rule, wire step, retries (see the module)."""

    def __init__(
        self,
        endpoint: Endpoint,
        auth: OptiplyAuth | BearerAuth,
        retries: Retries,
        http: httpx.Client,
        wire: httpx.BaseTransport | None,
    ) -> None:
        self.endpoint = endpoint
        self.auth = auth
        self.retries = retries
        self.http = http
        self.wire = wire if isinstance(wire, Http11Transport) else None
        self._timeouts = http.timeout.as_dict()
        self._fixed_heads: dict[tuple[str, str, int | None, str | None], bytes] = {}
        self._auth_line: tuple[Token | None, bytes] = (None, b"")
        self.honours_keys: Callable[[], bool] = lambda: False  # set by the client

    def send(
        self,
        method: str,
        path: str | httpx.URL,
        params: Params = None,
        content: bytes | None = None,
        *,
        key: str | None = None,
        media: str | None = None,
    ) -> Answer:
        """Send until a 2xx answers or ``Retries`` gives up; raises the last ``OptiplyError``."""
        url = self.endpoint.url(path, params)
        extra = _headers(key, media)
        attempt = 0
        while True:
            try:
                return self._attempt(method, url, content, extra)
            except OptiplyError as error:
                replayable = _worth_asking(error, method, url, key) and (
                    error.code == KEY_IN_USE or self.honours_keys()
                )
                delay = self.retries.delay(error, attempt, method, url.path, replayable=replayable)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1

    def _attempt(
        self, method: str, url: httpx.URL, content: bytes | None, extra: dict[str, str]
    ) -> Answer:
        """One attempt, as the auth's rule directs: a 2xx answer, or its ``OptiplyError``."""
        started = time.perf_counter()
        rule = self.auth.attempts()
        step = next(rule)
        while True:
            if isinstance(step, Renew):
                step = rule.send(self._renew(step, method, url, content))
                continue
            try:
                answer = self._exchange(method, url, content, step, extra)
            except httpx.RequestError as error:
                _log(method, url, type(error).__name__, started)
                raise transport_error(error, method, safe_url(url), api_request=True) from None
            try:
                step = rule.send(answer.status_code)
            except StopIteration:
                break
        _log(method, url, answer.status_code, started)
        if answer.is_success:
            return answer
        assert isinstance(answer, httpx.Response)  # a Reply is a success
        raise from_response(answer)

    def _exchange(
        self,
        method: str,
        url: httpx.URL,
        content: bytes | None,
        token: Token,
        extra: dict[str, str],
    ) -> Answer:
        """One request on the wire, with ``token`` and the ``extra`` headers."""
        if self.wire is None:
            request = self._request(method, url, content, extra)
            request.headers["Authorization"] = bearer(token)
            return self.http.send(request, auth=None)
        head = self._head(method, url, token, content, extra)
        answer = self.wire.exchange(origin(url), head, content or b"", self._timeouts)
        encoded = any(name.lower() == b"content-encoding" for name, _ in answer.headers)
        if 200 <= answer.status < 300 and not encoded:
            return Reply(answer.status, answer.body, method, url)
        response = httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            request=self._request(method, url, content, extra),
            extensions={"http_version": answer.version},
        )
        response.read()  # decodes the content
        return response

    def _renew(self, step: Renew, method: str, url: httpx.URL, content: bytes | None) -> Token:
        """The token a ``Renew`` step asks for; token requests through ``httpx.Client``."""
        flow = self.auth.renew(self._request(method, url, content), step)
        try:
            token_request = next(flow)
            while True:
                try:
                    response = self.http.send(token_request, auth=None)
                except httpx.RequestError as error:
                    culprit = safe_url(token_request.url)
                    raise transport_error(error, "POST", culprit, api_request=False) from None
                token_request = flow.send(response)
        except StopIteration as done:
            token: Token = done.value
            return token
        finally:
            flow.close()  # a failure above leaves it suspended: release the auth's lock now

    def _request(
        self,
        method: str,
        url: httpx.URL,
        content: bytes | None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Request:
        """The ``httpx.Request`` httpx would build for this request (without auth)."""
        headers = self.http.headers
        if extra:
            headers = headers.copy()
            headers.update(extra)
        return httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": self._timeouts}
        )

    def _head(
        self,
        method: str,
        url: httpx.URL,
        token: Token,
        content: bytes | None,
        extra: dict[str, str],
    ) -> bytes:
        """The serialized head of a request: what httpx would send for it."""
        media = extra.get("Content-Type")
        key = (url.scheme, url.host, url.port, media)
        fixed = self._fixed_heads.get(key)
        if fixed is None:  # the client's default headers, with Host: the same every request
            headers = self.http.headers.copy()
            if media is not None:
                headers.update({"Content-Type": media, "Accept": media})
            request = httpx.Request("GET", url, headers=headers)
            fixed = self._fixed_heads[key] = header_lines(request.headers.raw)
        length = b"" if content is None else b"Content-Length: %d\r\n" % len(content)
        idempotency = extra.get(IDEMPOTENCY_KEY)
        if idempotency is not None:
            length += header_lines([(IDEMPOTENCY_KEY.encode(), idempotency.encode("ascii"))])
        return b"%s%s%s%s\r\n" % (
            request_line(method, url.raw_path),
            fixed,
            self._auth(token),
            length,
        )

    def _auth(self, token: Token) -> bytes:
        """The ``Authorization`` header line for ``token``, checked and formatted once."""
        if self._auth_line[0] is not token:
            value = bearer(token).encode("latin-1")
            self._auth_line = (token, header_lines([(b"Authorization", value)]))
        return self._auth_line[1]


class AsyncSender:
    """The async send path: ``httpx.AsyncClient`` (whose auth flow follows the same rule),
    at most ``max_concurrency`` requests in flight, retries."""

    def __init__(
        self, endpoint: Endpoint, retries: Retries, http: httpx.AsyncClient, max_concurrency: int
    ) -> None:
        self.endpoint = endpoint
        self.retries = retries
        self.http = http
        self._slots = asyncio.Semaphore(max_concurrency)
        self.honours_keys: Callable[[], Awaitable[bool]] = _never  # set by the client

    async def send(
        self,
        method: str,
        path: str | httpx.URL,
        params: Params = None,
        content: bytes | None = None,
        *,
        key: str | None = None,
        media: str | None = None,
    ) -> Answer:
        """Send until a 2xx answers or ``Retries`` gives up; raises the last ``OptiplyError``."""
        url = self.endpoint.url(path, params)
        extra = _headers(key, media)
        attempt = 0
        while True:
            async with self._slots:
                try:
                    return await self._attempt(method, url, content, extra)
                except OptiplyError as error:
                    failure = error
            replayable = _worth_asking(failure, method, url, key) and (
                failure.code == KEY_IN_USE or await self.honours_keys()
            )
            delay = self.retries.delay(failure, attempt, method, url.path, replayable=replayable)
            if delay is None:
                raise failure
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(
        self, method: str, url: httpx.URL, content: bytes | None, extra: dict[str, str]
    ) -> Answer:
        request = self.http.build_request(method, url, content=content, headers=extra or None)
        started = time.perf_counter()
        try:
            response = await self.http.send(request)
        except httpx.RequestError as error:
            _log(method, url, type(error).__name__, started)
            failed = _failed_request(error) or request
            culprit = safe_url(failed.url)
            api = failed is request
            raise transport_error(error, failed.method, culprit, api_request=api) from None
        _log(method, url, response.status_code, started)
        if response.is_success:
            return response
        raise from_response(response)


async def _never() -> bool:
    return False


def _failed_request(error: httpx.RequestError) -> httpx.Request | None:
    try:
        return error.request
    except RuntimeError:  # none attached
        return None


def _log(method: str, url: httpx.URL, status: int | str, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.perf_counter() - started) * 1000
        logger.debug("%s %s -> %s in %.0f ms", method, url.path, status, elapsed)
