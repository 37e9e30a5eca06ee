"""The tap benchmark: ``tap-optiply`` as a subprocess against a real ``optiply serve`` (SQLite).

Run it with ``.venv/bin/python -m benchmarks.tap`` (``--help`` lists the options). It fills a
fresh SQLite database with one account of ``--products`` products and ``--lines`` sell order
lines (ten per sell order), starts ``optiply serve``, and measures, ``--runs`` times each
(medians printed):

1. **baseline**: the same rows read by a bare keep-alive ``httpx`` loop following
   ``links.next`` (sort by id, pages of 100), i.e. what the server alone can hand out;
2. **full sync**: ``tap-optiply --config cfg.json`` exactly as users run it (a first sync: every
   stream incremental, no state), stdout counted (``--skip-incremental`` leaves it out);
3. **FULL_TABLE sync** (``--full-table``): the same with every stream in FULL_TABLE mode;
4. **existing tap** (``--compare-existing EXECUTABLE``): the existing open-source tap-optiply,
   installed in a venv of its own, on the same data right after ours. It hard-codes the
   production hosts; the benchmark points it at the server with a ``sitecustomize.py`` on its
   ``PYTHONPATH`` (``EXISTING_TAP_REDIRECT``) and, as a safety net, a proxy on a closed local
   port for every other host, so no request of it can leave the machine;
5. **incremental** (unless ``--skip-incremental``): ``--changed`` sell order lines PATCHed
   through the API, then the tap again with the previous sync's last STATE: the rows it emits
   and its wall time, with the time to its first message (the process start-up) and
   ``tap-optiply --about`` (the interpreter and imports alone) measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from benchmarks import data, server
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

VENV_BIN = Path(sys.executable).parent
STREAMS = ("products", "sellOrders", "sellOrderLines")


def build(database_url: str, products: int, lines: int) -> tuple[int, data.Login]:
    """One account with ``products`` products and ``lines`` sell order lines."""
    engine = make_engine(database_url)
    upgrade(engine)
    account = admin.create_account(engine, name="Bench tap")
    with engine.begin() as connection:
        for batch in data.product_rows(account.id, account.uuid, products, 3):
            connection.execute(insert(RESOURCE_TABLES["products"]), batch)
        data.insert_sales(connection, account, lines, seed=4)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return account.id, data.create_login(database_url, account.id)


def _config(path: Path, url: str, account_id: int, login: data.Login) -> Path:
    path.write_text(
        json.dumps(
            {
                "username": login.username,
                "password": login.password,
                "client_id": login.client_id,
                "client_secret": login.client_secret,
                "account_id": account_id,
                "optiply_base_url": f"{url}/v1",
                "optiply_dashboard_url": f"{url}/api",
                "max_concurrency": 4,
            }
        )
    )
    return path


SECRET_WORDS = ("password", "secret", "token", "Bearer", "Authorization")


@dataclass
class TapRun:
    """One tap process."""

    seconds: float  # wall time, process start included
    records: int  # RECORD lines on stdout
    first_message: float  # seconds until its first line on stdout: the start-up
    state: dict[str, Any] = field(default_factory=dict)  # the last STATE
    cpu: float = 0.0  # the tap process's CPU seconds (user and system)
    server_cpu: float = 0.0  # the server's CPU seconds meanwhile


def run_tap(
    command: list[str],
    folder: Path,
    *,
    state: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    log_name: str = "tap-optiply",
    server_pid: int | None = None,
) -> TapRun:
    """Run a tap (``command``, config included) to the end, counting its output; its stderr
    goes to ``folder/<log_name>.log``. With ``server_pid``, the server's CPU time meanwhile."""
    if state is not None:
        state_path = folder / "state.json"
        state_path.write_text(json.dumps(state))
        command = [*command, "--state", str(state_path)]
    log = folder / f"{log_name}.log"
    started = time.perf_counter()
    server_before = _cpu_seconds(server_pid)
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, env=env or dict(os.environ)
        )
        assert process.stdout is not None
        records, last_state, first = 0, {}, 0.0
        for line in process.stdout:
            if not first:
                first = time.perf_counter() - started
            head = line[:24]  # '{"type":"RECORD"', or with a space after the colon
            if b'"RECORD"' in head:
                records += 1
            elif b'"STATE"' in head:
                last_state = json.loads(line)["value"]
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    server_cpu = _cpu_seconds(server_pid) - server_before
    if process.returncode:
        # The existing tap logs its config, tokens and headers: such lines are left out.
        tail = [
            "[a line with a secret left out]" if any(w in line for w in SECRET_WORDS) else line
            for line in log.read_text(errors="replace").splitlines()[-20:]
        ]
        raise SystemExit(f"{command[0]} exited with {process.returncode}:\n" + "\n".join(tail))
    cpu = usage.ru_utime + usage.ru_stime
    return TapRun(elapsed, records, first, last_state, cpu, server_cpu)


