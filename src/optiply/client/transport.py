"""``StdlibTransport``: an ``httpx`` transport on the standard library's ``http.client``.

Why: on HTTP/1.1 keep-alive, ``httpx``'s default transport (httpcore + h11) costs about 0.35 ms
of CPU per request on our 2-core benchmark machine; ``http.client`` does the same exchange for
about 0.05 ms. ``target-optiply`` sends one request per record, so that difference is most of
its CPU budget. Everything above the wire stays ``httpx``: requests, responses, auth flows,
timeouts and the exception classes the client's retry rules are written against.

What it does: a pool of idle keep-alive connections per origin, shared by threads (a
connection is used by one request at a time); a pooled connection the server has closed
meanwhile is noticed before use (its socket reads as ready) and replaced, so a POST is never
sent on a dead connection. TLS uses ``certifi``'s CA bundle, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set, as httpx does. It speaks HTTP/1.1 only and no proxies:
``OptiplyClient`` uses it only when the environment configures no proxy.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_MAX_IDLE = 32


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client`` with pooled keep-alive connections.

    Args:
        verify: Check TLS certificates (with ``certifi``'s bundle, or this ``SSLContext``).
        max_idle: Idle connections kept per origin; more are closed when released.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_idle: int = _MAX_IDLE) -> None:
        self._verify = verify
        self._context: ssl.SSLContext | None = (
            verify if isinstance(verify, ssl.SSLContext) else None
        )
        self._max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read the whole response."""
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        connection = self._acquire(origin, request, timeouts.get("connect"))
        try:
            if connection.sock is not None:
                connection.sock.settimeout(timeouts.get("write"))
            with _mapped(request, write=True):
                connection.putrequest(
                    request.method,
                    url.raw_path.decode("ascii"),
                    skip_host=True,
                    skip_accept_encoding=True,
                )
                for name, value in request.headers.raw:
                    connection.putheader(name, value)
                connection.endheaders(request.read() or None)
            sock = connection.sock
            if sock is not None:
                sock.settimeout(timeouts.get("read"))
            with _mapped(request, write=False):
                response = connection.getresponse()
                content = response.read()
        except BaseException:
            connection.close()
            raise
        reusable = not response.will_close
        if reusable:
            self._release(origin, connection)
        else:
            connection.close()
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            content=content,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    def close(self) -> None:
        """Close every idle connection; later requests fail."""
        with self._lock:
            self._closed = True
            pools, self._idle = self._idle, {}
        for connections in pools.values():
            for connection in connections:
                connection.close()

    def _acquire(
        self, origin: tuple[str, str, int], request: httpx.Request, connect_timeout: float | None
    ) -> http.client.HTTPConnection:
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
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=connect_timeout, context=self._ssl_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            connection.connect()
        except TimeoutError as error:
            raise httpx.ConnectTimeout(
                str(error) or "connect timed out", request=request
            ) from error
        except OSError as error:
            raise httpx.ConnectError(str(error) or type(error).__name__, request=request) from error
        sock = connection.sock
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _release(
        self, origin: tuple[str, str, int], connection: http.client.HTTPConnection
    ) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if self._verify and (cafile or capath):
                self._context = ssl.create_default_context(cafile=cafile, capath=capath)
            elif self._verify:
                import certifi  # an httpx dependency

                self._context = ssl.create_default_context(cafile=certifi.where())
            else:
                self._context = ssl.create_default_context()
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        return self._context


def _alive(connection: http.client.HTTPConnection) -> bool:
    """False when the server closed the idle connection (its socket reads as ready: EOF)."""
    sock = connection.sock
    if sock is None:
        return False
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
def _mapped(request: httpx.Request, *, write: bool) -> Iterator[None]:
    """Raise the ``httpx`` exception for what went wrong on the socket."""
    try:
        yield
    except TimeoutError as error:
        cls: type[httpx.TransportError] = httpx.WriteTimeout if write else httpx.ReadTimeout
        raise cls(str(error) or "timed out", request=request) from error
    except http.client.RemoteDisconnected as error:
        raise httpx.RemoteProtocolError(
            "the server closed the connection without a response", request=request
        ) from error
    except (http.client.HTTPException, ssl.SSLError) as error:
        raise httpx.RemoteProtocolError(
            str(error) or type(error).__name__, request=request
        ) from error
    except OSError as error:
        cls = httpx.WriteError if write else httpx.ReadError
        raise cls(str(error) or type(error).__name__, request=request) from error
