"""Reset, snapshot and date-shift times for a demo shop, on SQLite and PostgreSQL.

The account is filled by ``optiply demo load --shop medium --seed 0 --until 2026-11-30`` (about
1.4 million rows: 10,000 products, ~1,000,000 sell order lines, 20,000 buy orders, …). Then each
step runs as the real command, ``optiply … --json`` in a subprocess, timed from start to exit
(interpreter start and migration check included: the ``db upgrade`` line shows that part alone),
with its peak RSS as GNU time reports it:

    snapshot save                 the whole account to a file (its size is reported)
    accounts reset --coupling demo   everything the demo load wrote (every row, here)
    snapshot restore              back to the saved state, into an empty account
    demo shift-dates --days 7
    accounts reset                everything, by the plain delete
    snapshot restore              again

The cycle ends where it began, so ``--runs N`` repeats it; medians are reported. SQLite
databases are cached in ``benchmarks/.data/`` (each run works on a copy); PostgreSQL databases
are created for the run and dropped.

    .venv/bin/python -m benchmarks.snapshots [--shop medium] [--runs 1]
        [--postgres-url URL | --no-postgres] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks import data
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

OPTIPLY = [sys.executable, "-m", "optiply.cli.main"]
TIME = Path("/usr/bin/time")  # GNU time, for the peak RSS (Debian's "time" package)
RESULTS = Path(__file__).resolve().parent / "results" / "snapshots.json"
UNTIL = "2026-11-30"  # the last day of the demo shop's sales: the same shop on every run


def run(command: list[str], url: str) -> dict[str, Any]:
    """``optiply COMMAND --database-url URL --json``: seconds, peak RSS, its JSON."""
    # GNU time reports the command's own peak RSS (a child forked from this process would
    # start with this process's).
    with tempfile.NamedTemporaryFile() as peak:
        timed = [str(TIME), "-f", "%M", "-o", peak.name] if TIME.exists() else []
        started = time.perf_counter()
        done = subprocess.run(
            [*timed, *OPTIPLY, *command, "--database-url", url, "--json"],
            capture_output=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode().strip()}")
        kib = int(Path(peak.name).read_text().split()[-1]) if timed else 0
    output = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss_mib": kib / 1024, "output": output}


def load(url: str, shop: str) -> tuple[int, dict[str, Any]]:
    """A new account of ``url``'s (migrated) database with the demo shop; its id, the load."""
    engine = make_engine(url)
    upgrade(engine)
    account = admin.create_account(engine, name=f"Bench {shop}").id
    engine.dispose()
    loaded = run(["demo", "load", "--account", str(account), "--shop", shop, "--until", UNTIL], url)
    print(f"  loaded {loaded['output']['rows']:,} rows in {loaded['seconds']:.1f} s", flush=True)
    return account, loaded


def sqlite_copy(shop: str, work: Path) -> tuple[str, int]:
    """A private copy of the cached SQLite database with the shop (loaded on first use)."""
    data.DATA_DIR.mkdir(exist_ok=True)
    key = f"snapshots-{shop}-{UNTIL}-{data.schema_key()}"
    cached, meta = data.DATA_DIR / f"{key}.db", data.DATA_DIR / f"{key}.json"
    if not (cached.exists() and meta.exists()):
        print(f"Building {cached.name} (cached for later runs) ...", flush=True)
        building = data.DATA_DIR / f"{key}.building.db"
        for stale in data.DATA_DIR.glob(f"{key}.building.db*"):
            stale.unlink()
        url = f"sqlite:///{building}"
        account, loaded = load(url, shop)
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        building.replace(cached)
        meta.write_text(json.dumps({"account": account, "load": loaded}))
    copy = work / "optiply-snapshots.db"
    shutil.copyfile(cached, copy)
    return f"sqlite:///{copy}", int(json.loads(meta.read_text())["account"])


