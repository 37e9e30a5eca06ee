"""The server benchmark: throughput, export cost and memory, each next to a same-run baseline.

Run it with ``scripts/bench`` (which installs wrk and the project first); ``--help`` lists the
options. Every figure comes from a real ``optiply serve`` process, driven over HTTP by wrk (or,
for the export, by one keep-alive httpx connection following ``links.next``), and is printed
next to a bare Starlette app under the same uvicorn settings serving bytes of the same size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import platform
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from benchmarks import data
from benchmarks.load import JSONAPI, LoadError, LoadResult, run_wrk, wrk_path
from optiply.server.storage.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PAGE_QUERY = "/v1/products?page[limit]=100"
LINES_QUERY = "/v1/sellOrderLines?page[limit]=100"
WALK_PAGES = 64
"""Pages of an export kept for the bare app's walk (served in turn)."""
PAGE_LIMIT = 100  # of PAGE_QUERY and LINES_QUERY
EXPORT_BLOCK = 250
"""Pages walked from our server, then from the bare app, in turn."""
TOKEN_PATH = "/api/auth/oauth/token"
POST_BODY = orjson.dumps(
    {
        "data": {
            "type": "products",
            "attributes": {
                "name": "Bench product",
                "skuCode": "BENCH-0001",
                "eanCode": "8712345678906",
                "price": 12.5,
                "stockLevel": 10,
                "minimumStock": 2,
                "remoteId": "bench-1",
            },
        }
    }
)
STEPS = (
    "sqlite-get",
    "sqlite-post",
    "sqlite-export",
    "sqlite-journal",
    "postgres-get",
    "postgres-post",
    "postgres-export",
    "postgres-journal",
    "postgres-workers",
)
JOURNAL_GOAL = 0.10
"""Journaling on may cost at most this share of GET and POST throughput."""
GET_GOAL, POST_GOAL, RATIO_GOAL = 1_000.0, 2_000.0, 1.3
EXPORT_GOAL = 1.5
"""An export may take at most this multiple of the same walk of the same bytes from a bare app."""

# Wide enough for the table when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


# --- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What to run and how hard."""

    quick: bool
    runs: int
    duration: float
    warmup: float
    threads: int
    connections: int
    page_rows: int
    export_rows: int
    export_budget: float
    postgres_url: str | None
    only: tuple[str, ...]
    output: Path

    def wants(self, step: str) -> bool:
        """Whether ``--only`` selects ``step`` (a full name, or one of its parts)."""
        if not self.only:
            return True
        return any(token == step or token in step.split("-") for token in self.only)


