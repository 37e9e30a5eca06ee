"""``Http11Transport``: an ``httpx`` transport for HTTP/1.1 keep-alive, parsed by ``httptools``.

Why not httpx's own transport: on our 2-core benchmark machine a POST round trip through httpx
with httpcore + h11 cost 0.78 ms of CPU, and 0.44 ms with ``http.client`` underneath (which
parses headers with the ``email`` package); ``target-optiply`` sends one request per record, so
that was most of its CPU budget. Here a request is one ``sendall`` of prebuilt bytes and the
response is parsed by ``httptools`` (llhttp, in C, the parser under uvicorn): about 0.1 ms. What
is hand-written is the part no library offers without its own client around it: serializing the
request head, the connection pool and mapping socket failures to httpx's exceptions. Everything
above the wire stays ``httpx``: requests, responses (content decoding included), auth flows,
timeouts and the exception classes the client's retry rules are written against; ``exchange``
is the same wire step for callers that serialize requests themselves (``OptiplyClient``'s send
path, ``optiply.client.send``).

What it does: a pool of idle keep-alive connections per origin, shared by threads (one request
at a time per connection); a pooled connection the server closed meanwhile is noticed before
use (its socket reads as ready: EOF) and replaced, so a request is never written to a dead
connection. TLS uses ``certifi``'s CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set,
as httpx does. HTTP/1.1 only, no proxies: ``OptiplyClient`` uses it only when the environment
configures no proxy.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

import httptools
import httpx

_MAX_IDLE = 32
_READ_SIZE = 1 << 16
Origin = tuple[str, str, int]  # scheme, host, port


class Answer(NamedTuple):
    """A response as read: status, headers as sent, the body (still content-encoded)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    version: bytes


def origin(url: httpx.URL) -> Origin:
    """Where a URL's connection goes."""
    return (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))


class Http11Transport(httpx.BaseTransport):
    """HTTP/1.1 over pooled keep-alive connections; responses parsed by ``httptools``.

    Args:
        verify: Check TLS certificates (with ``certifi``'s bundle, or this ``SSLContext``).
        max_idle: Idle connections kept per origin; more are closed when released.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_idle: int = _MAX_IDLE) -> None:
        self._verify = verify
        self._context = verify if isinstance(verify, ssl.SSLContext) else None
        self._max_idle = max_idle
        self._idle: dict[Origin, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read the whole response."""
        url = request.url
        body = request.read()
        if body and request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)  # a streamed body, read
        try:
            answer = self.exchange(
                origin(url),
                _head(request),
                body,
                request.extensions.get("timeout", {}),
                head_only=request.method == "HEAD",
            )
        except httpx.TransportError as error:
            error.request = request
            raise
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),  # headers as the server sent them
            extensions={"http_version": answer.version},
        )

    def exchange(
        self,
        origin: Origin,
        head: bytes,
        body: bytes,
        timeouts: Mapping[str, float | None],
        *,
        head_only: bool = False,
    ) -> Answer:
        """Send a request already serialized (``head``: request line and headers, ``body``)
        on a pooled connection and read the answer; the layer ``handle_request`` and the
        client's send path share. Raises httpx's transport exceptions (without a request)."""
        sock = self._acquire(origin, timeouts.get("connect"))
        try:
            with _mapped(write=True):
                _timeout(sock, timeouts.get("write"))
                if len(body) < _READ_SIZE:
                    sock.sendall(head + body)  # one segment for the usual small request
                else:
                    sock.sendall(head)
                    sock.sendall(body)
            with _mapped(write=False):
                _timeout(sock, timeouts.get("read"))
                response = _read_response(sock, head_only)
        except BaseException:
            sock.close()
            raise
        if response.keep_alive:
            self._release(origin, sock)
        else:
            sock.close()
        return Answer(response.status, response.headers, b"".join(response.body), response.version)

    def close(self) -> None:
        """Close every idle connection; later requests fail."""
        with self._lock:
            self._closed = True
            pools, self._idle = self._idle, {}
        for connections in pools.values():
            for sock in connections:
                sock.close()

    def _acquire(self, origin: Origin, connect_timeout: float | None) -> socket.socket:
        with self._lock:
            if self._closed:
                raise RuntimeError("the transport is closed")
            idle = self._idle.get(origin)
            while idle:
                pooled = idle.pop()
                if _alive(pooled):
                    return pooled
                pooled.close()
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._ssl_context().wrap_socket(sock, server_hostname=host)
        except TimeoutError as error:
            detail = str(error) or "connect timed out"
            raise httpx.ConnectTimeout(detail) from error
        except OSError as error:
            detail = str(error) or type(error).__name__
            raise httpx.ConnectError(detail) from error
        return sock

    def _release(self, origin: Origin, sock: socket.socket) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(sock)
                return
        sock.close()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if self._verify and (cafile or capath):
                context = ssl.create_default_context(cafile=cafile, capath=capath)
            elif self._verify:
                import certifi  # an httpx dependency

                context = ssl.create_default_context(cafile=certifi.where())
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["http/1.1"])
            self._context = context
        return self._context


