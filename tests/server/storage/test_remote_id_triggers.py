"""The triggers behind filter[remoteId] keep ``remote_ids`` exactly the string entries of every
row's ``remoteIdMap``, whoever writes (storage/remote_id_triggers.py), on each backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from optiply.query import parse
from optiply.resources import get
from optiply.server.auth import admin
from optiply.server.service.crud import new_row
from optiply.server.storage.compile import where
from optiply.server.storage.tables import RESOURCE_TABLES, remote_ids

PRODUCTS = get("products")
TABLE = RESOURCE_TABLES["products"]


@pytest.fixture
def account(storage_engine: Engine) -> Iterator[tuple[int, str]]:
    made = admin.create_account(storage_engine, name=f"triggers {uuid.uuid4().hex[:6]}")
    yield made.id, made.uuid


def row(account: tuple[int, str], remote_id_map: Any) -> dict[str, Any]:
    values = new_row(
        PRODUCTS, {"name": "p", "stockLevel": 1}, now=datetime.now(UTC), coupling_id=None
    )
    return {
        **values,
        "account_id": account[0],
        "account_uuid": account[1],
        "remote_id_map": remote_id_map,
    }


def entries(engine: Engine, account: tuple[int, str]) -> set[tuple[Any, ...]]:
    statement = select(
        remote_ids.c.resource, remote_ids.c.row_id, remote_ids.c.coupling, remote_ids.c.remote_id
    ).where(remote_ids.c.account_id == account[0])
    with engine.connect() as connection:
        return {tuple(found) for found in connection.execute(statement)}


def add(engine: Engine, *rows: dict[str, Any]) -> list[int]:
    with engine.begin() as connection:
        if len(rows) == 1:
            return [connection.execute(insert(TABLE).returning(TABLE.c.id), rows[0]).scalar_one()]
        connection.execute(insert(TABLE), list(rows))
        found = (
            select(TABLE.c.id)
            .where(TABLE.c.uuid.in_([r["uuid"] for r in rows]))
            .order_by(TABLE.c.id)
        )
        return list(connection.execute(found).scalars())


def test_an_insert_indexes_each_string_entry(storage_engine: Engine, account: Any) -> None:
    (one,) = add(storage_engine, row(account, {"publicApi": "P", "7": "X, Y"}))
    assert entries(storage_engine, account) == {
        ("products", one, "publicApi", "P"),
        ("products", one, "7", "X, Y"),
    }


def test_a_multi_row_insert_indexes_every_row(storage_engine: Engine, account: Any) -> None:
    ids = add(storage_engine, *(row(account, {"c": f"r{n}"}) for n in range(5)))
    assert entries(storage_engine, account) == {
        ("products", i, "c", f"r{n}") for n, i in enumerate(ids)
    }


@pytest.mark.parametrize(
    "remote_id_map",
    [
        pytest.param({}, id="empty"),
        pytest.param(None, id="null"),
        pytest.param({"n": 5, "b": True, "o": {"x": "y"}}, id="not strings"),
        pytest.param({"k" * 256: "v"}, id="a key over 255"),
        pytest.param({"k": "v" * 256}, id="a value over 255"),
        pytest.param(["a", "b"], id="not an object"),
    ],
)
def test_what_cannot_be_looked_up_is_not_indexed(
    storage_engine: Engine, account: Any, remote_id_map: Any
) -> None:
    add(storage_engine, row(account, remote_id_map))  # and the write itself succeeds
    assert entries(storage_engine, account) == set()


def test_updates_and_deletes_follow(storage_engine: Engine, account: Any) -> None:
    first, second = add(storage_engine, row(account, {"c": "1"}), row(account, {"c": "2"}))

    def change(**values: Any) -> None:
        with storage_engine.begin() as connection:
            connection.execute(update(TABLE).where(TABLE.c.id == first).values(**values))

    change(remote_id_map={"c": "1b", "d": "9"})
    assert entries(storage_engine, account) == {
        ("products", first, "c", "1b"),
        ("products", first, "d", "9"),
        ("products", second, "c", "2"),
    }
    change(name="renamed", deleted_at=datetime.now(UTC))  # soft delete keeps the entries
    assert len(entries(storage_engine, account)) == 3
    change(remote_id_map=None)
    assert entries(storage_engine, account) == {("products", second, "c", "2")}
    with storage_engine.begin() as connection:
        connection.execute(delete(TABLE).where(TABLE.c.id == second))
    assert entries(storage_engine, account) == set()


def test_a_postgresql_copy_is_indexed(storage_engine: Engine, account: Any) -> None:
    if storage_engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    from psycopg.types.json import Jsonb

    rows = [row(account, {"copy": f"c{n}"}) for n in range(3)]
    columns = list(rows[0])
    with storage_engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY products ({', '.join(columns)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in values.values()])
    assert {entry[3] for entry in entries(storage_engine, account)} == {"c0", "c1", "c2"}


def test_a_lookup_is_an_index_probe(storage_engine: Engine, account: Any) -> None:
    """The ids come from the index, the rows by primary key: no scan of the account. (SQLite's
    plan; PostgreSQL's, on a million rows, is in benchmarks/README.md.)"""
    if storage_engine.dialect.name != "sqlite":
        pytest.skip(
            "a tiny PostgreSQL table gets a plan of its own; the benchmark shows the real one"
        )
    query = parse([("filter[remoteId]", "A")], PRODUCTS, remote_id_key="publicApi")
    conditions = [TABLE.c.account_id == account[0], *where(TABLE, query, "sqlite", [account[0]])]
    statement = select(TABLE.c.id).where(*conditions).order_by(TABLE.c.id).limit(51)
    sql = str(statement.compile(storage_engine, compile_kwargs={"literal_binds": True}))
    with storage_engine.connect() as connection:
        plan = " | ".join(
            row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
        )
    assert "COVERING INDEX ix_remote_ids_resource_account_id_coupling_remote_id_row_id" in plan, (
        plan
    )
    assert "SCAN products" not in plan, plan
