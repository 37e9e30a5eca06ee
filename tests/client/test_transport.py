"""``Http11Transport`` against small real HTTP servers started by each test.

The servers are fakes of "some HTTP server" (which we do not own): a listening socket in a
thread, one thread per accepted connection, answering with scripted raw bytes. They count the
connections they accept and record every request exactly as it arrived on the wire.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

import web
from live import Login
from optiply.client.transport import Http11Transport

Handler = Callable[["Peer"], None]
Reply = Callable[[bytes], bytes]

FAST = httpx.Timeout(2.0)  # nothing here should ever take that long


class Peer:
    """One accepted connection, as the fake server sees it."""

    def __init__(self, sock: socket.socket, server: FakeServer) -> None:
        self.sock = sock
        self.server = server
        self.buffer = b""

    def read_request(self) -> bytes | None:
        """The next request exactly as received (head and Content-Length body); None at EOF."""
        while b"\r\n\r\n" not in self.buffer:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(header(head, "content-length") or 0)
        while len(rest) < length:
            data = self._recv()
            if not data:
                return None
            rest += data
        raw = head + b"\r\n\r\n" + rest[:length]
        self.buffer = rest[length:]
        self.server.record(raw)
        return raw

    def read_rest(self) -> bytes:
        """Everything else the client sends until it closes the connection."""
        data = self.buffer
        while chunk := self._recv():
            data += chunk
        self.buffer = b""
        return data

    def send(self, *parts: bytes, pause: float = 0.0) -> None:
        """Send ``parts`` as separate TCP writes, ``pause`` seconds apart."""
        for index, part in enumerate(parts):
            if index and pause:
                time.sleep(pause)
            self.sock.sendall(part)

    def wait_for_eof(self) -> bool:
        """Whether the client closed the connection (no further request came)."""
        return self.read_request() is None

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(1 << 16)
        except OSError:
            return b""


class FakeServer:
    """A TCP server on 127.0.0.1 serving each connection with ``handler`` in its own thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._peers: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def record(self, raw: bytes) -> None:
        with self._lock:
            self.requests.append(raw)

    def stop(self) -> None:
        self.stopping.set()
        try:  # wake the acceptor up
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._acceptor.join(2)
        self.listener.close()
        with self._lock:
            peers, threads = list(self._peers), list(self._threads)
        for sock in peers:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(2)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.stopping.is_set():
                sock.close()
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self.connections += 1
                self._peers.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handler(Peer(sock, self))
        except OSError:
            pass
        finally:
            sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    """``serve(handler)``: start a fake server; every one is stopped after the test."""
    servers: list[FakeServer] = []

    def start(handler: Handler) -> FakeServer:
        server = FakeServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with web.Client(transport=Http11Transport(), timeout=FAST) as http:
        yield http


# --- helpers -------------------------------------------------------------------------------


