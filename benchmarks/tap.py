"""The tap benchmark: ``tap-optiply`` as a subprocess against a real ``optiply serve`` (SQLite).

Run it with ``.venv/bin/python -m benchmarks.tap`` (``--help`` lists the options). It fills a
fresh SQLite database with one account of ``--products`` products and ``--lines`` sell order
lines (ten per sell order), starts ``optiply serve``, and measures:

1. **baseline**: the same rows read by a bare keep-alive ``httpx`` loop following
   ``links.next`` (sort by id, pages of 100), i.e. what the server alone can hand out;
2. **full sync**: ``tap-optiply --config cfg.json`` exactly as users run it, stdout counted;
3. **incremental**: ``--changed`` sell order lines PATCHed through the API, then the tap again
   with the full sync's last STATE: the rows it emits and its wall time (process start included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from benchmarks import data, server
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

VENV_BIN = Path(sys.executable).parent
STREAMS = ("products", "sellOrders", "sellOrderLines")


def _orders(account_id: int, account_uuid: str, count: int, seed: int) -> Iterator[list[Any]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    for n in range(count):
        placed = start + timedelta(minutes=n, microseconds=rng.randrange(10**6))
        batch.append(
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "account_id": account_id,
                "account_uuid": account_uuid,
                "placed": placed,
                "total_value": Decimal(rng.randrange(100, 100_000)) / 100,
                "completed": placed + timedelta(days=1) if n % 3 else None,
                "remote_id_map": {},
                "created_from_public_api": True,
                "created_at": placed,
                "updated_at": placed,
            }
        )
        if len(batch) == data.BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _lines(account_id: int, orders: list[int], products: list[int], per_order: int, seed: int):  # noqa: ANN202
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    n = 0
    for order in orders:
        for _ in range(per_order):
            n += 1
            stamp = start + timedelta(seconds=n, microseconds=rng.randrange(10**6))
            batch.append(
                {
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "account_id": account_id,
                    "sell_order_id": order,
                    "product_id": rng.choice(products),
                    "quantity": rng.randrange(1, 20),
                    "subtotal_value": Decimal(rng.randrange(100, 10_000)) / 100,
                    "remote_id_map": {},
                    "created_from_public_api": True,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            if len(batch) == data.BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def build(database_url: str, products: int, lines: int) -> tuple[int, data.Login]:
    """One account with ``products`` products and ``lines`` sell order lines."""
    engine = make_engine(database_url)
    upgrade(engine)
    account = admin.create_account(engine, name="Bench tap")
    tables = RESOURCE_TABLES
    with engine.begin() as connection:
        for batch in data.product_rows(account.id, account.uuid, products, 3):
            connection.execute(insert(tables["products"]), batch)
        for batch in _orders(account.id, account.uuid, max(1, lines // 10), 4):
            connection.execute(insert(tables["sellOrders"]), batch)
        product_ids = [r[0] for r in connection.execute(select(tables["products"].c.id))]
        order_ids = [r[0] for r in connection.execute(select(tables["sellOrders"].c.id))]
        for batch in _lines(account.id, order_ids, product_ids, 10, 5):
            connection.execute(insert(tables["sellOrderLines"]), batch[:lines])
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


def run_tap(config: Path, state: dict[str, Any] | None, folder: Path) -> tuple[float, int, dict]:
    """One tap process: wall seconds, RECORD lines, the last STATE."""
    command = [str(VENV_BIN / "tap-optiply"), "--config", str(config)]
    if state is not None:
        state_path = folder / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ)
    )
    assert process.stdout is not None
    records, last_state = 0, {}
    for line in process.stdout:
        if line.startswith(b'{"type":"RECORD"'):
            records += 1
        elif b'"type":"STATE"' in line[:40]:
            last_state = json.loads(line)["value"]
    process.wait()
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"tap-optiply exited with {process.returncode}")
    return elapsed, records, last_state


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


def change(url: str, login: data.Login, account_id: int, count: int) -> None:
    """PATCH ``count`` random sell order lines through the API."""
    token = server.token(url, login)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
    with httpx.Client(headers=headers, timeout=60) as client:
        page = client.get(f"{url}/v1/sellOrderLines?accountId={account_id}&page[limit]=100")
        total = page.json()["meta"]["totalResourceCount"]
        rng = random.Random(9)
        ids = rng.sample(range(1, total + 1), count)
        for row_id in ids:
            body = {
                "data": {
                    "type": "sellOrderLines",
                    "id": str(row_id),
                    "attributes": {"quantity": 99},
                }
            }
            response = client.patch(
                f"{url}/v1/sellOrderLines/{row_id}?accountId={account_id}", json=body
            )
            assert response.status_code == 200, response.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100)
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
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} CPUs)")
        with server.optiply_serve(database_url, work) as served:
            config = _config(work / "config.json", served.url, account_id, login)
            base_s, base_rows = baseline(served.url, login, account_id)
            full_s, full_rows, state = run_tap(config, None, work)
            change(served.url, login, account_id, options.changed)
            inc_s, inc_rows, _ = run_tap(config, state, work)
        print(
            f"baseline (httpx links.next loop): {base_rows:,} rows in {base_s:.1f} s = "
            f"{base_rows / base_s:,.0f} rows/s"
        )
        print(
            f"tap-optiply full sync: {full_rows:,} records in {full_s:.1f} s = "
            f"{full_rows / full_s:,.0f} records/s ({full_s / base_s:.2f}x the baseline's time)"
        )
        print(
            f"tap-optiply incremental: {inc_rows:,} records (changed {options.changed}) "
            f"in {inc_s:.2f} s, process start included"
        )
        print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