def postgres_database(base_url: str, shop: str) -> tuple[str, int]:
    url = data.create_postgres_database(base_url)
    print(f"Building PostgreSQL database {make_url(url).database} ...", flush=True)
    account, _ = load(url, shop)
    autocommit = make_engine(url, isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    autocommit.dispose()
    return url, account


def steps(account: int, file: Path) -> list[tuple[str, list[str]]]:
    """The cycle: each step's name and command."""
    a = str(account)
    return [
        ("snapshot save", ["snapshot", "save", "--account", a, str(file)]),
        ("reset --coupling demo", ["accounts", "reset", a, "--coupling", "demo"]),
        ("snapshot restore", ["snapshot", "restore", "--account", a, str(file)]),
        ("shift-dates --days 7", ["demo", "shift-dates", "--account", a, "--days", "7"]),
        ("reset (everything)", ["accounts", "reset", a]),
        ("snapshot restore (again)", ["snapshot", "restore", "--account", a, str(file)]),
    ]


def measure(backend: str, url: str, account: int, work: Path, runs: int) -> list[dict[str, Any]]:
    """The cycle ``runs`` times; per step the median seconds and the largest peak RSS."""
    file = work / f"shop-{backend}.jsonl.zst"
    timings: dict[str, list[dict[str, Any]]] = {"startup (db upgrade)": []}
    for _ in range(runs):
        timings["startup (db upgrade)"].append(run(["db", "upgrade"], url))
        for name, command in steps(account, file):
            result = run(command, url)
            timings.setdefault(name, []).append(result)
            print(f"    {backend:<10} {name:<26} {result['seconds']:>7.1f} s", flush=True)
    results = []
    for name, done in timings.items():
        output = done[-1]["output"]
        rows = sum((output.get("rows") or output.get("deleted") or {}).values())
        seconds = statistics.median(r["seconds"] for r in done)
        peak = max(r["peak_rss_mib"] for r in done)
        size = f", file {file.stat().st_size / 2**20:,.0f} MiB" if name == "snapshot save" else ""
        print(
            f"  {backend:<10} {name:<26} {seconds:>7.1f} s  {rows:>10,} rows  "
            f"peak RSS {peak:,.0f} MiB{size}",
            flush=True,
        )
        runs_seconds = [round(r["seconds"], 2) for r in done]
        results.append(
            {
                "backend": backend,
                "step": name,
                "rows": rows,
                "seconds": seconds,
                "runs": runs_seconds,
                "peak_rss_mib": peak,
                **({"file_bytes": file.stat().st_size} if size else {}),
            }
        )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--shop", default="medium", help="The demo shop (small, medium, large).")
    parser.add_argument("--runs", type=int, default=1, help="Cycles per backend (medians).")
    parser.add_argument("--postgres-url", default=os.environ.get("OPTIPLY_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    options = parser.parse_args(argv)
    postgres = None if options.no_postgres else options.postgres_url
    if postgres is None and not options.no_postgres:
        postgres = "postgresql://postgres@127.0.0.1:5432/postgres"
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="optiply-snapshots-") as scratch:
        work = Path(scratch)
        if options.only in (None, "sqlite"):
            url, account = sqlite_copy(options.shop, work)
            results += measure("sqlite", url, account, work, options.runs)
        if options.only in (None, "postgresql") and postgres:
            url, account = postgres_database(postgres, options.shop)
            try:
                results += measure("postgresql", url, account, work, options.runs)
            finally:
                data.drop_postgres_database(url)
    RESULTS.parent.mkdir(exist_ok=True)
    command = " ".join([".venv/bin/python -m benchmarks.snapshots", *(argv or sys.argv[1:])])
    load_avg = os.getloadavg()
    RESULTS.write_text(
        json.dumps({"command": command, "load_avg": load_avg, "results": results}, indent=2)
    )
    print(f"Results written to {RESULTS} (load average now {load_avg[0]:.2f})")


if __name__ == "__main__":
    main()
