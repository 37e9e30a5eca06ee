"""The target benchmark: ``target-optiply`` as a subprocess against a real ``optiply serve``.

Run it with ``scripts/bench-target`` (``--help`` lists the options). It writes Singer input
(SCHEMA, RECORD and STATE messages) for Products, Suppliers, BuyOrders (embedded lines) and
SellOrders (embedded lines), starts ``optiply serve`` on a fresh SQLite database, runs
``.venv/bin/target-optiply --config cfg.json < input.jsonl`` exactly as users do, and reports
wall time, records/s, the target's CPU time per record, start-up time, peak RSS, requests per
record and throughput behind 20 ms of added round-trip latency (an asyncio delaying proxy).
``--bulk`` sets the target's ``bulk`` setting: ``auto`` (the default, as users run it: atomic
batches of up to 100 records, the server offering them) or ``off`` (one request per record).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import queue
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from benchmarks import data
from benchmarks.server import VENV_BIN, Server, console, optiply_serve
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

RESULTS = Path(__file__).resolve().parent / "results" / "target.json"
SOURCES = Path(__file__).resolve().parent.parent / "src"
README = Path(__file__).resolve().parent / "README.md"
CPU_GOAL_MS = 0.5
STARTUP_GOAL_S = 0.6
STARTUP_RUNS = 5
RSS_GOAL_MB = 100
LATENCY_EFFICIENCY = 0.8
BULK_LATENCY_GOAL = 3_000  # records/s behind +20 ms with atomic batches (issue 13 §5)
PER_RECORD_LOOPBACK = 883  # records/s, one request per record (benchmarks/README.md, 2026-11-23)
BULK_LOOPBACK_FACTOR = 3


# --- options ------------------------------------------------------------------------------


@dataclass
class Sizes:
    """How many records of each stream the input holds."""

    products: int
    buy_orders: int
    sell_orders: int
    suppliers: int
    buy_lines: int = 5
    sell_lines: int = 3

    @property
    def records(self) -> int:
        """Singer RECORD messages (order lines are embedded, not counted)."""
        return self.products + self.suppliers + self.buy_orders + self.sell_orders

    def scaled(self, factor: float) -> Sizes:
        """The same mix, ``factor`` times as big (at least one of each)."""
        return Sizes(
            products=max(self.buy_lines, int(self.products * factor)),
            buy_orders=max(1, int(self.buy_orders * factor)),
            sell_orders=max(1, int(self.sell_orders * factor)),
            suppliers=max(1, int(self.suppliers * factor)),
            buy_lines=self.buy_lines,
            sell_lines=self.sell_lines,
        )

    def describe(self) -> str:
        """``10,000 Products, 100 Suppliers, ...``."""
        return (
            f"{self.products:,} Products, {self.suppliers:,} Suppliers, "
            f"{self.buy_orders:,} BuyOrders × {self.buy_lines} lines, "
            f"{self.sell_orders:,} SellOrders × {self.sell_lines} lines"
        )


@dataclass
class Options:
    """Command-line options."""

    sizes: Sizes
    runs: int
    latency_ms: float
    latency_scale: float
    concurrency: int
    quick: bool
    keep: bool
    bulk: str = "auto"


def parse_options(argv: list[str]) -> Options:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench-target",
        description="Benchmark target-optiply against a local optiply serve (SQLite).",
    )
    parser.add_argument("--quick", action="store_true", help="1/10 of the sizes, 1 run")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--buy-orders", type=int, default=2_000, help="5 lines each")
    parser.add_argument("--sell-orders", type=int, default=2_000, help="3 lines each")
    parser.add_argument("--suppliers", type=int, default=100, help="referenced by buy orders")
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="added round-trip time (default 20)"
    )
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        help="size of the latency runs relative to the main sizes (default 1: the same input, "
        "long enough that start-up is ~1%% of it)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="the target's max_concurrency, for the latency goal (default 8)",
    )
    parser.add_argument(
        "--bulk",
        choices=("auto", "on", "off"),
        default="auto",
        help="the target's bulk setting (default auto: atomic batches; off: a request a record)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    sizes = Sizes(args.products, args.buy_orders, args.sell_orders, args.suppliers)
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if args.quick:
        sizes = sizes.scaled(0.1)
    return Options(
        sizes=sizes,
        runs=max(1, runs),
        latency_ms=args.latency_ms,
        latency_scale=args.latency_scale,
        concurrency=args.concurrency,
        quick=args.quick,
        keep=args.keep,
        bulk=args.bulk,
    )


# --- input --------------------------------------------------------------------------------


def _schema(stream: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": ["externalId"],
    }


def _state(stream: str, position: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {stream: {"position": position}}}}


_STRING = {"type": ["string", "null"]}
_INTEGER = {"type": ["integer", "null"]}
_NUMBER = {"type": ["number", "null"]}
_DATETIME = {"type": ["string", "null"], "format": "date-time"}
STATE_EVERY = 1_000


def singer_messages(sizes: Sizes, seed: int = 7) -> Iterator[dict[str, Any]]:
    """SCHEMA, RECORD and STATE messages: Products, Suppliers, BuyOrders, SellOrders."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def stream(
        name: str, properties: dict[str, Any], records: Iterator[dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        yield _schema(name, properties)
        position = 0
        for position, record in enumerate(records, 1):
            yield {"type": "RECORD", "stream": name, "record": record}
            if position % STATE_EVERY == 0:
                yield _state(name, position)
        yield _state(name, position)

    def products() -> Iterator[dict[str, Any]]:
        for i in range(sizes.products):
            yield {
                "externalId": f"P{i}",
                "name": f"Product {i}",
                "skuCode": f"SKU-{i:07d}",
                "stockLevel": rng.randint(0, 500),
                "price": round(rng.uniform(1, 200), 2),
                "unlimitedStock": False,
            }

    def suppliers() -> Iterator[dict[str, Any]]:
        for i in range(sizes.suppliers):
            yield {"externalId": f"S{i}", "name": f"Supplier {i}", "deliveryTime": 7}

    def lines(count: int) -> str:
        picked = rng.sample(range(sizes.products), min(count, sizes.products))
        return json.dumps(
            [
                {
                    "Remote_productId": f"P{p}",
                    "quantity": rng.randint(1, 20),
                    "subtotalValue": round(rng.uniform(1, 500), 2),
                }
                for p in picked
            ]
        )

    def placed(i: int) -> str:
        return (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def buy_orders() -> Iterator[dict[str, Any]]:
        for i in range(sizes.buy_orders):
            yield {
                "externalId": f"BO{i}",
                "Remote_supplierId": f"S{i % sizes.suppliers}",
                "placed": placed(i),
                "line_items": lines(sizes.buy_lines),
            }

    def sell_orders() -> Iterator[dict[str, Any]]:
        for i in range(sizes.sell_orders):
            yield {
                "externalId": f"SO{i}",
                "placed": placed(i),
                "line_items": lines(sizes.sell_lines),
            }

    yield from stream(
        "Products",
        {
            "externalId": _STRING,
            "name": _STRING,
            "skuCode": _STRING,
            "stockLevel": _INTEGER,
            "price": _NUMBER,
            "unlimitedStock": {"type": ["boolean", "null"]},
        },
        products(),
    )
    yield from stream(
        "Suppliers",
        {"externalId": _STRING, "name": _STRING, "deliveryTime": _INTEGER},
        suppliers(),
    )
    order = {"externalId": _STRING, "placed": _DATETIME, "line_items": _STRING}
    yield from stream("BuyOrders", {**order, "Remote_supplierId": _STRING}, buy_orders())
    yield from stream("SellOrders", order, sell_orders())


def write_input(path: Path, sizes: Sizes) -> Path:
    """The Singer input for ``sizes``, one JSON message per line."""
    with path.open("w") as file:
        for message in singer_messages(sizes):
            file.write(json.dumps(message, separators=(",", ":")) + "\n")
    return path


def one_record_input(path: Path) -> Path:
    """A single product: the start-up run."""
    return write_input(path, Sizes(products=1, buy_orders=0, sell_orders=0, suppliers=0))


# --- the server ---------------------------------------------------------------------------


@contextmanager
def fresh_server(work_dir: Path) -> Iterator[Server]:
    """``optiply serve`` on a new, migrated, empty SQLite database."""
    folder = Path(tempfile.mkdtemp(prefix="db-", dir=work_dir))
    url = f"sqlite:///{folder / 'optiply.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with optiply_serve(url, folder) as server:
        yield server


def target_config(server_url: str, database_url: str, folder: Path, **extra: Any) -> Path:
    """A new account and login on the server; a target config for them, written to a file."""
    engine = make_engine(database_url)
    try:
        account = admin.create_account(engine, name=f"target bench {folder.name}")
    finally:
        engine.dispose()
    login = data.create_login(database_url, account.id)
    config = {
        "username": login.username,
        "password": login.password,
        "client_id": login.client_id,
        "client_secret": login.client_secret,
        "account_id": account.id,
        "optiply_base_url": f"{server_url}/v1",
        "optiply_dashboard_url": f"{server_url}/api",
        "target_state_path": str(folder / "target-state.json"),
        **extra,
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


# --- the latency proxy --------------------------------------------------------------------


class DelayProxy:
    """A TCP proxy adding ``rtt/2`` to each direction; counts HTTP/1.1 request lines.

    Bytes keep their order and are released ``rtt/2`` after they arrived, so it models
    latency, not bandwidth. Each direction of each connection has a reader thread and a
    writer thread that sleeps until a chunk is due: ``time.sleep`` is precise to tens of
    microseconds, where an asyncio version overshot by ~1.2 ms per direction (its timers
    round to milliseconds), adding 2.4 ms to every round trip.
    """

    MARK = b" HTTP/1.1\r\n"

    def __init__(self, upstream_port: int, rtt_ms: float) -> None:
        self.upstream_port = upstream_port
        self.delay = rtt_ms / 2000
        self.requests = 0
        self._count = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DelayProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                if self._closing.is_set():
                    return
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.append(sock)
            self._pipe(client, upstream, count=True)
            self._pipe(upstream, client, count=False)

    def _pipe(self, source: socket.socket, target: socket.socket, *, count: bool) -> None:
        chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            tail = b""
            while True:
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                if count and chunk:
                    window = tail + chunk
                    with self._count:
                        self.requests += window.count(self.MARK)
                    tail = window[-(len(self.MARK) - 1) :]
                chunks.put((time.perf_counter() + self.delay, chunk))
                if not chunk:
                    return

        def write() -> None:
            while True:
                due, chunk = chunks.get()
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                try:
                    if not chunk:
                        target.shutdown(socket.SHUT_WR)
                        return
                    target.sendall(chunk)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


# --- one target run -----------------------------------------------------------------------


@dataclass
class TargetRun:
    """One ``target-optiply`` process."""

    records: int
    wall_s: float
    cpu_s: float
    max_rss_kib: int
    returncode: int
    summary: dict[str, Any]
    requests: int | None = None

    @property
    def records_per_s(self) -> float:
        """Records over wall time."""
        return self.records / self.wall_s

    @property
    def cpu_ms_per_record(self) -> float:
        """User + system CPU of the target process per record."""
        return self.cpu_s * 1000 / self.records

    @property
    def ok(self) -> bool:
        """Exit 0 and every record counted as success (or existing)."""
        done = sum(c.get("success", 0) + c.get("existing", 0) for c in self.summary.values())
        return self.returncode == 0 and done == self.records

    def json(self) -> dict[str, Any]:
        """For the results file."""
        return asdict(self) | {
            "records_per_s": round(self.records_per_s, 1),
            "cpu_ms_per_record": round(self.cpu_ms_per_record, 4),
            "ok": self.ok,
        }


class _PeakWatcher:
    """Polls ``VmHWM`` of a running process (its own peak RSS since exec)."""

    def __init__(self, pid: int) -> None:
        self.kib = 0
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.kib = max(self.kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            self._done.wait(0.02)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_target(config: Path, input_path: Path, records: int) -> TargetRun:
    """``target-optiply --config CONFIG < INPUT`` in the config's folder; its own rusage."""
    folder = config.parent
    command = [str(VENV_BIN / "target-optiply"), "--config", str(config)]
    with input_path.open("rb") as stdin, (folder / "target.log").open("wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdin=stdin, stdout=log, stderr=subprocess.STDOUT, cwd=folder
        )
        peak = _PeakWatcher(child.pid)
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            peak.stop()
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    state_file = folder / "target-state.json"
    summary = json.loads(state_file.read_text()).get("summary", {}) if state_file.exists() else {}
    run = TargetRun(
        records=records,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        # ru_maxrss of a child counts the parent's pages copied at fork (this benchmark holds
        # the generated input), so prefer the child's own VmHWM, read while it runs.
        max_rss_kib=peak.kib or usage.ru_maxrss,
        returncode=child.returncode,
        summary=summary,
    )
    if not run.ok:
        tail = "\n".join((folder / "target.log").read_text(errors="replace").splitlines()[-15:])
        console.print(f"[red]target run not clean[/red] (exit {run.returncode}): {summary}")
        console.print(Text(tail))
    return run


def with_token(config: Path) -> None:
    """Put a fresh access token into the config, the way HotGlue runs start (tokens written
    back by the previous run), so the run does no password grant."""
    settings = json.loads(config.read_text())
    response = httpx.post(
        settings["optiply_dashboard_url"] + "/auth/oauth/token",
        data={
            "grant_type": "password",
            "username": settings["username"],
            "password": settings["password"],
        },
        auth=(settings["client_id"], settings["client_secret"]),
    )
    response.raise_for_status()
    token = response.json()
    settings["access_token"] = token["access_token"]
    settings["refresh_token"] = token.get("refresh_token")
    settings["expires_in"] = int(time.time()) + int(token["expires_in"])
    config.write_text(json.dumps(settings, indent=1))


def measured_run(
    work_dir: Path,
    name: str,
    input_path: Path,
    records: int,
    *,
    rtt_ms: float | None = None,
    token: bool = False,
    bulk: str = "auto",
) -> TargetRun:
    """A fresh server and account; the target run (through the delaying proxy if ``rtt_ms``;
    starting from a token in the config if ``token``; ``bulk``: the target's setting)."""
    folder = work_dir / name
    folder.mkdir()
    with fresh_server(work_dir) as server:
        if rtt_ms is None:
            config = target_config(server.url, server.database_url, folder, bulk=bulk)
            if token:
                with_token(config)
            return run_target(config, input_path, records)
        port = int(server.url.rsplit(":", 1)[1])
        with DelayProxy(port, rtt_ms) as proxy:
            config = target_config(proxy.url, server.database_url, folder, bulk=bulk)
            run = run_target(config, input_path, records)
            run.requests = proxy.requests
            return run


# --- the report ---------------------------------------------------------------------------


@dataclass
class Figure:
    """One line of the report."""

    name: str
    measured: str
    goal: str
    met: bool | None
    data: dict[str, Any] = field(default_factory=dict)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def figures(
    options: Options,
    main: list[TargetRun],
    startup: list[TargetRun],
    startup_grant: list[TargetRun],
    latency_runs: list[TargetRun],
    latency_sizes: Sizes,
) -> list[Figure]:
    """The table's lines."""
    sizes = options.sizes
    records = sizes.records
    all_ok = all(run.ok for run in main)
    wall = _median([r.wall_s for r in main])
    rps = _median([r.records_per_s for r in main])
    cpu = _median([r.cpu_ms_per_record for r in main])
    rss_mib = _median([r.max_rss_kib for r in main]) / 1024
    rss_mb = rss_mib * 1.048576  # the goal is in MB
    start = _median([r.wall_s for r in startup])
    start_cpu = _median([r.cpu_s for r in startup])
    granted = _median([r.wall_s for r in startup_grant])
    granted_cpu = _median([r.cpu_s for r in startup_grant])
    latency = sorted(latency_runs, key=lambda run: run.records_per_s)[len(latency_runs) // 2]
    requests = latency.requests or 0
    per_record = requests / latency.records
    latency_goal = LATENCY_EFFICIENCY * options.concurrency / (options.latency_ms / 1000)
    latency_goal_text = (
        f"≥ {latency_goal:,.0f} records/s "
        f"({LATENCY_EFFICIENCY} × {options.concurrency} / {options.latency_ms:g} ms)"
    )
    wall_goal, wall_met = "report", all_ok
    if options.bulk != "off":  # atomic batches: the goals of issue 13 §5
        latency_goal = BULK_LATENCY_GOAL
        latency_goal_text = f"≥ {BULK_LATENCY_GOAL:,} records/s (atomic batches)"
        loopback_goal = BULK_LOOPBACK_FACTOR * PER_RECORD_LOOPBACK
        wall_goal = f"≥ {loopback_goal:,} records/s (3 × {PER_RECORD_LOOPBACK} a request a record)"
        wall_met = all_ok and rps >= loopback_goal
    failed = "" if all_ok else " — SOME RECORDS FAILED"
    return [
        Figure(
            f"wall time, {records:,} records ({sizes.describe()}), bulk {options.bulk}",
            f"{wall:,.1f} s, {rps:,.0f} records/s{failed}",
            wall_goal,
            wall_met,
            {"wall_s": [r.wall_s for r in main], "records_per_s": [r.records_per_s for r in main]},
        ),
        Figure(
            "target CPU per record (user+sys of the target process / records)",
            f"{cpu:.3f} ms ({_median([r.cpu_s for r in main]):,.1f} s CPU)",
            f"≤ {CPU_GOAL_MS} ms",
            cpu <= CPU_GOAL_MS,
            {"cpu_ms_per_record": [r.cpu_ms_per_record for r in main]},
        ),
        Figure(
            "start-up: wall time of a 1-record run, token from the config (as HotGlue runs)",
            f"{start:.2f} s ({start_cpu:.2f} s CPU)",
            f"≤ {STARTUP_GOAL_S} s",
            start <= STARTUP_GOAL_S,
            {"wall_s": [r.wall_s for r in startup], "cpu_s": [r.cpu_s for r in startup]},
        ),
        Figure(
            "start-up with a password grant (the server's Argon2 checks of secret and password "
            "included)",
            f"{granted:.2f} s ({granted_cpu:.2f} s CPU)",
            "report",
            None,
            {
                "wall_s": [r.wall_s for r in startup_grant],
                "cpu_s": [r.cpu_s for r in startup_grant],
            },
        ),
        Figure(
            f"target peak RSS (VmHWM), {records:,} records",
            f"{rss_mib:,.0f} MiB ({rss_mb:,.0f} MB)",
            f"≤ {RSS_GOAL_MB} MB for 100,000 records",
            rss_mb <= RSS_GOAL_MB if records >= 100_000 else None,
            {"max_rss_kib": [r.max_rss_kib for r in main], "records": records},
        ),
        Figure(
            f"requests per record (proxy count, {latency_sizes.records:,} records)",
            f"{per_record:.3f} ({requests:,} requests, token grant included)",
            "report (1.0 = one request per record)",
            None,
            {"requests": requests, "records": latency.records},
        ),
        Figure(
            f"throughput with +{options.latency_ms:g} ms RTT, {latency_sizes.records:,} records",
            f"{latency.records_per_s:,.0f} records/s ({latency.wall_s:,.1f} s; runs: "
            + ", ".join(f"{run.records_per_s:,.0f}" for run in latency_runs)
            + ")"
            + ("" if all(run.ok for run in latency_runs) else " — SOME RECORDS FAILED"),
            latency_goal_text,
            all(run.ok for run in latency_runs) and latency.records_per_s >= latency_goal,
            {"runs": [run.json() for run in latency_runs]},
        ),
    ]


_MARKS = {True: "yes", False: "**no**", None: "—"}


def print_table(lines: list[Figure], title: str) -> None:
    """The summary table."""
    table = Table(title=title, show_lines=True)
    for column in ("figure", "measured", "goal", "met?"):
        table.add_column(column)
    marks = {True: "[green]yes[/green]", False: "[red]NO[/red]", None: "—"}
    for line in lines:
        table.add_row(Text(line.name), Text(line.measured), Text(line.goal), marks[line.met])
    console.print(table)


def markdown_table(lines: list[Figure]) -> str:
    """The same table in Markdown."""
    rows = ["| figure | measured | goal | met? |", "| --- | --- | --- | --- |"]
    rows += [f"| {f.name} | {f.measured} | {f.goal} | {_MARKS[f.met]} |" for f in lines]
    return "\n".join(rows)


# --- main ---------------------------------------------------------------------------------


def compile_sources() -> None:
    """Byte-compile ``src/`` as ``pip install`` does for an installed package.

    The checkout is installed editable; with ``PYTHONDONTWRITEBYTECODE=1`` (set on our
    machines) nothing ever writes its ``.pyc`` files, so every target process compiled our
    modules again, ~0.05–0.1 s of each start-up that an installed target does not pay.
    """
    compileall.compile_dir(str(SOURCES), quiet=1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (goals met or not), 1 when a run failed."""
    argv = sys.argv[1:] if argv is None else argv
    command = os.environ.get("OPTIPLY_BENCH_COMMAND") or shlex.join(["scripts/bench-target", *argv])
    options = parse_options(argv)
    # Background shells ignore SIGINT: let SIGTERM stop the server and the target cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console.print(f"[bold]$ {escape(command)}[/bold]")
    compile_sources()
    work_dir = Path(tempfile.mkdtemp(prefix="optiply-bench-target-"))
    sizes = options.sizes
    latency_sizes = sizes.scaled(options.latency_scale)
    try:
        main_input = write_input(work_dir / "input.jsonl", sizes)
        latency_input = (
            main_input
            if latency_sizes == sizes
            else write_input(work_dir / "input-latency.jsonl", latency_sizes)
        )
        single = one_record_input(work_dir / "input-one.jsonl")
        console.print(f"input: {sizes.records:,} records ({sizes.describe()})")
        main_runs: list[TargetRun] = []
        startup_runs: list[TargetRun] = []
        grant_runs: list[TargetRun] = []
        # Start-ups first, so that they do not share the machine with the tail of a large run
        # (its database still being written back to disk).
        # A 1-record run is short and its wall time noisy on a shared machine: at least 5.
        startups = max(options.runs, STARTUP_RUNS)
        for index in range(startups):
            startup_runs.append(measured_run(work_dir, f"one-{index}", single, 1, token=True))
            grant_runs.append(measured_run(work_dir, f"grant-{index}", single, 1))
            console.print(
                f"start-up {index + 1}/{startups}: {startup_runs[-1].wall_s:.2f} s "
                f"(with a password grant {grant_runs[-1].wall_s:.2f} s)"
            )
        for index in range(options.runs):
            run = measured_run(
                work_dir, f"main-{index}", main_input, sizes.records, bulk=options.bulk
            )
            main_runs.append(run)
            console.print(
                f"run {index + 1}/{options.runs}: {run.wall_s:,.1f} s, "
                f"{run.records_per_s:,.0f} records/s, {run.cpu_ms_per_record:.3f} ms CPU/record, "
                f"{run.max_rss_kib / 1024:,.0f} MiB"
            )
        console.print(
            f"latency runs: +{options.latency_ms:g} ms RTT, {latency_sizes.records:,} records ..."
        )
        latency_runs = [
            measured_run(
                work_dir,
                f"latency-{index}",
                latency_input,
                latency_sizes.records,
                rtt_ms=options.latency_ms,
                bulk=options.bulk,
            )
            for index in range(options.runs)
        ]
        lines = figures(options, main_runs, startup_runs, grant_runs, latency_runs, latency_sizes)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print_table(lines, f"target-optiply benchmark — {when}, median of {options.runs} run(s)")
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {
                    "command": command,
                    "measured_at": when,
                    "machine": {
                        "cpus": os.cpu_count(),
                        "load_average_at_end": os.getloadavg(),
                        "python": sys.version.split()[0],
                    },
                    "sizes": asdict(sizes) | {"records": sizes.records},
                    "latency_sizes": asdict(latency_sizes) | {"records": latency_sizes.records},
                    "runs": options.runs,
                    "bulk": options.bulk,
                    "figures": [asdict(f) for f in lines],
                    "main_runs": [r.json() for r in main_runs],
                    "startup_runs": [r.json() for r in startup_runs],
                    "startup_grant_runs": [r.json() for r in grant_runs],
                    "latency_runs": [run.json() for run in latency_runs],
                    "markdown": markdown_table(lines),
                },
                indent=1,
            )
        )
        console.print(f"results: {RESULTS.relative_to(README.parent.parent)}")
        runs = [*main_runs, *startup_runs, *grant_runs, *latency_runs]
        return 0 if all(r.ok for r in runs) else 1
    finally:
        if options.keep:
            console.print(f"work folder kept: {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
