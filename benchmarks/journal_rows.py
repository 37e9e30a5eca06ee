"""The request journal's writer, row by row: CPU per row to build, compress and insert, prune.

No server and no wrk: the writer's own steps timed in-process (``time.process_time``) on a
scratch SQLite database, for rows like a GET page of 100 products (a ~35 KB answer) and like a
POST (a ~1 KB request and answer). The figures say what the writer thread costs per request,
next to the ~750 µs of server CPU a GET page takes at ~1,300 req/s (``scripts/bench``).

    .venv/bin/python -m benchmarks.journal_rows [--rows 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from optiply.server.sandbox.records import Record, RequestNote, row_of
from optiply.server.storage import journal_writes as storage
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade

HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"authorization", b"Bearer not-a-real-token"),
    (b"accept", b"application/vnd.api+json"),
    (b"content-type", b"application/vnd.api+json"),
]
KEEP = 10_000


def product(number: int, rng: random.Random) -> dict[str, object]:
    return {
        "id": str(number),
        "type": "products",
        "attributes": {
            "name": f"Product {rng.getrandbits(40):x}",
            "skuCode": f"SKU-{rng.randrange(10**6):06d}",
            "eanCode": f"{rng.randrange(10**13):013d}",
            "price": f"{rng.uniform(1, 500):.2f}",
            "stockLevel": rng.randrange(1000),
            "uuid": f"{rng.getrandbits(128):032x}",
            "createdAt": "2026-11-01T10:00:00.123456Z",
            "updatedAt": "2026-11-01T10:00:00.123456Z",
            "remoteIdMap": {"publicApi": str(rng.randrange(10**9))},
        },
    }


def page_record(body: bytes, key: object | None = None) -> Record:
    """A GET page; with ``key``, one answered from the page cache (``RequestNote.body_key``)."""
    return Record(
        at=datetime.now(UTC),
        method="GET",
        path="/v1/products",
        query=b"page[limit]=100",
        headers=HEADERS,
        note=RequestNote(account_ids=(1,), client_id="client", username="user", body_key=key),
        response_chunks=[body],
        response_size=len(body),
        status=200,
        response_type="application/vnd.api+json",
    )


def post_record(body: bytes) -> Record:
    return Record(
        at=datetime.now(UTC),
        method="POST",
        path="/v1/products",
        query=b"",
        headers=HEADERS,
        note=RequestNote(account_ids=(1,), client_id="client", username="user"),
        request_chunks=[body],
        request_size=len(body),
        response_chunks=[body],
        response_size=len(body),
        status=201,
        response_type="application/vnd.api+json",
    )


def per_row(rows: int, step: Callable[[], int]) -> float:
    """µs of CPU per row for ``step``, which handles ``rows`` rows (or says how many)."""
    started = time.process_time()
    handled = step() or rows
    return (time.process_time() - started) / handled * 1e6


def measure(kind: str, record: Callable[[], Record], rows: int, work: Path) -> None:
    engine = make_engine(f"sqlite:///{work / (kind + '.db')}")
    upgrade(engine)
    records = [record() for _ in range(rows)]
    built: list[dict[str, object]] = []

    def build() -> int:
        built.extend(row_of(r) for r in records)
        return rows

    def insert() -> int:
        for start in range(0, rows, 500):
            storage.insert_rows(engine, built[start : start + 500])
        return rows

    made = per_row(rows, build)
    write = per_row(rows, insert)
    prune = per_row(rows, lambda: storage.prune(engine, [1], KEEP))
    total = made + write + prune
    print(
        f"{kind:>9}: build {made:6.1f} µs · compress+insert {write:6.1f} µs · "
        f"prune {prune:5.1f} µs · total {total:6.1f} µs a row"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    page = orjson.dumps({"data": [product(n, rng) for n in range(100)]})
    one = orjson.dumps({"data": product(1, rng)})
    print(f"GET page answer {len(page):,} bytes, POST body {len(one):,} bytes; {args.rows:,} rows")
    with tempfile.TemporaryDirectory() as tmp:
        measure("GET page", lambda: page_record(page), args.rows, Path(tmp))
        measure("cached", lambda: page_record(page, ("page", 1)), args.rows, Path(tmp))
        measure("POST", lambda: post_record(one), args.rows, Path(tmp))


if __name__ == "__main__":
    main()
