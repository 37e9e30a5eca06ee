"""Migration 0005 on a database with rows: ``remote_ids`` is filled from the stored maps, the
triggers keep it after (PostgreSQL's TRUNCATE too), and the downgrade removes tables and
triggers and leaves the rows writable, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from live import BACKENDS, empty_database, migrate
from optiply.resources import get
from optiply.server.auth import admin
from optiply.server.service.crud import new_row
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import RESOURCE_TABLES

PRODUCTS = RESOURCE_TABLES["products"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each backend (not migrated)."""
    with empty_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def add_product(engine: Engine, account: Any, remote_id_map: dict[str, str]) -> int:
    values = new_row(
        get("products"), {"name": "p", "stockLevel": 1}, now=datetime.now(UTC), coupling_id=None
    )
    values.update(account_id=account.id, account_uuid=account.uuid, remote_id_map=remote_id_map)
    with engine.begin() as connection:
        return int(
            connection.execute(sa.insert(PRODUCTS).returning(PRODUCTS.c.id), values).scalar_one()
        )


def entries(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT row_id, coupling, remote_id FROM remote_ids"))
        return {tuple(row) for row in found}


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_fills_the_index_and_downgrade_removes_it(engine: Engine) -> None:
    migrate(engine, command.upgrade, "0004")
    account = admin.create_account(engine, name="before 0005")
    first = add_product(engine, account, {"publicApi": "P1", "7": "X"})
    add_product(engine, account, {})
    migrate(engine, command.upgrade, "head")
    assert {"remote_ids", "idempotency_keys"} <= tables(engine)
    assert entries(engine) == {(first, "publicApi", "P1"), (first, "7", "X")}
    second = add_product(engine, account, {"publicApi": "P2"})  # the triggers are on
    assert (second, "publicApi", "P2") in entries(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE products CASCADE")
        assert entries(engine) == set()
        first = add_product(engine, account, {"publicApi": "P1", "7": "X"})
    migrate(engine, command.downgrade, "0004")
    assert not {"remote_ids", "idempotency_keys"} & tables(engine)
    add_product(engine, account, {"publicApi": "after"})  # no trigger left behind
    migrate(engine, command.upgrade, "head")
    assert {("publicApi", "P1"), ("7", "X"), ("publicApi", "after")} <= {
        (coupling, remote_id) for _, coupling, remote_id in entries(engine)
    }