def _head(request: httpx.Request) -> bytes:
    """The request line and headers (httpx has set Host and Content-Length already)."""
    try:
        lines = header_lines(request.headers.raw)
    except httpx.LocalProtocolError as error:
        error.request = request
        raise
    return request_line(request.method, request.url.raw_path) + lines + b"\r\n"


def request_line(method: str, raw_path: bytes) -> bytes:
    """``METHOD /path?query HTTP/1.1``, CRLF-terminated."""
    return b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), raw_path)


def header_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``Name: value`` lines, CRLF-terminated; a line break inside one is refused."""
    lines: list[bytes] = []
    for name, value in headers:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError("a header contains a line break")
        lines += (name, b": ", value, b"\r\n")
    return b"".join(lines)


class _Response:
    """The callbacks ``httptools`` calls while parsing; interim (1xx) responses are skipped."""

    __slots__ = (
        "body",
        "complete",
        "headers",
        "headers_complete",
        "keep_alive",
        "parser",
        "status",
        "version",
    )

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.version = b"HTTP/1.1"
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_complete = False
        self.complete = False
        self.keep_alive = False

    def on_message_begin(self) -> None:
        self.headers, self.body, self.headers_complete = [], [], False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.headers_complete:  # after them: a chunked body's trailers, not kept
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.version = b"HTTP/" + self.parser.get_http_version().encode("ascii")
        self.keep_alive = self.parser.should_keep_alive()  # asked later, llhttp says no
        self.headers_complete = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # interim: the real response follows
            self.headers, self.headers_complete = [], False
        else:
            self.complete = True


def _read_response(sock: socket.socket, head_only: bool) -> _Response:
    """Read one response from ``sock``."""
    response = _Response()
    received = False
    while not response.complete:
        if head_only and response.headers_complete and response.status >= 200:
            return response  # no body follows, whatever Content-Length says
        data = sock.recv(_READ_SIZE)
        if not data:
            if not received:
                raise httpx.RemoteProtocolError(
                    "the server closed the connection without a response"
                )
            if response.headers_complete and _until_close(response.headers):
                return response  # a body delimited by the end of the connection
            raise httpx.RemoteProtocolError(
                "the server closed the connection in the middle of a response"
            )
        received = True
        try:
            response.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise httpx.RemoteProtocolError("unexpected upgrade") from None
        except httptools.HttpParserError as error:
            raise httpx.RemoteProtocolError(f"malformed response: {error}") from None
    return response


def _until_close(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return b"content-length" not in names and b"transfer-encoding" not in names


def _timeout(sock: socket.socket, seconds: float | None) -> None:
    # Each settimeout() is a system call (it sets O_NONBLOCK again); usually nothing changes.
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


def _alive(sock: socket.socket) -> bool:
    """False when the server closed the idle connection (its socket reads as ready: EOF)."""
    try:
        if hasattr(select, "poll"):  # any descriptor number, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def proxies_configured() -> bool:
    """Whether the environment names an HTTP proxy (``HTTPS_PROXY``, ``ALL_PROXY``...)."""
    import urllib.request

    return any(key in ("http", "https", "all") for key in urllib.request.getproxies())


@contextmanager
def _mapped(*, write: bool) -> Iterator[None]:
    """Raise the ``httpx`` exception for what went wrong on the socket."""
    try:
        yield
    except TimeoutError as error:
        cls: type[httpx.TransportError] = httpx.WriteTimeout if write else httpx.ReadTimeout
        raise cls(str(error) or "timed out") from error
    except ssl.SSLError as error:
        raise httpx.RemoteProtocolError(str(error) or "TLS error") from error
    except OSError as error:
        cls = httpx.WriteError if write else httpx.ReadError
        raise cls(str(error) or type(error).__name__) from error