def response(
    body: bytes = b"",
    *,
    status: str = "200 OK",
    headers: tuple[tuple[str, str], ...] = (),
    length: bool = True,
) -> bytes:
    """A raw HTTP/1.1 response; ``Content-Length`` added unless ``length`` is False."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(*chunks: bytes) -> bytes:
    """``chunks`` in chunked transfer coding, with the last chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def header(head: bytes, name: str) -> str | None:
    """The value of the first header ``name`` in a raw request or response head."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.encode():
            return value.strip().decode()
    return None


def path_of(raw: bytes) -> str:
    return raw.split(b" ", 2)[1].decode()


def keep_alive(reply: Reply) -> Handler:
    """Answer every request on a connection with ``reply(request)``, until the client closes."""

    def handle(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            peer.send(reply(request))

    return handle


def once(*parts: bytes, pause: float = 0.0) -> Handler:
    """Read one request, send ``parts`` (as separate writes), then close the connection."""

    def handle(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(*parts, pause=pause)

    return handle


def echo_path(request: bytes) -> bytes:
    return response(path_of(request).encode())


@contextmanager
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# --- 1. framing of the response body -------------------------------------------------------


def test_content_length_body(serve: Callable[[Handler], FakeServer], client: httpx.Client) -> None:
    server = serve(keep_alive(lambda _: response(b"hello world", headers=(("X-A", "1"),))))
    answer = client.get(f"{server.url}/a")
    assert answer.status_code == 200
    assert answer.content == b"hello world"
    assert answer.headers["x-a"] == "1"
    assert answer.http_version == "HTTP/1.1"


def test_large_content_length_body_over_many_reads(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, far more than one recv
    head = response(body)[: -len(body)]
    server = serve(once(head, body[:1000], body[1000:]))
    assert client.get(server.url).content == body


def test_chunked_body_split_across_writes(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    raw = response(headers=(("Transfer-Encoding", "chunked"),), length=False)
    raw += chunked(b"first,", b"second,", b"x" * 3000, b"last")
    # Cut everywhere: inside the status line, a header, a chunk size, a chunk, a CRLF.
    cuts = [5, 20, len(raw) - 3030, len(raw) - 3020, len(raw) - 12, len(raw) - 4, len(raw) - 1]
    parts = [raw[start:end] for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    server = serve(once(*parts, pause=0.005))
    answer = client.get(server.url)
    assert answer.status_code == 200
    assert answer.content == b"first,second," + b"x" * 3000 + b"last"


def test_chunked_body_keeps_the_connection(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    reply = response(headers=(("Transfer-Encoding", "chunked"),), length=False) + chunked(b"ok")
    server = serve(keep_alive(lambda _: reply))
    assert [client.get(server.url).content for _ in range(3)] == [b"ok"] * 3
    assert server.connections == 1


def test_body_delimited_by_connection_close(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    head = response(headers=(("Connection", "close"),), length=False)
    server = serve(once(head, b"until ", b"the end", pause=0.005))
    answer = client.get(server.url)
    assert answer.status_code == 200
    assert answer.content == b"until the end"
    assert client.get(server.url).content == b"until the end"
    assert server.connections == 2


def test_body_delimited_by_close_without_connection_header(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    server = serve(once(response(length=False), b"no length at all"))
    assert client.get(server.url).content == b"no length at all"


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodyless_status_is_complete_after_the_head(
    serve: Callable[[Handler], FakeServer], client: httpx.Client, status: str
) -> None:
    # No Content-Length, the connection stays open: the response ends with its head.
    server = serve(
        keep_alive(lambda _: response(status=status, headers=(("ETag", '"1"'),), length=False))
    )
    first = client.get(server.url)
    second = client.get(server.url)
    assert first.status_code == second.status_code == int(status.split()[0])
    assert first.content == b""
    assert first.headers["etag"] == '"1"'
    assert server.connections == 1


def test_head_response_has_content_length_but_no_body(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    def reply(request: bytes) -> bytes:
        if request.startswith(b"HEAD "):
            return response(headers=(("Content-Length", "1234"),), length=False)
        return response(b"the body")

    server = serve(keep_alive(reply))
    head = client.head(server.url)
    assert head.status_code == 200
    assert head.headers["content-length"] == "1234"
    assert head.content == b""
    # The connection is still in step: the next response is read from its start.
    assert client.get(server.url).content == b"the body"
    assert server.connections == 1


def test_gzip_body_is_decoded(serve: Callable[[Handler], FakeServer], client: httpx.Client) -> None:
    document = {"data": [{"id": "1", "type": "products"}], "meta": {"n": 1}}
    body = gzip.compress(json.dumps(document).encode())
    headers = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    server = serve(keep_alive(lambda _: response(body, headers=headers)))
    answer = client.get(server.url)
    assert answer.json() == document
    assert "gzip" in (header(server.requests[0], "accept-encoding") or "")


# --- 2. keep-alive --------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    server = serve(keep_alive(echo_path))
    assert client.get(f"{server.url}/one").text == "/one"
    assert client.post(f"{server.url}/two", content=b"x").text == "/two"
    assert server.connections == 1
    assert len(server.requests) == 2


def test_connection_close_from_server_opens_a_new_connection(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    def handle(peer: Peer) -> None:  # keeps the socket open: only the header says "close"
        request = peer.read_request()
        if request is not None:
            peer.send(response(path_of(request).encode(), headers=(("Connection", "close"),)))
            peer.wait_for_eof()

    server = serve(handle)
    assert client.get(f"{server.url}/one").text == "/one"
    assert client.get(f"{server.url}/two").text == "/two"
    assert server.connections == 2
    assert [path_of(raw) for raw in server.requests] == ["/one", "/two"]


def test_idle_connection_closed_by_server_is_replaced(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    closed = threading.Event()

    def handle(peer: Peer) -> None:  # keep-alive promised, then the idle connection is dropped
        request = peer.read_request()
        if request is not None:
            peer.send(echo_path(request))
            peer.sock.close()
            closed.set()

    server = serve(handle)
    assert client.get(f"{server.url}/one").text == "/one"
    assert closed.wait(1)
    time.sleep(0.02)  # let the FIN reach the client's socket (loopback: immediate in practice)
    assert client.get(f"{server.url}/two").text == "/two"
    assert server.connections == 2
    assert [path_of(raw) for raw in server.requests] == ["/one", "/two"]


def test_connections_are_pooled_per_origin(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    first, second = serve(keep_alive(echo_path)), serve(keep_alive(echo_path))
    for _ in range(3):
        assert client.get(f"{first.url}/a").text == "/a"
        assert client.get(f"{second.url}/b").text == "/b"
    assert (first.connections, second.connections) == (1, 1)


# --- 3. interim responses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>\r\n\r\n",
    ],
    ids=["100", "103", "100+103"],
)
@pytest.mark.parametrize("split", [False, True], ids=["one-write", "two-writes"])
def test_interim_responses_are_skipped(
    serve: Callable[[Handler], FakeServer], client: httpx.Client, interim: bytes, split: bool
) -> None:
    final = response(b"final", headers=(("X-Final", "yes"),))

    def handle(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(*((interim, final) if split else (interim + final,)), pause=0.005)

    server = serve(handle)
    answer = client.get(server.url)
    assert answer.status_code == 200
    assert answer.content == b"final"
    assert answer.headers["x-final"] == "yes"
    assert "link" not in answer.headers
    assert client.get(server.url).content == b"final"  # the connection is still in step
    assert server.connections == 1


def test_interim_response_then_close_is_a_protocol_error(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    server = serve(once(b"HTTP/1.1 100 Continue\r\n\r\n"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(server.url)


# --- 4. failures mapped to httpx exceptions -------------------------------------------------


def test_connection_refused_is_connect_error(client: httpx.Client) -> None:
    with refused_port() as port, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


def test_close_without_answer_is_remote_protocol_error(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    server = serve(once())  # reads the request, closes without a byte
    with pytest.raises(httpx.RemoteProtocolError, match="without a response"):
        client.get(server.url)
    assert len(server.requests) == 1  # sent once, not re-sent


@pytest.mark.parametrize(
    "partial",
    [
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhel",
    ],
    ids=["in-head", "short-body", "chunked-no-last-chunk", "mid-chunk"],
)
def test_half_a_response_then_close_is_remote_protocol_error(
    serve: Callable[[Handler], FakeServer], client: httpx.Client, partial: bytes
) -> None:
    server = serve(once(partial))
    with pytest.raises(httpx.RemoteProtocolError, match="middle of a response"):
        client.get(server.url)


def test_no_answer_within_read_timeout_is_read_timeout(
    serve: Callable[[Handler], FakeServer],
) -> None:
    def handle(peer: Peer) -> None:
        peer.read_request()
        peer.server.stopping.wait(5)

    server = serve(handle)
    timeout = httpx.Timeout(2.0, read=0.2)
    with web.Client(transport=Http11Transport(), timeout=timeout) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.get(server.url)
        assert 0.15 < time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "garbage",
    [
        b"HELLO\r\n\r\n",
        b"HTTP/1.1 abc Nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
    ids=["not-http", "bad-status", "bad-length"],
)
def test_garbage_response_is_remote_protocol_error(
    serve: Callable[[Handler], FakeServer], client: httpx.Client, garbage: bytes
) -> None:
    def handle(peer: Peer) -> None:  # garbage, then the connection stays open
        if peer.read_request() is not None:
            peer.send(garbage)
            peer.wait_for_eof()

    server = serve(handle)
    with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
        client.get(server.url)


def test_a_failed_connection_is_not_reused(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    answers = iter([b"HELLO\r\n\r\n"])

    def handle(peer: Peer) -> None:  # the very first request gets garbage, then all is well
        while (request := peer.read_request()) is not None:
            peer.send(next(answers, None) or echo_path(request))

    server = serve(handle)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{server.url}/bad")
    assert client.get(f"{server.url}/good").text == "/good"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Note", "a\r\nX-Injected: 1"), ("X-Note", "a\nb"), ("X-Note", "a\rb")],
    ids=["crlf", "lf", "cr"],
)
def test_line_break_in_a_header_is_local_protocol_error_and_nothing_is_sent(
    serve: Callable[[Handler], FakeServer], client: httpx.Client, name: str, value: str
) -> None:
    server = serve(keep_alive(echo_path))
    with pytest.raises(httpx.LocalProtocolError, match="line break"):
        client.get(f"{server.url}/bad", headers={name: value})
    assert client.get(f"{server.url}/good").text == "/good"
    assert [path_of(raw) for raw in server.requests] == ["/good"]
    assert b"X-Injected" not in server.requests[0]
    assert server.connections == 1


def test_line_break_in_a_header_via_handle_request(
    serve: Callable[[Handler], FakeServer],
) -> None:
    server = serve(keep_alive(echo_path))
    transport = Http11Transport()
    request = httpx.Request("GET", server.url, headers={"X-Note": "a\r\n\r\nGET /smuggled"})
    with pytest.raises(httpx.LocalProtocolError, match="line break"):
        transport.handle_request(request)
    transport.close()
    assert server.connections == 0
    assert server.requests == []


# --- 5. threads sharing one transport -------------------------------------------------------


def test_threads_sharing_the_transport_get_their_own_responses(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    threads, per_thread = 8, 20
    server = serve(keep_alive(echo_path))
    start = threading.Barrier(threads)
    results: dict[int, list[tuple[str, str]]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait(2)
            got = []
            for index in range(per_thread):
                path = f"/t{worker}/r{index}"
                got.append((path, client.get(f"{server.url}{path}").text))
            results[worker] = got
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(10)
    assert errors == []
    assert sorted(results) == list(range(threads))
    for got in results.values():
        assert [path for path, _ in got] == [text for _, text in got]
    assert len(server.requests) == threads * per_thread
    assert 1 <= server.connections <= threads


# --- 6. close -------------------------------------------------------------------------------


def test_close_closes_idle_connections_and_later_requests_fail(
    serve: Callable[[Handler], FakeServer],
) -> None:
    eof = threading.Event()

    def handle(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            peer.send(echo_path(request))
        eof.set()

    server = serve(handle)
    transport = Http11Transport()
    with web.Client(transport=transport, timeout=FAST) as http:
        assert http.get(f"{server.url}/one").text == "/one"
        assert not eof.is_set()
        transport.close()
        assert eof.wait(1), "the idle connection was not closed"
        with pytest.raises(RuntimeError):
            transport.handle_request(httpx.Request("GET", server.url))
    assert server.connections == 1
    assert len(server.requests) == 1


def test_client_close_closes_the_transport(serve: Callable[[Handler], FakeServer]) -> None:
    eof = threading.Event()

    def handle(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            peer.send(echo_path(request))
        eof.set()

    server = serve(handle)
    transport = Http11Transport()
    with web.Client(transport=transport, timeout=FAST) as http:
        http.get(server.url)
    assert eof.wait(1)
    with pytest.raises(RuntimeError):
        transport.handle_request(httpx.Request("GET", server.url))


def test_connection_in_use_at_close_is_closed_after_its_response(
    serve: Callable[[Handler], FakeServer],
) -> None:
    received, release, eof = threading.Event(), threading.Event(), threading.Event()

    def handle(peer: Peer) -> None:
        request = peer.read_request()
        received.set()
        release.wait(2)
        if request is not None:
            peer.send(echo_path(request))
        if peer.wait_for_eof():
            eof.set()

    server = serve(handle)
    transport = Http11Transport()
    answers: list[httpx.Response] = []
    thread = threading.Thread(
        target=lambda: answers.append(transport.handle_request(httpx.Request("GET", server.url)))
    )
    thread.start()
    assert received.wait(1)
    transport.close()
    release.set()
    thread.join(2)
    assert [answer.read().decode() for answer in answers] == ["/"]
    assert eof.wait(1), "the connection was pooled after close()"


# --- 7. the request on the wire -------------------------------------------------------------


def test_request_bytes_on_the_wire(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    rest: list[bytes] = []
    done = threading.Event()

    def handle(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(response(b"ok"))
            rest.append(peer.read_rest())
            done.set()

    server = serve(handle)
    body = b'{"data":{"type":"products"}}'
    answer = client.post(
        f"{server.url}/v1/products?accountId=7&a=b%20c",
        content=body,
        headers={"X-Trace": "abc", "Content-Type": "application/vnd.api+json"},
    )
    assert answer.content == b"ok"
    client.close()
    assert done.wait(1)
    assert rest == [b""]  # nothing after the body (and the client closed the connection)

    (raw,) = server.requests
    head, _, sent_body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    assert request_line == "POST /v1/products?accountId=7&a=b%20c HTTP/1.1"
    assert sent_body == body
    names = [line.split(":", 1)[0].lower() for line in lines]
    values = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines}
    for name in (
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "content-length",
        "content-type",
        "x-trace",
    ):
        assert names.count(name) == 1, name
    assert "transfer-encoding" not in names
    assert values["host"] == f"127.0.0.1:{server.port}"
    assert values["content-length"] == str(len(body))
    assert values["content-type"] == "application/vnd.api+json"
    assert values["x-trace"] == "abc"
    assert all(": " in line for line in lines)


def test_get_without_body_has_no_content_length(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    server = serve(keep_alive(echo_path))
    client.get(f"{server.url}/")
    (raw,) = server.requests
    assert raw.startswith(b"GET / HTTP/1.1\r\n")
    assert raw.endswith(b"\r\n\r\n")
    assert header(raw, "content-length") is None


def test_large_request_body_is_sent_whole(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    body = bytes(range(256)) * 1024 + b"end"  # more than one 64 KiB write
    server = serve(
        keep_alive(lambda raw: response(str(len(raw.partition(b"\r\n\r\n")[2])).encode()))
    )
    assert client.put(f"{server.url}/big", content=body).text == str(len(body))
    assert server.requests[0].endswith(body)
    assert client.get(f"{server.url}/after").status_code == 200  # still in step
    assert server.connections == 1


def test_streamed_request_body_is_chunk_encoded(
    serve: Callable[[Handler], FakeServer], client: httpx.Client
) -> None:
    expected = chunked(b"hello, world")  # read whole first, then sent as one chunk
    received: list[bytes] = []

    def handle(peer: Peer) -> None:  # the body as it arrives within 0.2 s, then an answer
        if peer.read_request() is None:  # the head only: there is no Content-Length
            return
        data = peer.buffer
        peer.sock.settimeout(0.2)
        while len(data) < len(expected) and (chunk := peer._recv()):
            data += chunk
        received.append(data)
        peer.send(response(b"ok"))

    server = serve(handle)

    def parts() -> Iterator[bytes]:
        yield b"hello, "
        yield b"world"

    assert client.post(server.url, content=parts()).content == b"ok"
    assert header(server.requests[0], "transfer-encoding") == "chunked"
    assert received == [expected]


# --- 8. through OptiplyClient, on the live server -------------------------------------------


def test_optiply_client_uses_the_transport_by_default(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    calls: list[str] = []
    original = Http11Transport.exchange

    def counted(self: Http11Transport, origin: Any, head: bytes, *args: Any, **kw: Any) -> Any:
        calls.append(head.split(b"?", 1)[0].split(b" HTTP/", 1)[0].decode())
        return original(self, origin, head, *args, **kw)

    monkeypatch.setattr(Http11Transport, "exchange", counted)
    with login.optiply_client() as api:
        assert isinstance(api._sender.wire, Http11Transport)
        created = api.create(
            "products", {"name": "Transport mug", "stockLevel": 3, "price": Decimal("4.50")}
        )
        fetched = api.get("products", created.id)
    assert fetched == created
    assert created.attributes["name"] == "Transport mug"
    assert created.attributes["price"] == "4.50"
    assert "POST /v1/products" in calls
    assert f"GET /v1/products/{created.id}" in calls
