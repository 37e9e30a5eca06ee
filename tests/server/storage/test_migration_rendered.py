"""Migration 0008 on a database with rows: every row already stored gets its ``rendered`` text,
rows written after it are rendered by the triggers, and the downgrade removes column and
triggers and leaves the rows writable, on each backend."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from live import migrate
from optiply.server.auth import admin
from optiply.server.storage.tables import RESOURCE_TABLES
from small_shop import insert_product

PRODUCTS = RESOURCE_TABLES["products"]


def names(engine: Engine) -> dict[int, str | None]:
    """Each product's name as its ``rendered`` text says (None: not rendered)."""
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT id, rendered FROM products"))
        return {row_id: text and orjson.loads(text)["name"] for row_id, text in found}


def columns(engine: Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("products")}


def test_upgrade_renders_the_stored_rows_and_downgrade_removes_the_column(
    unmigrated_engine: Engine,
) -> None:
    engine = unmigrated_engine
    migrate(engine, command.upgrade, "0007")
    account = admin.create_account(engine, name="before 0008")
    first = insert_product(engine, account, "Before")
    migrate(engine, command.upgrade, "head")
    assert names(engine) == {first: "Before"}
    second = insert_product(engine, account, "After")  # the triggers are on
    assert names(engine) == {first: "Before", second: "After"}
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT rendered FROM accounts")).scalar()

    migrate(engine, command.downgrade, "0007")
    assert "rendered" not in columns(engine)
    with engine.begin() as connection:  # no trigger left behind naming the column
        connection.execute(sa.text("UPDATE products SET name = 'Renamed'"))
    third = insert_product(engine, account, "Third")
    migrate(engine, command.upgrade, "head")
    assert names(engine) == {first: "Renamed", second: "Renamed", third: "Third"}
