"""Benchmark data: accounts, logins and products, bulk-inserted straight into the database.

Products are written with SQLAlchemy Core (``insert(table)`` executemany, big batches, one
transaction): loading through HTTP would take longer than the benchmark itself. SQLite databases
are cached under ``benchmarks/.data/`` by size and schema revision; PostgreSQL databases are
created for one run and dropped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, insert, select
from sqlalchemy.engine import make_url

from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import alembic_config, upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

DATA_DIR = Path(__file__).resolve().parent / ".data"
BATCH = 20_000
PRODUCTS = RESOURCE_TABLES["products"]
UNITS = ("pcs", "kg", "box", "m", None)


@dataclass(frozen=True)
class Accounts:
    """The three benchmark accounts of a database: listed, exported and written to."""

    page: int  # ``page_rows`` products: the GET page figure
    export: int  # ``export_rows`` products: the export and memory figures
    writes: int  # empty at first: the target of the POST figure
    page_rows: int
    export_rows: int
    export_lines: int = 0  # sell order lines of the export account (a tenth as many orders)


@dataclass(frozen=True)
class Login:
    """A user reaching exactly one account, and an OAuth client to fetch its tokens with."""

    username: str
    password: str
    client_id: str
    client_secret: str


def schema_key() -> str:
    """The newest migration revision and a hash of every migration: the cache key's schema part.

    The hash catches migrations edited in place (the head revision alone would not).
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    digest = hashlib.sha256()
    for path in sorted(Path(scripts.versions).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{scripts.get_current_head() or 'none'}-{digest.hexdigest()[:10]}"


def in_batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``rows`` in lists of ``BATCH`` (the last one shorter)."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def product_rows(account_id: int, account_uuid: str, count: int, seed: int) -> Iterator[list[Any]]:
    """``count`` plausible product rows of one account, in batches of column -> value dicts."""
    return in_batches(_products(account_id, account_uuid, count, seed))


def _products(
    account_id: int, account_uuid: str, count: int, seed: int
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(count):
        created = start + timedelta(seconds=n * 7 + rng.randrange(7))
        updated = created + timedelta(days=rng.randrange(300), microseconds=rng.randrange(10**6))
        yield (
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "account_id": account_id,
                "account_uuid": account_uuid,
                "name": f"Product {n} {rng.choice(('Red', 'Blue', 'Green', 'Large', 'Small'))}",
                "sku_code": f"SKU-{n:08d}",
                "ean_code": f"{rng.randrange(10**12, 10**13)}",
                "article_code": f"ART-{rng.randrange(10**6):06d}" if n % 3 else None,
                "price": Decimal(rng.randrange(100, 100_000)) / 100,
                "unlimited_stock": n % 50 == 0,
                "stock_level": rng.randrange(0, 5_000),
                "status": "enabled" if n % 10 else "disabled",
                "not_being_bought": n % 17 == 0,
                "resuming_purchase": None,
                "assembled": n % 23 == 0,
                "minimum_stock": rng.randrange(0, 50) if n % 2 else None,
                "maximum_stock": rng.randrange(50, 500) if n % 2 else None,
                "ignored": False,
                "manual_service_level": Decimal(rng.randrange(8_000, 10_000)) / 100
                if n % 4 == 0
                else None,
                "created_at_remote": created - timedelta(days=30) if n % 5 == 0 else None,
                "stock_measurement_unit": UNITS[n % len(UNITS)],
                "novel": n % 31 == 0,
                "category": ("A", "B", "C")[n % 3],
                "remote_id_map": {"publicApi": str(n)} if n % 2 else {},
                "remote_data_synced_to_date": None,
                "created_from_public_api": n % 2 == 1,
                "created_at": created,
                "updated_at": updated,
                "deleted_at": None,
            }
        )


def sell_order_rows(
    account_id: int, account_uuid: str, count: int, seed: int
) -> Iterator[list[dict[str, Any]]]:
    """``count`` sell orders of one account, one a minute, a third of them open."""
    return in_batches(_sell_orders(account_id, account_uuid, count, seed))


def _sell_orders(
    account_id: int, account_uuid: str, count: int, seed: int
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(count):
        placed = start + timedelta(minutes=n, microseconds=rng.randrange(10**6))
        yield (
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


def sell_order_line_rows(
    account_id: int, orders: list[int], products: list[int], per_order: int, seed: int
) -> Iterator[list[dict[str, Any]]]:
    """``per_order`` lines for each of ``orders``, each of a random one of ``products``."""
    return in_batches(_sell_order_lines(account_id, orders, products, per_order, seed))


def _sell_order_lines(
    account_id: int, orders: list[int], products: list[int], per_order: int, seed: int
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    n = 0
    for order in orders:
        for _ in range(per_order):
            n += 1
            stamp = start + timedelta(seconds=n, microseconds=rng.randrange(10**6))
            yield (
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


def insert_sales(connection: Connection, account: Any, lines: int, seed: int) -> None:
    """``lines`` sell order lines (ten an order) of the account's products, and their orders."""
    orders_table, lines_table = RESOURCE_TABLES["sellOrders"], RESOURCE_TABLES["sellOrderLines"]
    for batch in sell_order_rows(account.id, account.uuid, max(1, -(-lines // 10)), seed):
        connection.execute(insert(orders_table), batch)
    mine = PRODUCTS.c.account_id == account.id
    product_ids = [r[0] for r in connection.execute(select(PRODUCTS.c.id).where(mine))]
    order_ids = [
        r[0]
        for r in connection.execute(
            select(orders_table.c.id).where(orders_table.c.account_id == account.id)
        )
    ]
    written = 0
    for batch in sell_order_line_rows(account.id, order_ids, product_ids, 10, seed + 1):
        batch = batch[: lines - written]
        if batch:
            connection.execute(insert(lines_table), batch)
        written += len(batch)


def populate(
    engine: Engine, *, page_rows: int, export_rows: int, export_lines: int = 0, log: Any = print
) -> Accounts:
    """Migrate ``engine``'s empty database and fill the three benchmark accounts."""
    upgrade(engine)
    page = admin.create_account(engine, name="Bench page")
    export = admin.create_account(engine, name="Bench export")
    writes = admin.create_account(engine, name="Bench writes")
    started = time.perf_counter()
    with engine.begin() as connection:
        for account, count, seed in ((page, page_rows, 1), (export, export_rows, 2)):
            for batch in product_rows(account.id, account.uuid, count, seed):
                connection.execute(insert(PRODUCTS), batch)
        if export_lines:
            insert_sales(connection, export, export_lines, seed=4)
    log(
        f"  inserted {page_rows + export_rows:,} products and {export_lines:,} sell order lines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return Accounts(page.id, export.id, writes.id, page_rows, export_rows, export_lines)


def sqlite_database(
    *, page_rows: int, export_rows: int, work_dir: Path, export_lines: int = 0, log: Any = print
) -> tuple[str, Accounts]:
    """A private copy of the cached SQLite database of these sizes (built on first use).

    Returns its URL and accounts. The copy lives in ``work_dir``, so POSTs never touch the cache.
    """
    DATA_DIR.mkdir(exist_ok=True)
    lines = f"-l{export_lines}" if export_lines else ""
    key = f"sqlite-p{page_rows}-e{export_rows}{lines}-{schema_key()}"
    cached, meta = DATA_DIR / f"{key}.db", DATA_DIR / f"{key}.json"
    if not (cached.exists() and meta.exists()):
        log(f"Building {cached.name} (cached for later runs) ...")
        building = DATA_DIR / f"{key}.building.db"
        for stale in DATA_DIR.glob(f"{key}.building.db*"):
            stale.unlink()
        engine = make_engine(f"sqlite:///{building}")
        accounts = populate(
            engine,
            page_rows=page_rows,
            export_rows=export_rows,
            export_lines=export_lines,
            log=log,
        )
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        building.replace(cached)
        meta.write_text(json.dumps(asdict(accounts)))
    accounts = Accounts(**json.loads(meta.read_text()))
    copy = work_dir / "optiply-bench.db"
    # A write-ahead log left by an earlier copy in the same folder would be replayed onto this
    # one when it is opened, corrupting it.
    for stale in (copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(cached, copy)
    return f"sqlite:///{copy}", accounts


def create_postgres_database(base_url: str, prefix: str = "optiply_bench_") -> str:
    """Create an empty database ``<prefix><random>`` on the server of ``base_url``."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    server = create_engine(
        make_engine(base_url).url.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    return make_engine(base_url).url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str, prefix: str = "optiply_bench_") -> None:
    """Drop a database made by ``create_postgres_database`` (closing its connections)."""
    name = make_url(url).database
    assert name and name.startswith(prefix)
    server = create_engine(
        make_engine(url).url.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.dispose()


def postgres_database(
    base_url: str, *, page_rows: int, export_rows: int, export_lines: int = 0, log: Any = print
) -> tuple[str, Accounts]:
    """A fresh, filled and analysed PostgreSQL database; the caller drops it."""
    url = create_postgres_database(base_url)
    log(f"Building PostgreSQL database {make_url(url).database} ...")
    try:
        engine = make_engine(url)
        accounts = populate(
            engine,
            page_rows=page_rows,
            export_rows=export_rows,
            export_lines=export_lines,
            log=log,
        )
        engine.dispose()
        autocommit = make_engine(url, isolation_level="AUTOCOMMIT")
        with autocommit.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        autocommit.dispose()
    except BaseException:
        drop_postgres_database(url)
        raise
    return url, accounts


def create_login(database_url: str, account_id: int) -> Login:
    """A new user (all scopes) reaching only ``account_id``, and a new OAuth client."""
    engine = make_engine(database_url)
    try:
        tag = uuid.uuid4().hex[:10]
        password = f"bench-{uuid.uuid4().hex}"
        admin.create_user(
            engine, username=f"bench-{tag}", password=password, account_ids=[account_id]
        )
        client = admin.create_client(engine, name=f"bench-{tag}")
    finally:
        engine.dispose()
    return Login(f"bench-{tag}", password, client.client_id, client.client_secret)


def cpu_model() -> str:
    """The processor's model name, as /proc/cpuinfo gives it ("unknown" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def write_results(
    path: Path,
    *,
    command: str,
    started: datetime,
    machine: dict[str, Any],
    options: dict[str, str],
    notes: list[str],
    **results: Any,
) -> None:
    """The JSON results file of a benchmark run: how it ran, then ``results``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": command,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "machine": machine,
        "options": options,
        "notes": notes,
        **results,
    }
    path.write_text(json.dumps(document, indent=2))
