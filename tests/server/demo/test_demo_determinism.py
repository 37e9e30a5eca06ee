"""Same seed, same shop: every column of every row, on SQLite and PostgreSQL alike; another
seed, another shop. And an account that still holds rows of an earlier load is refused."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from live import POSTGRES_URL, drop_postgres_database, fresh_postgres_database, tmp_sqlite_url
from optiply.resources import REGISTRY, get
from optiply.server import demo
from optiply.server.auth import admin
from optiply.server.demo import SHOPS
from optiply.server.demo.codes import uuid4, uuid_stream
from optiply.server.demo.sales import SalesJob, SalesProcess
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

UNTIL = date(2025, 3, 31)


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Any]:
    """``fresh(name)``: an engine on a new, migrated database with one account; PostgreSQL's
    when ``name`` starts with "postgresql"."""
    made: list[tuple[Engine, Any]] = []

    def fresh(name: str) -> Engine:
        if name.startswith("postgresql"):
            assert POSTGRES_URL
            url, admin_engine = fresh_postgres_database(POSTGRES_URL)
            engine = make_engine(url)
            made.append((engine, (url, admin_engine)))
        else:
            directory = tmp_path / name
            directory.mkdir()
            engine = make_engine(tmp_sqlite_url(directory))
            made.append((engine, None))
        upgrade(engine)
        assert admin.create_account(engine, name="Shop").id == 1
        return engine

    yield fresh
    for engine, postgres in made:
        engine.dispose()
        if postgres:
            drop_postgres_database(*postgres)


def dump(engine: Engine, *, deleted: bool = False, ids: bool = True) -> str:
    """The live (or the deleted) demo rows, every column as SQLAlchemy reads it, as JSON
    text; the account's own uuid left out (it is random per database), and ids, uuids and
    deletion times too unless ``ids``."""
    tables = {}
    with engine.connect() as connection:
        for spec in REGISTRY:
            if spec.type == "accounts":
                continue
            table = RESOURCE_TABLES[spec.type]
            which = table.c.deleted_at.is_not(None) if deleted else table.c.deleted_at.is_(None)
            rows = connection.execute(select(table).where(which).order_by(table.c.id))
            tables[spec.type] = [
                {k: _plain(v) for k, v in row.items() if _kept(k, ids)} for row in rows.mappings()
            ]
    return json.dumps(tables, sort_keys=True)


def _kept(column: str, ids: bool) -> bool:
    if column == "account_uuid":
        return False
    return ids or not (column in ("id", "deleted_at") or column.endswith(("_id", "uuid")))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        assert value.tzinfo is not None
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


SECOND = ["postgresql"] if POSTGRES_URL else ["sqlite-again"]


@pytest.mark.parametrize("second", SECOND)
def test_the_same_seed_gives_the_same_rows_on_any_database_and_in_two_processes(databases, second):
    """SQLite against PostgreSQL (or SQLite again), and the sell orders made here against
    made by a process of their own (``processes=2``, as for medium and large shops)."""
    first, other = databases("sqlite"), databases(second)
    demo.load(first, account_id=1, shop="small", seed=5, until=UNTIL, processes=1)
    demo.load(other, account_id=1, shop="small", seed=5, until=UNTIL, processes=2)

    assert dump(first) == dump(other)
    assert '"remote_id_map": {"demo": "SO-00000001"}' in dump(first)


def test_rows_of_an_earlier_load_refuse_the_same_seed_and_another_seed_is_another_shop(
    databases,
):
    engine = databases("sqlite")
    demo.load(engine, account_id=1, shop="small", seed=5, until=UNTIL)
    with engine.begin() as connection:  # as DELETEs through the API leave them: soft-deleted
        for spec in REGISTRY:
            if spec.type != "accounts":
                table = RESOURCE_TABLES[spec.type]
                connection.execute(update(table).values(deleted_at=datetime.now(UTC)))

    with pytest.raises(demo.DemoError, match=r"deleted rows of an earlier load.*--coupling demo"):
        demo.load(engine, account_id=1, shop="small", seed=5, until=UNTIL)
    loaded = demo.load(engine, account_id=1, shop="small", seed=6, until=UNTIL)  # other uuids
    assert loaded.counts["products"] == 32

    # Another seed, another shop: seed 6's rows (live) against seed 5's (deleted).
    assert dump(engine, ids=False) != dump(engine, deleted=True, ids=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"account_id": 2}, "account 2 does not exist"),
        ({"shop": "huge"}, "unknown shop 'huge': choose small, medium or large"),
        ({"until": date(1899, 12, 31)}, "out of range"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(databases, options, message):
    engine = databases("sqlite")
    arguments = {"account_id": 1, "shop": "small", "until": UNTIL, **options}

    with pytest.raises(demo.DemoError, match=message):
        demo.load(engine, **arguments)
    assert '"products": []' in dump(engine)


BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_load_that_fails_half_way_writes_nothing(databases, backend):
    """All or nothing: a clash in the middle of the sell orders rolls back the whole shop."""
    engine = databases(backend)
    other = admin.create_account(engine, name="Other").id
    taken = uuid_stream(5, 1, get("sellOrders"))
    for _ in range(3000):  # the uuid the 3,000th sell order of the shop will want
        clash = uuid4(taken)
    now = datetime.now(UTC)
    with engine.begin() as connection:  # another account's sell order holds that uuid
        connection.execute(
            insert(RESOURCE_TABLES["sellOrders"]).values(
                uuid=clash,
                account_id=other,
                placed=now,
                total_value=Decimal("1.00"),
                created_from_public_api=True,
                created_at=now,
                updated_at=now,
            )
        )
    before = dump(engine)

    with pytest.raises(IntegrityError):
        demo.load(engine, account_id=1, shop="small", seed=5, until=UNTIL)
    assert dump(engine) == before


def test_a_failing_sales_process_fails_the_load_with_its_reason():
    broken = dataclasses.replace(SHOPS["small"], name="broken", suppliers=0)  # plan() fails
    job = SalesJob(broken, 1, UNTIL, 1, "uuid", range(1, 33), {"sellOrders": range(1, 9)}, {})

    with pytest.raises(RuntimeError, match="the demo sales process failed: IndexError"):
        with SalesProcess(job) as sales:
            list(sales.rest())
