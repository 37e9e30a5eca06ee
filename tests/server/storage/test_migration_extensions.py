"""Migration 0005 on a database with rows: ``remote_ids`` is filled from the stored maps, the
triggers keep it after (PostgreSQL's TRUNCATE too), and the downgrade removes tables and
triggers and leaves the rows writable, on each backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from live import migrate
from optiply.server.auth import admin
from optiply.server.storage.tables import RESOURCE_TABLES
from small_shop import insert_product

PRODUCTS = RESOURCE_TABLES["products"]


def entries(engine: Engine) -> set[tuple[Any, ...]]:
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT row_id, coupling, remote_id FROM remote_ids"))
        return {tuple(row) for row in found}


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_fills_the_index_and_downgrade_removes_it(unmigrated_engine: Engine) -> None:
    engine = unmigrated_engine
    migrate(engine, command.upgrade, "0004")
    account = admin.create_account(engine, name="before 0005")
    first = insert_product(engine, account, remote_id_map={"publicApi": "P1", "7": "X"})
    insert_product(engine, account, remote_id_map={})
    migrate(engine, command.upgrade, "head")
    assert {"remote_ids", "idempotency_keys"} <= tables(engine)
    assert entries(engine) == {(first, "publicApi", "P1"), (first, "7", "X")}
    second = insert_product(
        engine, account, remote_id_map={"publicApi": "P2"}
    )  # the triggers are on
    assert (second, "publicApi", "P2") in entries(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE products CASCADE")
        assert entries(engine) == set()
        first = insert_product(engine, account, remote_id_map={"publicApi": "P1", "7": "X"})
    migrate(engine, command.downgrade, "0004")
    assert not {"remote_ids", "idempotency_keys"} & tables(engine)
    insert_product(engine, account, remote_id_map={"publicApi": "after"})  # no trigger left behind
    migrate(engine, command.upgrade, "head")
    assert {("publicApi", "P1"), ("7", "X"), ("publicApi", "after")} <= {
        (coupling, remote_id) for _, coupling, remote_id in entries(engine)
    }
