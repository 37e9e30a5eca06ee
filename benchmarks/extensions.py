"""The extensions' costs (docs/extensions.md), each figure next to the one it is compared with,
measured in the same run, requests of the two kinds alternating:

- ``GET /v1/products?filter[remoteId]=X`` against ``GET /v1/products/{id}`` and against
  ``GET /v1/products?filter[id]=ID`` (the same row, in an account of ``--rows`` products);
- the same with 10 values (IN): ``filter[remoteId]`` repeated against ``filter[id]=a,b,...``;
- ``POST /v1/products`` with a fresh ``Idempotency-Key`` against without one, and a replay.

One ``optiply serve`` process per database (one worker), one keep-alive connection
(``http.client``, the lightest client at hand), the latency of each request from the first byte
sent to the last received. The data comes from ``benchmarks/data.py``: the *export* account's
product ``n`` has the id ``first + n`` and, for odd ``n``, ``remoteIdMap = {"publicApi": "n"}``.

    .venv/bin/python -m benchmarks.extensions                  # 1,000,000 products, both databases
    .venv/bin/python -m benchmarks.extensions --rows 100000 --requests 500 --only sqlite
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from benchmarks import data
from benchmarks.server import DEFAULT_POSTGRES_URL, _reachable, optiply_serve, token
from optiply.query import parse
from optiply.resources import get
from optiply.server.storage.compile import order_by, where
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import RESOURCE_TABLES

RESULTS = Path(__file__).resolve().parent / "results" / "extensions.json"
JSONAPI = "application/vnd.api+json"
PRODUCTS = RESOURCE_TABLES["products"]

Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, extra headers


@dataclass
class Figure:
    """The latencies (ms) of one kind of request."""

    name: str
    latencies: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.latencies, n=10)[-1]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_ms": self.median,
            "p90_ms": self.p90,
            "n": len(self.latencies),
        }


class Connection:
    """One keep-alive HTTP/1.1 connection with a bearer token."""

    def __init__(self, base_url: str, access_token: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": JSONAPI}

    def timed(self, request: Request, expect: int) -> float:
        """Send ``request``; its latency in milliseconds (the status must be ``expect``)."""
        method, path, body, extra = request
        headers = {**self._headers, **extra}
        if body is not None:
            headers["Content-Type"] = JSONAPI
        started = time.perf_counter()
        self._connection.request(method, path, body=body, headers=headers)
        response = self._connection.getresponse()
        content = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {content[:300]!r}")
        return elapsed

    def close(self) -> None:
        self._connection.close()


def alternate(
    connection: Connection,
    kinds: dict[str, tuple[Callable[[int], Request], int]],
    count: int,
    warmup: int,
) -> list[Figure]:
    """``count`` requests of each kind (a request factory and its status), taking turns."""
    timings: dict[str, list[float]] = {name: [] for name in kinds}
    for index in range(warmup + count):
        for name, (make, status) in kinds.items():
            latency = connection.timed(make(index), status)
            if index >= warmup:
                timings[name].append(latency)
    return [Figure(name, values) for name, values in timings.items()]


def lookups(first_id: int, rows: int, seed: int) -> dict[str, tuple[Callable[[int], Request], int]]:
    """The lookup kinds, all asking for the same random rows (odd ``n``: those with a remote id)."""
    rng = random.Random(seed)
    picks = [rng.randrange(1, rows, 2) for _ in range(200_000)]

    def n(index: int, offset: int = 0) -> int:
        return picks[(index * 10 + offset) % len(picks)]

    def by_id(i: int) -> Request:
        return ("GET", f"/v1/products/{first_id + n(i)}", None, {})

    def filter_id(i: int) -> Request:
        return ("GET", f"/v1/products?filter[id]={first_id + n(i)}", None, {})

    def filter_remote(i: int) -> Request:
        return ("GET", f"/v1/products?filter[remoteId]={n(i)}", None, {})

    def ten_ids(i: int) -> Request:
        ids = ",".join(str(first_id + n(i, k)) for k in range(10))
        return ("GET", f"/v1/products?filter[id]={ids}", None, {})

    def ten_remote(i: int) -> Request:
        query = "&".join(f"filter[remoteId]={n(i, k)}" for k in range(10))
        return ("GET", f"/v1/products?{query}", None, {})

    return {
        "GET /products/{id}": (by_id, 200),
        "GET ?filter[id]=ID": (filter_id, 200),
        "GET ?filter[remoteId]=X": (filter_remote, 200),
        "GET ?filter[id]=10 ids": (ten_ids, 200),
        "GET ?filter[remoteId]=X ×10 (IN)": (ten_remote, 200),
    }


def writes() -> dict[str, tuple[Callable[[int], Request], int]]:
    """POST without a key, with a fresh key, and a replay of the previous keyed POST."""
    keys: list[str] = []

    def body(tag: str) -> bytes:
        attributes = {"name": f"Bench {tag}", "stockLevel": 1, "remoteId": tag}
        return orjson.dumps({"data": {"type": "products", "attributes": attributes}})

    def plain(i: int) -> Request:
        return ("POST", "/v1/products", body(f"plain-{i}"), {})

    def keyed(i: int) -> Request:
        keys.append(str(uuid.uuid4()))
        return ("POST", "/v1/products", body(f"keyed-{i}"), {"Idempotency-Key": keys[-1]})

    def replayed(i: int) -> Request:
        return ("POST", "/v1/products", body(f"keyed-{i}"), {"Idempotency-Key": keys[-1]})

    return {
        "POST": (plain, 201),
        "POST + Idempotency-Key": (keyed, 201),
        "POST replayed (same key)": (replayed, 201),
    }


def explain(database_url: str, account_id: int) -> list[str]:
    """The database's plan for one remote-id lookup page (as the server builds it)."""
    engine = make_engine(database_url)
    spec = get("products")
    query = parse([("filter[remoteId]", "12345")], spec, remote_id_key="publicApi")
    dialect = engine.dialect.name
    conditions = [
        PRODUCTS.c.account_id == account_id,
        PRODUCTS.c.deleted_at.is_(None),
        *where(PRODUCTS, query, dialect, [account_id]),
    ]
    statement = (
        select(PRODUCTS.c.id).where(*conditions).order_by(*order_by(PRODUCTS, query, dialect))
    )
    sql = str(statement.limit(51).compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        plan = [
            " ".join(str(part) for part in row) for row in connection.exec_driver_sql(prefix + sql)
        ]
    engine.dispose()
    return plan


def first_id(database_url: str, account_id: int) -> int:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            select(func.min(PRODUCTS.c.id)).where(PRODUCTS.c.account_id == account_id)
        )
        smallest = int(found.scalar_one())
    engine.dispose()
    return smallest


