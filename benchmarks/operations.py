"""Records per second written through atomic operations (docs/extensions.md) against single
POSTs, measured in the same run, the two kinds taking turns:

- ``POST /v1/operations`` with 100 ``add`` operations of products (one request, one
  transaction);
- 100 ``POST /v1/products``, one after the other on the same keep-alive connection.

One ``optiply serve`` process per database (one worker), one connection (``http.client``), into
the empty *writes* account of ``benchmarks/data.py`` (small page and export accounts). Each
round writes 100 records both ways; the figure is records per second over the round's wall time.

    .venv/bin/python -m benchmarks.operations                   # both databases, 30 rounds
    .venv/bin/python -m benchmarks.operations --rounds 10 --only sqlite
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks import data
from benchmarks.extensions import database, machine
from benchmarks.server import DEFAULT_POSTGRES_URL, _reachable, optiply_serve, token
from optiply.jsonapi.extensions import ATOMIC_MEDIA_TYPE, MAX_OPERATIONS
from optiply.jsonapi.media import MEDIA_TYPE

RESULTS = Path(__file__).resolve().parent / "results" / "operations.json"


class Connection:
    """One keep-alive HTTP/1.1 connection with a bearer token."""

    def __init__(self, base_url: str, access_token: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)
        self._authorization = f"Bearer {access_token}"

    def post(self, path: str, body: bytes, media_type: str, expect: int) -> None:
        """POST ``body`` as ``media_type``; its status must be ``expect``."""
        headers = {
            "Authorization": self._authorization,
            "Content-Type": media_type,
            "Accept": media_type,
        }
        self._connection.request("POST", path, body=body, headers=headers)
        response = self._connection.getresponse()
        content = response.read()
        if response.status != expect:
            raise RuntimeError(f"POST {path}: {response.status} {content[:300]!r}")

    def close(self) -> None:
        self._connection.close()


def product(tag: str) -> dict[str, Any]:
    attributes = {"name": f"Bench {tag}", "stockLevel": 1, "price": "2.50", "remoteId": tag}
    return {"type": "products", "attributes": attributes}


def batch_body(round_index: int) -> bytes:
    operations = [
        {"op": "add", "data": product(f"batch-{round_index}-{i}")} for i in range(MAX_OPERATIONS)
    ]
    return orjson.dumps({"atomic:operations": operations})


def one_round(connection: Connection, index: int) -> tuple[float, float]:
    """(batch, singles) records per second for round ``index``."""
    body = batch_body(index)
    started = time.perf_counter()
    connection.post("/v1/operations", body, ATOMIC_MEDIA_TYPE, 200)
    batch = MAX_OPERATIONS / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(MAX_OPERATIONS):
        single = orjson.dumps({"data": product(f"single-{index}-{i}")})
        connection.post("/v1/products", single, MEDIA_TYPE, 201)
    singles = MAX_OPERATIONS / (time.perf_counter() - started)
    return batch, singles


def run_backend(backend: str, options: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    options.rows = 0  # no export rows needed: writes go to the empty account
    with database(backend, options, work_dir) as (url, accounts):
        login = data.create_login(url, accounts.writes)
        with optiply_serve(url, work_dir) as server:
            connection = Connection(server.url, token(server.url, login))
            try:
                for index in range(options.warmup):
                    one_round(connection, -1 - index)
                rounds = [one_round(connection, index) for index in range(options.rounds)]
            finally:
                connection.close()
    batches, singles = [r[0] for r in rounds], [r[1] for r in rounds]
    return {
        "backend": backend,
        "rounds": options.rounds,
        "batch_records_per_s": statistics.median(batches),
        "single_records_per_s": statistics.median(singles),
        "speedup": statistics.median(b / s for b, s in rounds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds per database")
    parser.add_argument("--warmup", type=int, default=3, help="rounds before measuring")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    options = parser.parse_args(argv)
    backends = [options.only] if options.only else ["sqlite", "postgresql"]
    if "postgresql" in backends and not _reachable(options.postgres_url):
        print("PostgreSQL is not reachable: measuring SQLite only", file=sys.stderr)
        backends.remove("postgresql")
    started = datetime.now(UTC)
    results = []
    with tempfile.TemporaryDirectory() as work:
        for backend in backends:
            result = run_backend(backend, options, Path(work))
            results.append(result)
            print(
                f"{backend}: 100-operation batches {result['batch_records_per_s']:,.0f} records/s, "
                f"single POSTs {result['single_records_per_s']:,.0f} records/s, "
                f"×{result['speedup']:.1f} (medians of {options.rounds} rounds)"
            )
    data.write_results(
        RESULTS,
        command="python -m benchmarks.operations " + " ".join(argv or sys.argv[1:]),
        started=started,
        machine=machine(),
        options={"rounds": str(options.rounds), "warmup": str(options.warmup)},
        notes=["records/s: 100 records per request (batch) or per 100 requests (singles)"],
        backends=results,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
