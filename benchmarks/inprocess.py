"""A request's cost on the event loop, in-process: no sockets, no wrk, no other process.

The ASGI app is called directly (``await app(scope, receive, send)``) on uvloop, one request
at a time, for a cached GET page of 100 products (``get``), a cold one (``cold``: each page
asked once, by ``links.next``) and a POST of one product (``post``); with the request journal
on and off, each on its own copy of the data, their rounds interleaved (a shared machine's
drift then touches both alike). Printed per request, medians of ``--rounds`` rounds: wall
time, the event loop thread's user and system CPU time and minor page faults, and the journal
writer thread's CPU time. What a change saves shows here in a minute, where ``scripts/bench``
needs many runs on a quiet machine.

    .venv/bin/python -m benchmarks.inprocess [--rows 100000] [--requests 2000] [--rounds 5]
        [--only get,cold,post] [--journal on,off] [--profile DIR]

``--profile DIR`` writes a cProfile of each measurement to ``DIR/<step>.prof``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import uvloop

from benchmarks import data
from optiply.server.app import create_app
from optiply.server.sandbox.journal import JournalWriter
from optiply.server.sandbox.journal_process import JournalProcess
from optiply.server.settings import Settings

MEDIA = b"application/vnd.api+json"
HOST = b"bench.local"


class Client:
    """Calls an ASGI app as uvicorn would, one request at a time."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token = ""

    async def request(
        self, method: str, path: str, query: bytes = b"", body: bytes = b"", **headers: str
    ) -> tuple[int, bytes]:
        raw_headers = [(b"host", HOST), (b"accept", MEDIA)]
        if self.token:
            raw_headers.append((b"authorization", f"Bearer {self.token}".encode()))
        raw_headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("bench.local", 80),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def lifespan(app: Any) -> tuple[asyncio.Queue[Any], asyncio.Task[Any]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    message = await outbox.get()
    assert message["type"] == "lifespan.startup.complete", message
    return inbox, task


def product_document(number: int) -> bytes:
    return orjson.dumps(
        {"data": {"type": "products", "attributes": {"name": f"Bench {number}", "stockLevel": 5}}}
    )


def _writer_cpu(journal: JournalProcess | JournalWriter | None) -> float:
    """Seconds of CPU the journal's writer has used: its thread's, or its process's (all its
    threads, from /proc); 0 without one."""
    if isinstance(journal, JournalWriter):
        ident = journal.thread.ident
        return 0.0 if ident is None else time.clock_gettime(time.pthread_getcpuclockid(ident))
    if journal is None or journal.pid is None:
        return 0.0
    tasks = Path(f"/proc/{journal.pid}/task")
    return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks.iterdir()) / 1e9


async def measure(
    name: str,
    requests: int,
    call: Callable[[int], Awaitable[None]],
    profile: Path | None,
    journal: JournalProcess | JournalWriter | None = None,
) -> dict[str, float]:
    """Per request over ``requests`` calls: µs of wall time, of the event loop thread's user
    and system CPU time, its minor page faults, and µs of the journal writer's CPU."""
    profiler = cProfile.Profile() if profile else None
    written = _writer_cpu(journal)
    wall, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_THREAD)
    if profiler:
        profiler.enable()
    for number in range(requests):
        await call(number)
    if profiler:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(profile / f"{name}.prof")
    after = resource.getrusage(resource.RUSAGE_THREAD)
    wall = time.perf_counter() - wall
    if journal is not None:  # the rows of these requests written: their CPU counted
        journal.flush()
    return {
        "writer": (_writer_cpu(journal) - written) / requests * 1e6,
        "wall": wall / requests * 1e6,
        "user": (after.ru_utime - before.ru_utime) / requests * 1e6,
        "sys": (after.ru_stime - before.ru_stime) / requests * 1e6,
        "faults": (after.ru_minflt - before.ru_minflt) / requests,
    }