def parse_options(argv: list[str]) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description="Benchmark the Optiply API server (see README.md)."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small data (10,000 + 50,000 products), 1 run of 3 s: checks the harness works",
    )
    parser.add_argument("--runs", type=int, help="wrk runs per figure; medians are reported")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--page-rows", type=int, help="products behind the GET page figure")
    parser.add_argument(
        "--export-rows",
        type=int,
        help="products, and sell order lines, in the exported account",
    )
    parser.add_argument(
        "--export-budget",
        type=float,
        help="give up an export after this many seconds (default 900; 120 with --quick)",
    )
    parser.add_argument(
        "--postgres-url",
        help="a PostgreSQL server to create a scratch database on "
        f"(default: $OPTIPLY_BENCH_POSTGRES_URL, else {DEFAULT_POSTGRES_URL} if reachable)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL figures")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these steps (repeatable, comma-separated; a step or a part of one: "
        f"{', '.join(STEPS)}; e.g. 'sqlite', 'get', 'export')",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results file")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    only = tuple(t.strip() for item in args.only for t in item.split(",") if t.strip())
    known = {part for step in STEPS for part in (step, *step.split("-"))}
    for token in only:
        if token not in known:
            parser.error(f"--only {token!r} matches no step ({', '.join(STEPS)})")
    postgres_url = None
    if not args.no_postgres:
        postgres_url = args.postgres_url or os.environ.get("OPTIPLY_BENCH_POSTGRES_URL")
        if postgres_url is None and _reachable(DEFAULT_POSTGRES_URL):
            postgres_url = DEFAULT_POSTGRES_URL
    runs = args.runs if args.runs is not None else (1 if quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    return Options(
        quick=quick,
        runs=runs,
        duration=args.duration or (3.0 if quick else 10.0),
        warmup=1.0 if quick else 2.0,
        threads=args.threads,
        connections=max(args.connections, args.threads),
        page_rows=args.page_rows or (10_000 if quick else 100_000),
        export_rows=args.export_rows or (50_000 if quick else 1_000_000),
        export_budget=args.export_budget or (120.0 if quick else 900.0),
        postgres_url=postgres_url,
        only=only,
        output=args.output,
    )


def _reachable(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def process(command: list[str], log_file: Path, health_url: str) -> Iterator[int]:
    """Run ``command`` in its own session until the block ends; yields its pid once healthy."""
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if child.poll() is not None:
                raise RuntimeError(
                    f"{shlex.join(command)} exited with {child.returncode}:\n{_tail(log_file)}"
                )
            try:
                if httpx.get(health_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{shlex.join(command)} did not become healthy")
            time.sleep(0.1)
        yield child.pid
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # the session we started, and only it
            child.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Server:
    """A running ``optiply serve``."""

    url: str
    pid: int
    database_url: str


@contextmanager
def optiply_serve(
    database_url: str, work_dir: Path, *, workers: int = 1, extra: tuple[str, ...] = ()
) -> Iterator[Server]:
    """``optiply serve`` exactly as users start it (plus ``extra`` options), on a free port."""
    port = free_port()
    command = [
        str(VENV_BIN / "optiply"),
        "serve",
        "--database-url",
        database_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra,
    ]
    url = f"http://127.0.0.1:{port}"
    with process(command, work_dir / f"optiply-serve-{port}.log", url + "/health") as pid:
        yield Server(url, pid, database_url)


@contextmanager
def baseline_serve(
    page: bytes, created: bytes, work_dir: Path, walk: list[bytes] | None = None, pages: int = 0
) -> Iterator[str]:
    """The bare Starlette app serving ``page`` and ``created`` (and a walk of ``pages`` pages
    made of the bodies ``walk``: ``benchmarks/baseline.py``); yields its URL."""
    port = free_port()
    page_file, created_file = work_dir / "baseline-page.json", work_dir / "baseline-created.json"
    page_file.write_bytes(page)
    created_file.write_bytes(created)
    command = [
        sys.executable,
        "-m",
        "benchmarks.baseline",
        str(page_file),
        str(created_file),
        str(port),
    ]
    if walk:
        walk_file = work_dir / "baseline-walk.pickle"
        walk_file.write_bytes(pickle.dumps(walk))
        command += [str(walk_file), str(pages)]
    url = f"http://127.0.0.1:{port}"
    with process(command, work_dir / f"baseline-{port}.log", url + "/health"):
        yield url


@contextmanager
def post_floor_serve(database_url: str, work_dir: Path) -> Iterator[str]:
    """The floor app of ``POST /v1/products`` on a SQLite database (``benchmarks/post_floor.py``);
    yields its URL."""
    port = free_port()
    database_file = make_url(database_url).database
    assert database_file, database_url
    command = [sys.executable, "-m", "benchmarks.post_floor", database_file, str(port)]
    url = f"http://127.0.0.1:{port}"
    with process(command, work_dir / f"post-floor-{port}.log", url + "/health"):
        yield url


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def memory_kib(pid: int, field_name: str) -> int:
    """The sum of a /proc status field (VmHWM: peak RSS, VmRSS: current) over a process tree."""
    total = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(field_name + ":"):
                total += int(line.split()[1])
    return total


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM over a process tree (``5`` into ``/proc/PID/clear_refs``, Linux ≥ 4.0).

    Without it the peak would be the process's lifetime peak, which the Argon2 hash of the
    token request (64 MiB by default) dominates.
    """
    done = True
    for member in process_tree(pid):
        try:
            Path(f"/proc/{member}/clear_refs").write_text("5")
        except OSError:
            done = False
    return done


# --- measurements -------------------------------------------------------------------------


def token(server_url: str, login: data.Login) -> str:
    """An access token from the password grant."""
    response = httpx.post(
        server_url + TOKEN_PATH,
        data={"grant_type": "password", "username": login.username, "password": login.password},
        auth=(login.client_id, login.client_secret),
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Accept": JSONAPI, "Content-Type": JSONAPI}


def sample_responses(server: Server, page_token: str, write_token: str) -> tuple[bytes, bytes]:
    """A real 100-product page and a real 201 document: the baseline serves these bytes."""
    page = httpx.get(server.url + PAGE_QUERY, headers=_headers(page_token), timeout=60)
    page.raise_for_status()
    if len(page.json()["data"]) != 100:
        raise RuntimeError("the page account holds fewer than 100 products")
    created = httpx.post(
        server.url + "/v1/products", content=POST_BODY, headers=_headers(write_token), timeout=60
    )
    if created.status_code != 201:
        raise RuntimeError(f"POST /v1/products answered {created.status_code}: {created.text}")
    return page.content, created.content


@dataclass
class Throughput:
    """Median throughput of several wrk runs, with every run kept."""

    runs: list[LoadResult]

    @property
    def rps(self) -> float:
        """Median requests per second."""
        return statistics.median(r.requests_per_second for r in self.runs)

    @property
    def p50_ms(self) -> float:
        """Median of the runs' median latencies."""
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        """Median of the runs' 99th-percentile latencies."""
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        """Failed requests over all runs."""
        return sum(r.errors for r in self.runs)

    def json(self) -> dict[str, Any]:
        """For the results file."""
        return {
            "errors": self.errors,
            "median_rps": round(self.rps, 1),
            "median_p50_ms": round(self.p50_ms, 3),
            "median_p99_ms": round(self.p99_ms, 3),
            "runs": [asdict(r) for r in self.runs],
        }


def compare(
    options: Options, targets: dict[str, tuple[str, str]], *, method: str = "GET"
) -> dict[str, Throughput]:
    """Warm each target up, then run wrk ``options.runs`` times on each, interleaved.

    ``targets`` maps a name to (url, token). Interleaving spreads any drift in the machine's
    load (other processes share it) over every target alike.
    """
    body = POST_BODY if method == "POST" else None

    def once(url: str, access_token: str, duration: float) -> LoadResult:
        return run_wrk(
            url,
            token=access_token,
            method=method,
            body=body,
            duration=duration,
            threads=options.threads,
            connections=options.connections,
        )

    for url, access_token in targets.values():
        once(url, access_token, options.warmup)
    results: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for run in range(options.runs):
        for name, (url, access_token) in targets.items():
            result = once(url, access_token, options.duration)
            results[name].append(result)
            failed = f"  [red]{result.errors:,} FAILED requests[/red]" if result.errors else ""
            console.print(
                f"    run {run + 1}/{options.runs} {name:<10} "
                f"{result.requests_per_second:>9,.0f} req/s  p50 {result.p50_ms:.2f} ms  "
                f"p99 {result.p99_ms:.2f} ms  (load avg {result.load_average:.2f}){failed}"
            )
    return {name: Throughput(runs) for name, runs in results.items()}


@dataclass
class Export:
    """Following ``links.next`` from the first page to the end (or to the time budget)."""

    pages: int
    rows: int
    unique_ids: int
    expected_rows: int
    total_seconds: float
    complete: bool
    first_ms: float  # median of the first 10 pages
    last_ms: float  # median of the last 10 pages
    rss_before_kib: int
    peak_rss_kib: int  # VmHWM reset just before the export; sampled VmRSS if it cannot be
    peak_is_vmhwm: bool
    page_ms_by_decile: list[float] = field(default_factory=list)
    rss_mib_by_decile: list[float] = field(default_factory=list)  # current RSS, sampled
    next_link_sample: str | None = None
    resource: str = "products"
    bare_seconds: float | None = None  # the same walk of the same bytes from the bare app

    @property
    def bare_ratio(self) -> float:
        """The export's time over the bare app's for the same walk."""
        return self.total_seconds / self.bare_seconds if self.bare_seconds else float("nan")

    @property
    def ratio(self) -> float:
        """Cost of the last pages over the first."""
        return self.last_ms / self.first_ms if self.first_ms else float("nan")

    @property
    def tenths_ratio(self) -> float:
        """Median page cost of the last tenth of the pages over the first tenth's (steadier)."""
        deciles = self.page_ms_by_decile
        return deciles[-1] / deciles[0] if deciles and deciles[0] else float("nan")


class Walker:
    """Follows ``links.next`` verbatim from ``url`` over one keep-alive connection, timing
    every page, as many pages at a time as asked (``advance``): the export's client, also run
    against the bare app (``benchmarks/baseline.py``) so that both walks cost the client the
    same. ``keep``: the first pages' bodies to keep (those with a next link); ``pid``: the
    server process whose RSS is sampled every 50 pages; ``label``: progress every 1,000 pages."""

    def __init__(
        self, url: str, access_token: str, *, keep: int = 0, pid: int = 0, label: str = ""
    ) -> None:
        self.client = httpx.Client(headers=_headers(access_token), timeout=120)
        self.next_url: str | None = url
        self.keep, self.pid, self.label = keep, pid, label
        self.times: list[float] = []
        self.rss: list[int] = []
        self.ids: set[str] = set()
        self.kept: list[bytes] = []
        self.rows = 0
        self.sample: str | None = None
        self.seconds = 0.0  # spent walking, summed over the blocks

    def advance(self, pages: float, budget: float = float("inf")) -> None:
        """Walk up to ``pages`` more pages, stopping at the end or once ``budget`` seconds
        of walking are spent."""
        client, times = self.client, self.times
        walked = 0
        started = time.perf_counter()
        while self.next_url is not None and walked < pages:
            if self.seconds + time.perf_counter() - started > budget:
                break
            before = time.perf_counter()
            response = client.get(self.next_url)
            times.append(time.perf_counter() - before)
            walked += 1
            response.raise_for_status()
            document = orjson.loads(response.content)
            self.rows += len(document["data"])
            self.ids.update(resource["id"] for resource in document["data"])
            following = (document.get("links") or {}).get("next")
            if len(times) == 2:
                self.sample = following
            if following and len(self.kept) < self.keep:
                self.kept.append(response.content)
            self.next_url = urllib.parse.urljoin(self.next_url, following) if following else None
            if self.pid and len(times) % 50 == 0:
                self.rss.append(memory_kib(self.pid, "VmRSS"))
            if self.label and len(times) % 1000 == 0:
                console.print(
                    f"    {len(times):,} pages, {self.rows:,} rows, "
                    f"{self.seconds + time.perf_counter() - started:.0f} s, "
                    f"last page {times[-1] * 1e3:.1f} ms"
                )
        self.seconds += time.perf_counter() - started

    @property
    def complete(self) -> bool:
        """Whether the last page was reached."""
        return self.next_url is None

    def close(self) -> None:
        self.client.close()


def export(
    server: Server,
    access_token: str,
    expected_rows: int,
    budget: float,
    query: str,
    work_dir: Path,
) -> Export:
    """Walk ``query``'s pages by ``links.next``, and the same number of pages of the same bytes
    from the bare app, in alternate blocks of ``EXPORT_BLOCK`` pages (so that a machine whose
    speed drifts over the minutes of an export slows both alike); the figures."""
    rss_before = memory_kib(server.pid, "VmRSS")
    peak_reset = reset_peak_rss(server.pid)
    ours = Walker(server.url + query, access_token, keep=WALK_PAGES, pid=server.pid, label="ours")
    bare: Walker | None = None
    try:
        ours.advance(max(EXPORT_BLOCK, WALK_PAGES + 1), budget)  # the bare app's bodies first
        pages = -(-expected_rows // PAGE_LIMIT)
        with baseline_serve(b"{}", b"{}", work_dir, ours.kept, pages) as bare_url:
            bare = Walker(bare_url + "/walk?n=0", access_token)
            bare.advance(len(ours.times))
            while not ours.complete and ours.seconds < budget:
                ours.advance(EXPORT_BLOCK, budget)
                bare.advance(EXPORT_BLOCK)
            bare.advance(len(ours.times) - len(bare.times))
    finally:
        ours.close()
        if bare is not None:
            bare.close()
    times, rss = ours.times, ours.rss
    deciles = [statistics.median(chunk) * 1e3 for chunk in _deciles(times)]
    rss_deciles = [max(chunk) / 1024 for chunk in _deciles(rss)]
    same_walk = bare is not None and bare.complete and bare.rows == ours.rows
    return Export(
        pages=len(times),
        rows=ours.rows,
        unique_ids=len(ours.ids),
        expected_rows=expected_rows,
        total_seconds=ours.seconds,
        complete=ours.complete,
        first_ms=statistics.median(times[:10]) * 1e3,
        last_ms=statistics.median(times[-10:]) * 1e3,
        rss_before_kib=rss_before,
        peak_rss_kib=max(memory_kib(server.pid, "VmHWM"), *rss, 0)
        if peak_reset
        else max([rss_before, *rss]),
        peak_is_vmhwm=peak_reset,
        page_ms_by_decile=[round(d, 2) for d in deciles],
        rss_mib_by_decile=[round(r, 1) for r in rss_deciles],
        next_link_sample=ours.sample,
        resource=query.split("?")[0].rsplit("/", 1)[-1],
        bare_seconds=bare.seconds if same_walk and bare is not None and ours.complete else None,
    )


def _deciles(values: list[Any]) -> list[list[Any]]:
    """``values`` cut into ten consecutive parts (fewer when there are fewer than ten)."""
    parts = [values[i * len(values) // 10 : (i + 1) * len(values) // 10] for i in range(10)]
    return [part for part in parts if part]


# --- the report ---------------------------------------------------------------------------


@dataclass
class Figure:
    """One line of the report."""

    name: str
    ours: str
    baseline: str
    goal: str
    met: bool | None
    data: dict[str, Any]


def _rps(throughput: Throughput) -> str:
    failed = f", {throughput.errors:,} FAILED requests" if throughput.errors else ""
    return (
        f"{throughput.rps:,.0f} req/s "
        f"(p50 {throughput.p50_ms:.1f} ms, p99 {throughput.p99_ms:.1f} ms{failed})"
    )


def throughput_figure(name: str, ours: Throughput, baseline: Throughput, goal: float) -> Figure:
    """A throughput line: ours against the ceiling and the goal."""
    return Figure(
        name=name,
        ours=_rps(ours),
        baseline=_rps(baseline),
        goal=f"≥ {goal:,.0f} req/s",
        met=ours.rps >= goal and not ours.errors,
        data={
            "ours": ours.json(),
            "baseline": baseline.json(),
            "goal_rps": goal,
            "fraction_of_ceiling": round(ours.rps / baseline.rps, 3),
        },
    )


def floor_figure(backend: str, floor: Throughput, baseline: Throughput) -> Figure:
    """The POST floor (``benchmarks/post_floor.py``) against the ceiling: how near the bare app
    any POST that does its database work can come on this machine."""
    return Figure(
        name=f"{backend} · POST /v1/products, floor: only its database work, raw sqlite3",
        ours=_rps(floor),
        baseline=_rps(baseline),
        goal="report",
        met=None,
        data={
            "floor": floor.json(),
            "baseline": baseline.json(),
            "fraction_of_ceiling": round(floor.rps / baseline.rps, 3),
        },
    )


def export_figures(backend: str, result: Export) -> list[Figure]:
    """The export lines: total time, page-cost ratio, memory."""
    done = "" if result.complete else f" — INCOMPLETE: out of time at page {result.pages:,}"
    correct = result.complete and result.rows == result.unique_ids == result.expected_rows
    detail = asdict(result) | {
        "ratio": round(result.ratio, 3),
        "tenths_ratio": round(result.tenths_ratio, 3),
    }
    what = f"{result.expected_rows:,} {result.resource}"
    figures = [
        Figure(
            name=f"{backend} · export {what} by links.next (cold)",
            ours=f"{result.total_seconds:,.1f} s, {result.pages:,} pages, "
            f"{result.rows:,} rows{done}",
            baseline="—",
            goal="report; every row once",
            met=correct,
            data=detail,
        ),
        Figure(
            name=f"{backend} · export of {what}: page cost, last 10 / first 10",
            ours=f"{result.ratio:.2f}× ({result.first_ms:.1f} → {result.last_ms:.1f} ms/page; "
            f"last tenth / first tenth of the pages: {result.tenths_ratio:.2f}×)",
            baseline="—",
            goal=f"≤ {RATIO_GOAL}×",
            met=result.complete and result.ratio <= RATIO_GOAL,
            data={
                "ratio": round(result.ratio, 3),
                "tenths_ratio": round(result.tenths_ratio, 3),
                "deciles_ms": result.page_ms_by_decile,
            },
        ),
        Figure(
            name=f"{backend} · server peak RSS during the export of {what}",
            ours=f"{result.peak_rss_kib / 1024:,.0f} MiB "
            f"({'VmHWM' if result.peak_is_vmhwm else 'sampled VmRSS'}; "
            f"RSS before the export {result.rss_before_kib / 1024:,.0f} MiB)",
            baseline="—",
            goal="report",
            met=None,
            data={
                "peak_rss_kib": result.peak_rss_kib,
                "rss_before_kib": result.rss_before_kib,
                "rss_mib_by_decile": result.rss_mib_by_decile,
            },
        ),
    ]
    if result.bare_seconds is not None:
        figures.insert(
            1,
            Figure(
                name=f"{backend} · export of {what} / the same walk of the same bytes from a "
                "bare Starlette app",
                ours=f"{result.bare_ratio:.2f}× ({result.total_seconds:,.1f} s vs "
                f"{result.bare_seconds:,.1f} s)",
                baseline=f"{result.bare_seconds:,.1f} s",
                goal=f"≤ {EXPORT_GOAL}×",
                met=result.complete and result.bare_ratio <= EXPORT_GOAL,
                data={
                    "ratio": round(result.bare_ratio, 3),
                    "seconds": round(result.total_seconds, 2),
                    "bare_seconds": round(result.bare_seconds, 2),
                },
            ),
        )
    return figures


def print_table(figures: list[Figure], title: str) -> None:
    """The summary table."""
    table = Table(title=title, show_lines=True)
    table.add_column("figure")
    table.add_column("ours")
    table.add_column("baseline (framework ceiling)")
    table.add_column("goal")
    table.add_column("met?")
    marks = {True: "[green]yes[/green]", False: "[red]NO[/red]", None: "—"}
    for figure in figures:
        table.add_row(
            Text(figure.name),
            Text(figure.ours),
            Text(figure.baseline),
            Text(figure.goal),
            marks[figure.met],
        )
    console.print(table)


def markdown_table(figures: list[Figure]) -> str:
    """The same table in Markdown, for benchmarks/README.md."""
    marks = {True: "yes", False: "**no**", None: "—"}
    lines = [
        "| figure | ours | baseline (framework ceiling) | goal | met? |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {f.name} | {f.ours} | {f.baseline} | {f.goal} | {marks[f.met]} |" for f in figures
    ]
    return "\n".join(lines)


# --- the steps ----------------------------------------------------------------------------


@dataclass
class Logins:
    """Tokens for the three accounts of one database."""

    page: str
    export: str
    writes: str


def backend_logins(server: Server, accounts: data.Accounts) -> Logins:
    """A fresh user and client per account, and their tokens."""

    def login(account_id: int) -> str:
        return token(server.url, data.create_login(server.database_url, account_id))

    return Logins(login(accounts.page), login(accounts.export), login(accounts.writes))


def export_step(
    backend: str,
    database_url: str,
    logins: Logins,
    query: str,
    expected: int,
    options: Options,
) -> list[Figure]:
    """Export ``query``'s ``expected`` rows from a server started for it (cold: nothing cached),
    in turn with the same number of pages of the same bytes from the bare app (``export``)."""
    console.print(f"  [bold]{backend}: export {expected:,} rows of {escape(query)}[/bold]")
    with tempfile.TemporaryDirectory(prefix="export-", dir=data.DATA_DIR) as folder:
        work_dir = Path(folder)
        try:
            with optiply_serve(database_url, work_dir) as server:
                result = export(
                    server, logins.export, expected, options.export_budget, query, work_dir
                )
        except httpx.HTTPError as error:
            console.print(f"    [red]export failed:[/red] {escape(str(error))}")
            return [
                Figure(
                    name=f"{backend} · export {expected:,} rows of {query} by links.next",
                    ours=f"FAILED: {error}",
                    baseline="—",
                    goal="report; every row once",
                    met=False,
                    data={"error": str(error)},
                )
            ]
    figures = export_figures(backend, result)
    console.print(
        "    " + "; ".join(figure.ours for figure in figures) + "\n"
        f"    ms/page by tenth of the export: {result.page_ms_by_decile}\n"
        f"    server RSS (MiB) by tenth of the export: {result.rss_mib_by_decile}",
        markup=False,
    )
    return figures


def run_backend(
    backend: str,
    database_url: str,
    accounts: data.Accounts,
    options: Options,
    work_dir: Path,
) -> list[Figure]:
    """The selected steps of one backend, against one database."""
    figures: list[Figure] = []
    key = "sqlite" if backend == "SQLite" else "postgres"
    rows = f"{accounts.page_rows:,} products"
    with ExitStack() as stack:
        server = stack.enter_context(optiply_serve(database_url, work_dir))
        logins = backend_logins(server, accounts)
        baseline: str | None = None
        if options.wants(f"{key}-get") or options.wants(f"{key}-post"):
            page, created = sample_responses(server, logins.page, logins.writes)
            console.print(
                f"  page: {len(page):,} bytes, 201 document: {len(created):,} bytes "
                "(the baseline serves these)"
            )
            baseline = stack.enter_context(baseline_serve(page, created, work_dir))
        if baseline and options.wants(f"{key}-get"):
            console.print(f"  [bold]{backend}: GET {escape(PAGE_QUERY)} over {rows}[/bold]")
            got = compare(
                options,
                {
                    "ours": (server.url + PAGE_QUERY, logins.page),
                    "baseline": (baseline + PAGE_QUERY, logins.page),
                },
            )
            figures.append(
                throughput_figure(
                    f"{backend} · GET {PAGE_QUERY} ({rows})",
                    got["ours"],
                    got["baseline"],
                    GET_GOAL,
                )
            )
        if baseline and options.wants(f"{key}-post"):
            console.print(f"  [bold]{backend}: POST /v1/products[/bold]")
            targets = {
                "ours": (server.url + "/v1/products", logins.writes),
                "baseline": (baseline + "/v1/products", logins.writes),
            }
            if key == "sqlite":  # what a POST costs with nothing but its database work
                floor = stack.enter_context(post_floor_serve(database_url, work_dir))
                targets["floor"] = (floor + "/v1/products", logins.writes)
            got = compare(options, targets, method="POST")
            figures.append(
                throughput_figure(
                    f"{backend} · POST /v1/products", got["ours"], got["baseline"], POST_GOAL
                )
            )
            if "floor" in got:
                figures.append(floor_figure(backend, got["floor"], got["baseline"]))
        if options.wants(f"{key}-export"):
            exports = [(PAGE_QUERY, accounts.export_rows), (LINES_QUERY, accounts.export_lines)]
            for query, expected in exports:
                if expected:
                    figures += export_step(backend, database_url, logins, query, expected, options)
        if options.wants(f"{key}-journal"):
            figures.extend(journal_figures(backend, database_url, logins, options, stack, work_dir))
        if key == "postgres" and options.wants("postgres-workers"):
            console.print(f"  [bold]{backend}: GET {escape(PAGE_QUERY)}, --workers 2 vs 1[/bold]")
            two = stack.enter_context(optiply_serve(database_url, work_dir, workers=2))
            got = compare(
                options,
                {
                    "1 worker": (server.url + PAGE_QUERY, logins.page),
                    "2 workers": (two.url + PAGE_QUERY, logins.page),
                },
            )
            one_rps, two_rps = got["1 worker"].rps, got["2 workers"].rps
            figures.append(
                Figure(
                    name=f"{backend} · GET {PAGE_QUERY}, optiply serve --workers 2",
                    ours=_rps(got["2 workers"]),
                    baseline="—",
                    goal=f"vs 1 worker: {_rps(got['1 worker'])}",
                    met=None,
                    data={
                        "two_workers": got["2 workers"].json(),
                        "one_worker": got["1 worker"].json(),
                        "speedup": round(two_rps / one_rps, 3),
                    },
                )
            )
            figures[-1].goal += f" → ×{two_rps / one_rps:.2f}"
            # Writes of one account are serialised by its lock (service/crud.py): what do two
            # workers give on POSTs into one account?
            console.print(f"  [bold]{backend}: POST /v1/products, --workers 2 vs 1[/bold]")
            got = compare(
                options,
                {
                    "1 worker": (server.url + "/v1/products", logins.writes),
                    "2 workers": (two.url + "/v1/products", logins.writes),
                },
                method="POST",
            )
            one_rps, two_rps = got["1 worker"].rps, got["2 workers"].rps
            figures.append(
                Figure(
                    name=f"{backend} · POST /v1/products (one account), optiply serve --workers 2",
                    ours=_rps(got["2 workers"]),
                    baseline="—",
                    goal=f"vs 1 worker: {_rps(got['1 worker'])} → ×{two_rps / one_rps:.2f}",
                    met=None,
                    data={
                        "two_workers": got["2 workers"].json(),
                        "one_worker": got["1 worker"].json(),
                        "speedup": round(two_rps / one_rps, 3),
                    },
                )
            )
    return figures


def journal_figures(
    backend: str,
    database_url: str,
    logins: Logins,
    options: Options,
    stack: ExitStack,
    work_dir: Path,
) -> list[Figure]:
    """The same wrk GET and POST against two servers started for the step on the same
    database, one with ``--journal`` (the default), one with ``--no-journal``, interleaved in
    one run (both fresh: the step's comparison does not depend on what ran before). The cost
    is the median over the runs of each pair's ``1 - on / off``."""
    on = stack.enter_context(optiply_serve(database_url, work_dir, extra=("--journal",)))
    off = stack.enter_context(optiply_serve(database_url, work_dir, extra=("--no-journal",)))
    figures = []
    for method, path, token_ in (
        ("GET", PAGE_QUERY, logins.page),
        ("POST", "/v1/products", logins.writes),
    ):
        console.print(f"  [bold]{backend}: {method} {escape(path)}, journal on vs off[/bold]")
        got = compare(
            options,
            {"journal": (on.url + path, token_), "no journal": (off.url + path, token_)},
            method=method,
        )
        on_rps, off_rps = got["journal"].rps, got["no journal"].rps
        of_medians = 1 - on_rps / off_rps if off_rps else float("nan")
        # The cost of each run against the run right after it (the load of a shared machine
        # drifts less within a pair than over the step): the median of those is the figure.
        pairs = [
            1 - on_run.requests_per_second / off_run.requests_per_second
            for on_run, off_run in zip(got["journal"].runs, got["no journal"].runs, strict=True)
            if off_run.requests_per_second
        ]
        cost = statistics.median(pairs) if pairs else float("nan")
        console.print(
            f"    cost: {cost:+.1%} (median of the runs' pairs: "
            f"{', '.join(f'{pair:+.1%}' for pair in pairs)}); of the medians {of_medians:+.1%}"
        )
        figures.append(
            Figure(
                name=f"{backend} · {method} {path}, request journal on (cost vs --no-journal)",
                ours=f"{_rps(got['journal'])} ({cost:+.1%} cost; medians {of_medians:+.1%})",
                baseline=_rps(got["no journal"]),
                goal=f"cost ≤ {JOURNAL_GOAL:.0%}",
                met=cost <= JOURNAL_GOAL,
                data={
                    "journal": got["journal"].json(),
                    "no_journal": got["no journal"].json(),
                    "cost": round(cost, 4),
                    "cost_per_pair": [round(pair, 4) for pair in pairs],
                    "cost_of_medians": round(of_medians, 4),
                },
            )
        )
    return figures


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    wrk_version = subprocess.run(
        [wrk_path(), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "cpus": os.cpu_count(),
        "cpu": data.cpu_model(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version[0] if wrk_version else "unknown",
        "platform": platform.platform(),
    }


def source_fingerprint() -> str:
    """A hash of the server's source: a run is only coherent if it does not change meanwhile."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "optiply").rglob("*.py")):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _postgres_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("SHOW server_version").scalar_one())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (goals met or not), 1 when it failed."""
    argv = sys.argv[1:] if argv is None else argv
    command = os.environ.get("OPTIPLY_BENCH_COMMAND") or shlex.join(["scripts/bench", *argv])
    options = parse_options(argv)
    console.print(f"[bold]$ {escape(command)}[/bold]")
    info = machine()
    console.print(
        f"{info['cpus']} CPUs ({info['cpu']}), load average {info['load_average_at_start'][0]:.2f}"
        f"; Python {info['python']}, SQLite {info['sqlite']}, {info['wrk']}"
    )
    console.print(
        f"wrk: {options.threads} threads, {options.connections} connections, "
        f"{options.duration:g} s × {options.runs} run(s) per figure (medians), "
        f"warm-up {options.warmup:g} s; server: optiply serve, 1 worker, uvloop + httptools"
    )
    started = datetime.now(UTC)
    info["source"] = source_fingerprint()
    figures: list[Figure] = []
    notes: list[str] = []
    sizes = {
        "page_rows": options.page_rows,
        "export_rows": options.export_rows,
        "export_lines": options.export_rows,
    }
    data.DATA_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=data.DATA_DIR) as tmp:
        work_dir = Path(tmp)
        try:
            if any(options.wants(s) for s in STEPS if s.startswith("sqlite")):
                console.print("[bold]SQLite[/bold]")
                url, accounts = data.sqlite_database(work_dir=work_dir, log=console.print, **sizes)
                figures += run_backend("SQLite", url, accounts, options, work_dir)
            if any(options.wants(s) for s in STEPS if s.startswith("postgres")):
                if options.postgres_url is None:
                    notes.append("PostgreSQL skipped: no server (set --postgres-url)")
                    console.print(f"[yellow]{notes[-1]}[/yellow]")
                else:
                    info["postgresql"] = _postgres_version(options.postgres_url)
                    console.print(f"[bold]PostgreSQL {info['postgresql']}[/bold]")
                    url, accounts = data.postgres_database(
                        options.postgres_url, log=console.print, **sizes
                    )
                    try:
                        figures += run_backend("PostgreSQL", url, accounts, options, work_dir)
                    finally:
                        data.drop_postgres_database(url)
        except (LoadError, RuntimeError, httpx.HTTPError) as error:
            console.print(f"[red]benchmark failed:[/red] {escape(str(error))}")
            for log in sorted(work_dir.glob("*.log")):
                console.print(f"--- {log.name}\n{_tail(log)}", markup=False)
            if figures:
                print_table(figures, "Figures measured before the failure")
            return 1
    if source_fingerprint() != info["source"]:
        notes.append(
            "the server's source changed during the run: servers started at different times "
            "may have run different code"
        )
        console.print(f"[yellow]warning: {notes[-1]}[/yellow]")
    title = f"{command} — {started:%Y-%m-%d %H:%M} UTC"
    print_table(figures, title)
    data.write_results(
        options.output,
        command=command,
        started=started,
        machine=info,
        options={k: str(v) for k, v in asdict(options).items()},
        notes=notes,
        figures=[asdict(f) for f in figures],
        markdown=markdown_table(figures),
    )
    console.print(f"Results written to {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