def _cpu_seconds(pid: int | None) -> float:
    """The user and system CPU seconds of process ``pid`` so far (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Loaded at start-up by the existing tap's interpreter (its PYTHONPATH is a folder holding only
# this file): its two hard-coded production URLs become the benchmark's server. Any failure
# ends the process before it can send a request.
EXISTING_TAP_REDIRECT = '''\
"""The existing tap-optiply, pointed at benchmarks/tap.py's server (written by it)."""
import os
import sys

try:
    from tap_optiply import auth, client

    client.OptiplyStream.url_base = os.environ["OPTIPLY_BENCH_API_URL"]
    auth.OptiplyAuthenticator.TOKEN_URL = os.environ["OPTIPLY_BENCH_TOKEN_URL"]
except BaseException as error:  # site.py would only print it and go on
    print(f"benchmark redirect failed: {error!r}", file=sys.stderr)
    os._exit(97)
'''


def existing_tap(
    executable: Path, url: str, account_id: int, login: data.Login, folder: Path
) -> tuple[Callable[[], list[str]], dict[str, str]]:
    """The existing tap's command (a function: it rewrites its config file with each token,
    so every run gets a fresh one) and environment, pointed at ``url``."""
    site = folder / "existing-tap-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(EXISTING_TAP_REDIRECT)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "OPTIPLY_BENCH_API_URL": f"{url}/v1",
        "OPTIPLY_BENCH_TOKEN_URL": f"{url}/api/auth/oauth/token",
        # Safety net: any other host goes to a closed local port.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    env.pop("VIRTUAL_ENV", None)
    config = {
        "client_id": login.client_id,
        "client_secret": login.client_secret,
        "username": login.username,
        "password": login.password,
        "account_id": account_id,
    }

    def command() -> list[str]:
        path = folder / "existing-config.json"
        path.write_text(json.dumps(config))
        return [str(executable), "--config", str(path)]

    return command, env


def full_table_catalog(command: list[str], folder: Path) -> Path:
    """Our tap's discovered catalog with every stream selected in FULL_TABLE mode (read by
    ``id``, no bookmark)."""
    discovered = subprocess.run(
        [*command, "--discover"], check=True, capture_output=True, text=True
    ).stdout
    catalog = json.loads(discovered)
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = True
        root["metadata"]["forced-replication-method"] = "FULL_TABLE"
        entry["replication_method"] = "FULL_TABLE"
    path = folder / "catalog-full-table.json"
    path.write_text(json.dumps(catalog))
    return path


def startup(repeats: int = 3) -> float:
    """Median wall time of ``tap-optiply --about --format=json``: interpreter and imports."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [str(VENV_BIN / "tap-optiply"), "--about", "--format=json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def baseline(url: str, login: data.Login, account_id: int) -> tuple[float, int]:
    """The same streams read by a bare keep-alive httpx loop following links.next."""
    token = server.token(url, login)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.api+json"}
    rows = 0
    started = time.perf_counter()
    with httpx.Client(headers=headers, timeout=60) as client:
        for stream in STREAMS:
            next_url: str | None = (
                f"{url}/v1/{stream}?accountId={account_id}&sort=id&page[limit]=100"
            )
            while next_url:
                document = client.get(next_url).json()
                rows += len(document["data"])
                next_url = document["links"].get("next")
    return time.perf_counter() - started, rows


def change(url: str, login: data.Login, account_id: int, count: int, seed: int) -> None:
    """PATCH ``count`` random sell order lines through the API (a new quantity per ``seed``)."""
    token = server.token(url, login)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
    with httpx.Client(headers=headers, timeout=60) as client:
        page = client.get(f"{url}/v1/sellOrderLines?accountId={account_id}&page[limit]=100")
        total = page.json()["meta"]["totalResourceCount"]
        rng = random.Random(seed)
        ids = rng.sample(range(1, total + 1), count)
        for row_id in ids:
            body = {
                "data": {
                    "type": "sellOrderLines",
                    "id": str(row_id),
                    "attributes": {"quantity": 50 + seed},
                }
            }
            response = client.patch(
                f"{url}/v1/sellOrderLines/{row_id}?accountId={account_id}", json=body
            )
            assert response.status_code == 200, response.text


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _rate(run: TapRun) -> float:
    return run.records / run.seconds


def _report(name: str, runs: list[TapRun]) -> str:
    """``name``: the median wall time and records/s of ``runs``."""
    seconds = statistics.median([r.seconds for r in runs])
    rate = statistics.median([_rate(r) for r in runs])
    return f"{name}: {seconds:.1f} s = {rate:,.0f} records/s ({runs[-1].records:,} records)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument(
        "--runs", type=int, default=1, help="full and incremental syncs each (medians printed)"
    )
    parser.add_argument(
        "--incremental-runs",
        type=int,
        metavar="N",
        help="incremental syncs after the full syncs (default: --runs)",
    )
    parser.add_argument(
        "--compare-existing",
        type=Path,
        metavar="EXECUTABLE",
        help="the existing open-source tap-optiply's executable (in a venv of its own): "
        "run after each full sync of ours, on the same data",
    )
    parser.add_argument(
        "--full-table",
        action="store_true",
        help="also run our tap with every stream in FULL_TABLE mode (by id) in each run",
    )
    parser.add_argument(
        "--skip-incremental",
        action="store_true",
        help="skip our default (incremental-mode) full sync and the incremental syncs",
    )
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="optiply-bench-tap-") as folder:
        work = Path(folder)
        database_url = f"sqlite:///{work / 'bench.db'}"
        started = time.perf_counter()
        account_id, login = build(database_url, options.products, options.lines)
        print(
            f"data: {options.products:,} products, {options.lines:,} sell order lines "
            f"(+{max(1, options.lines // 10):,} sell orders) "
            f"in {time.perf_counter() - started:.0f} s"
        )
        print(f"{_load()} (1-minute average, {os.cpu_count()} CPUs)", flush=True)
        bases: list[float] = []
        syncs: dict[str, list[TapRun]] = {}  # full syncs by name, in the order they run
        incs: list[TapRun] = []
        with server.optiply_serve(database_url, work) as served:
            config = _config(work / "config.json", served.url, account_id, login)
            ours = [str(VENV_BIN / "tap-optiply"), "--config", str(config)]
            taps: dict[str, tuple[Callable[[], list[str]], dict[str, str] | None]] = {}
            if not options.skip_incremental:
                taps["tap-optiply full sync"] = (lambda: ours, None)
            if options.full_table:
                by_id = [*ours, "--catalog", str(full_table_catalog(ours, work))]
                taps["tap-optiply FULL_TABLE sync"] = (lambda: by_id, None)
            if options.compare_existing:
                taps["existing tap-optiply full sync"] = existing_tap(
                    options.compare_existing, served.url, account_id, login, work
                )
            rows = 0
            for run in range(1, options.runs + 1):
                base_s, rows = baseline(served.url, login, account_id)
                bases.append(rows / base_s)
                print(f"run {run} baseline: {rows:,} rows in {base_s:.1f} s ({_load()})")
                for n, (name, (command, env)) in enumerate(taps.items()):
                    done = run_tap(
                        command(), work, env=env, log_name=f"tap-{n}", server_pid=served.pid
                    )
                    syncs.setdefault(name, []).append(done)
                    print(
                        f"run {run} {name}: {done.records:,} records in {done.seconds:.1f} s "
                        f"= {_rate(done):,.0f} records/s; CPU: tap {done.cpu:.1f} s, server "
                        f"{done.server_cpu:.1f} s ({_load()})",
                        flush=True,
                    )
            if not options.skip_incremental:
                state = syncs["tap-optiply full sync"][-1].state
                for run in range(1, (options.incremental_runs or options.runs) + 1):
                    change(served.url, login, account_id, options.changed, seed=run)
                    inc = run_tap(ours, work, state=state)
                    incs.append(inc)
                    state = inc.state
                    print(
                        f"run {run} incremental: {inc.records:,} records in {inc.seconds:.2f} s,"
                        f" first message after {inc.first_message:.2f} s ({_load()})",
                        flush=True,
                    )
            about_s = startup()
        print(f"--- medians of {options.runs} run(s)")
        base_rate = statistics.median(bases)
        print(f"baseline (httpx links.next loop): {base_rate:,.0f} rows/s ({rows:,} rows)")
        rates = {name: statistics.median([_rate(r) for r in runs]) for name, runs in syncs.items()}
        for name, runs in syncs.items():
            print(_report(name, runs))
        old_rate = rates.pop("existing tap-optiply full sync", None)
        if old_rate is not None:
            for name, rate in rates.items():
                print(f"{name} / existing tap-optiply: {rate / old_rate:.2f}x its records/s")
        if incs:
            print(
                f"tap-optiply incremental ({options.changed} changed): "
                f"{statistics.median([r.seconds for r in incs]):.2f} s wall, process start "
                f"included; first message after "
                f"{statistics.median([r.first_message for r in incs]):.2f} s; "
                f"records {[r.records for r in incs]}"
            )
        print(f"tap-optiply --about (interpreter and imports): {about_s:.2f} s")
        print(f"{_load()} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