class Setup:
    """One app (journal on or off) on its own copy of the data, with its steps."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = Client(app)
        self.tokens: dict[str, str] = {}
        self.next_link = FIRST_PAGE
        self.shutdown: tuple[asyncio.Queue[Any], asyncio.Task[Any]] | None = None

    async def token(self, login: data.Login) -> str:
        form = (
            f"grant_type=password&username={login.username}&password={login.password}"
            f"&client_id={login.client_id}&client_secret={login.client_secret}"
        )
        status, body = await self.client.request(
            "POST",
            "/api/auth/oauth/token",
            body=form.encode(),
            content_type="application/x-www-form-urlencoded",
        )
        assert status == 200, body
        return str(orjson.loads(body)["access_token"])

    async def get(self, _number: int) -> None:
        status, _ = await self.client.request("GET", "/v1/products", b"page[limit]=100")
        assert status == 200

    async def cold(self, _number: int) -> None:
        parts = urlsplit(self.next_link)
        status, body = await self.client.request("GET", parts.path, parts.query.encode())
        assert status == 200, body
        # The links close the document: read them, not the whole page (a client's cost).
        start = body.rindex(b'"links":') + 8
        link = orjson.loads(body[start : body.index(b"}", start) + 1]).get("next")
        self.next_link = link or FIRST_PAGE

    async def post(self, number: int) -> None:
        status, body = await self.client.request(
            "POST", "/v1/products", body=product_document(number), content_type=MEDIA.decode()
        )
        assert status == 201, body


FIRST_PAGE = "/v1/products?page[limit]=100"
TOKEN_OF = {"get": "page", "cold": "page", "post": "writes"}


async def setup(options: argparse.Namespace, journal: bool, work: Path) -> Setup:
    url, accounts = data.sqlite_database(
        page_rows=options.rows, export_rows=options.rows // 10, work_dir=work, log=lambda *_: None
    )
    logins = {
        "page": data.create_login(url, accounts.page),
        "writes": data.create_login(url, accounts.writes),
    }
    ready = Setup(create_app(Settings(database_url=url, journal=journal, access_log=False)))
    ready.shutdown = await lifespan(ready.app)
    for name, login in logins.items():
        ready.tokens[name] = await ready.token(login)
    return ready


async def run(options: argparse.Namespace, work: Path) -> dict[str, dict[str, list[float]]]:
    """The figures of each journal setting, its rounds interleaved with the other's."""
    setups: dict[str, Setup] = {}
    for setting in options.journal:
        (work / setting).mkdir()
        setups[setting] = await setup(options, setting == "on", work / setting)
    figures: dict[str, dict[str, list[float]]] = {setting: {} for setting in setups}
    for name in options.only:
        for ready in setups.values():
            ready.client.token = ready.tokens[TOKEN_OF[name]]
            await measure(name, min(200, options.requests), getattr(ready, name), None)
        for _ in range(options.rounds):
            for setting, ready in setups.items():
                journal = ready.app.state.journal
                if journal is not None:
                    journal.flush()
                measured = await measure(
                    name, options.requests, getattr(ready, name), options.profile, journal
                )
                for what, value in measured.items():
                    figures[setting].setdefault(f"{name} {what}", []).append(value)
    for ready in setups.values():
        assert ready.shutdown is not None
        inbox, task = ready.shutdown
        await inbox.put({"type": "lifespan.shutdown"})
        await task
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", type=lambda s: s.split(","), default=["get", "cold", "post"])
    parser.add_argument("--journal", type=lambda s: s.split(","), default=["on", "off"])
    parser.add_argument("--profile", type=Path)
    options = parser.parse_args(argv)
    if options.profile:
        options.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        results = uvloop.run(run(options, Path(work)))
    print(
        f"per request (µs; faults: minor page faults), "
        f"median of {options.rounds} rounds of {options.requests}:"
    )
    names = list(next(iter(results.values())))
    print(f"{'':12}" + "".join(f"{'journal ' + s:>14}" for s in results))
    for name in names:
        cells = "".join(f"{statistics.median(r[name]):>14.1f}" for r in results.values())
        print(f"{name:12}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
