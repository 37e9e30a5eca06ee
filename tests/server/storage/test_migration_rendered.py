"""Migration 0008 on a database with rows: every row already stored gets its ``rendered`` text,
rows written after it are rendered by the triggers, and the downgrade removes column and
triggers and leaves the rows writable, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
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


def add_product(engine: Engine, account: Any, name: str) -> int:
    values = new_row(
        get("products"), {"name": name, "stockLevel": 1}, now=datetime.now(UTC), coupling_id=None
    )
    values.update(account_id=account.id, account_uuid=account.uuid)
    with engine.begin() as connection:
        return int(
            connection.execute(sa.insert(PRODUCTS).returning(PRODUCTS.c.id), values).scalar_one()
        )


def names(engine: Engine) -> dict[int, str | None]:
    """Each product's name as its ``rendered`` text says (None: not rendered)."""
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT id, rendered FROM products"))
        return {row_id: text and orjson.loads(text)["name"] for row_id, text in found}


def columns(engine: Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("products")}


def test_upgrade_renders_the_stored_rows_and_downgrade_removes_the_column(engine: Engine) -> None:
    migrate(engine, command.upgrade, "0007")
    account = admin.create_account(engine, name="before 0008")
    first = add_product(engine, account, "Before")
    migrate(engine, command.upgrade, "head")
    assert names(engine) == {first: "Before"}
    second = add_product(engine, account, "After")  # the triggers are on
    assert names(engine) == {first: "Before", second: "After"}
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT rendered FROM accounts")).scalar()

    migrate(engine, command.downgrade, "0007")
    assert "rendered" not in columns(engine)
    with engine.begin() as connection:  # no trigger left behind naming the column
        connection.execute(sa.text("UPDATE products SET name = 'Renamed'"))
    third = add_product(engine, account, "Third")
    migrate(engine, command.upgrade, "head")
    assert names(engine) == {first: "Renamed", second: "Renamed", third: "Third"}
