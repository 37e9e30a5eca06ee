"""How long ``optiply demo load`` takes per shop size, on SQLite and PostgreSQL.

Each run is the command as users run it (``optiply demo load --json``, a subprocess) on a new
database holding one empty account (made and migrated before the clock starts): SQLite in a
scratch directory, PostgreSQL in a database ``optiply_bench_demo_<random>`` dropped at the
end. It prints, per backend, the wall time of the command, the load's own seconds (from its
JSON), rows per second, the peak memory and CPU time of the process, the machine's load
average and a calibration (a fixed Python loop timed before and after: about 0.45 s on a quiet
machine), and writes them all to ``benchmarks/results/demo-<shop>.json``.

    .venv/bin/python -m benchmarks.demo --shop medium [--postgres-url URL] [--runs 1]
    .venv/bin/python -m benchmarks.demo --shop large --only sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine, normalize_url
from optiply.server.storage.migrate import upgrade

RESULTS = Path(__file__).resolve().parent / "results"
OPTIPLY = [sys.executable, "-m", "optiply.cli.main"]
UNTIL = "2026-11-30"  # fixed, so runs on different days load the same shop


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A new SQLite database in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="optiply-demo-") as directory:
        yield f"sqlite:///{Path(directory) / 'optiply.db'}"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``server_url``, dropped afterwards."""
    name = f"optiply_bench_demo_{secrets.token_hex(5)}"
    server = create_engine(
        make_url(normalize_url(server_url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalize_url(server_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def prepare(url: str) -> int:
    """Migrate the database and make the account to load into; its id."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        return admin.create_account(engine, name="Demo shop").id
    finally:
        engine.dispose()


def calibration() -> float:
    """Seconds this machine takes now for a fixed pure-Python loop (about 0.45 s when quiet):
    how much the figures beside it are slowed by whatever else runs."""
    started = time.perf_counter()
    total = 0
    for number in range(20_000_000):
        total += number
    return round(time.perf_counter() - started, 2)


def run(url: str, shop: str, seed: int) -> dict[str, Any]:
    """One ``optiply demo load`` on a fresh account of ``url``: its figures."""
    account = prepare(url)
    before = calibration()
    command = [*OPTIPLY, "demo", "load", "--account", str(account), "--shop", shop]
    command += ["--seed", str(seed), "--until", UNTIL, "--json", "--database-url", url]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # with the child's peak memory
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"optiply demo load failed: {err.read().strip()}")
        loaded = json.loads(out.read().strip().splitlines()[-1])
    return {
        "wall_seconds": round(wall, 2),
        "load_seconds": loaded["seconds"],
        "rows": loaded["rows"],
        "rows_per_second": round(loaded["rows"] / loaded["seconds"]),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "calibration_seconds": [before, calibration()],  # before and after the load
        "counts": loaded["counts"],
    }


def _shown(argument: str) -> str:
    """A command-line argument, a URL's password as ***."""
    if "://" not in argument:
        return argument
    return make_url(argument).render_as_string(hide_password=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OPTIPLY_TEST_POSTGRES_URL"),
        help="A PostgreSQL server (default $OPTIPLY_TEST_POSTGRES_URL); none: SQLite only.",
    )
    args = parser.parse_args()
    backends = [b for b in ("sqlite", "postgresql") if args.only in (None, b)]
    if "postgresql" in backends and not args.postgres_url:
        backends.remove("postgresql")
    results: dict[str, list[dict[str, Any]]] = {}
    for backend in backends:
        for number in range(args.runs):
            database = (
                sqlite_database() if backend == "sqlite" else postgres_database(args.postgres_url)
            )
            with database as url:
                figures = run(url, args.shop, args.seed)
            results.setdefault(backend, []).append(figures)
            print(
                f"{args.shop:<6} {backend:<10} run {number + 1}/{args.runs}: "
                f"{figures['load_seconds']:7.1f} s load ({figures['wall_seconds']:.1f} s command)"
                f"  {figures['rows']:>10,} rows  {figures['rows_per_second']:>8,} rows/s"
                f"  {figures['peak_rss_mb']:>5} MB  cpu {figures['cpu_seconds']:.0f} s"
                f"  load avg {figures['load_average'][0]:.2f}"
                f"  calibration {figures['calibration_seconds'][0]:.2f}"
                f"/{figures['calibration_seconds'][1]:.2f} s",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    report = {
        "shop": args.shop,
        "seed": args.seed,
        "until": UNTIL,
        "date": date.today().isoformat(),
        "cpus": os.cpu_count(),
        "command": " ".join(["python -m benchmarks.demo", *map(_shown, sys.argv[1:])]),
        "results": results,
    }
    (RESULTS / f"demo-{args.shop}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