@contextmanager
def database(
    backend: str, options: argparse.Namespace, work_dir: Path
) -> Iterator[tuple[str, data.Accounts]]:
    if backend == "sqlite":
        yield data.sqlite_database(page_rows=100, export_rows=options.rows, work_dir=work_dir)
        return
    url, accounts = data.postgres_database(
        options.postgres_url, page_rows=100, export_rows=options.rows
    )
    try:
        yield url, accounts
    finally:
        data.drop_postgres_database(url)


def run_backend(backend: str, options: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    with database(backend, options, work_dir) as (url, accounts):
        lowest = first_id(url, accounts.export)
        plan = explain(url, accounts.export)
        reader, writer = (
            data.create_login(url, accounts.export),
            data.create_login(url, accounts.writes),
        )
        with optiply_serve(url, work_dir) as server:
            reading = Connection(server.url, token(server.url, reader))
            writing = Connection(server.url, token(server.url, writer))
            try:
                figures = alternate(
                    reading, lookups(lowest, options.rows, 7), options.requests, options.warmup
                )
                figures += alternate(writing, writes(), options.requests, options.warmup)
            finally:
                reading.close()
                writing.close()
    return {
        "backend": backend,
        "rows": options.rows,
        "plan": plan,
        "figures": [f.as_json() for f in figures],
    }


def print_backend(result: dict[str, Any]) -> None:
    figures = {f["name"]: f for f in result["figures"]}
    print(f"\n{result['backend']}: {result['rows']:,} products in the account; median (p90) ms")
    print("  plan of a remote-id lookup: " + " | ".join(result["plan"]))
    pairs = [
        ("GET /products/{id}", "GET ?filter[remoteId]=X"),
        ("GET ?filter[id]=ID", "GET ?filter[remoteId]=X"),
        ("GET ?filter[id]=10 ids", "GET ?filter[remoteId]=X ×10 (IN)"),
        ("POST", "POST + Idempotency-Key"),
        ("POST", "POST replayed (same key)"),
    ]
    for base, other in pairs:
        a, b = figures[base], figures[other]
        print(
            f"  {base:<24} {a['median_ms']:6.2f} ({a['p90_ms']:6.2f})   "
            f"{other:<34} {b['median_ms']:6.2f} ({b['p90_ms']:6.2f})   "
            f"×{b['median_ms'] / a['median_ms']:.2f}"
        )


def machine() -> dict[str, Any]:
    """What the figures were measured on (no wrk here, unlike ``benchmarks.server``)."""
    return {
        "cpus": os.cpu_count(),
        "cpu": data.cpu_model(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="products in the looked-up account"
    )
    parser.add_argument("--requests", type=int, default=1000, help="measured requests of each kind")
    parser.add_argument(
        "--warmup", type=int, default=100, help="unmeasured requests of each kind first"
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    options = parser.parse_args(argv)
    backends = [options.only] if options.only else ["sqlite", "postgresql"]
    if "postgresql" in backends and not _reachable(options.postgres_url):
        print(f"PostgreSQL at {options.postgres_url} is not reachable: skipped")
        backends.remove("postgresql")
    started = datetime.now(UTC)
    results = []
    with tempfile.TemporaryDirectory(prefix="optiply-ext-bench-") as work:
        for backend in backends:
            results.append(run_backend(backend, options, Path(work)))
            print_backend(results[-1])
    data.write_results(
        RESULTS,
        command=" ".join(
            ["python -m benchmarks.extensions", *(argv if argv is not None else sys.argv[1:])]
        ),
        started=started,
        machine=machine(),
        options={k: str(v) for k, v in vars(options).items() if k != "postgres_url"},
        notes=[],
        results=results,
    )
    print(f"\nresults: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
