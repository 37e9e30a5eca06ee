"""``storage.bulk``: rows written in bulk are stored exactly as the API stores them, get ids
the API never hands out again, mark the change for every server's caches, and are all or
nothing; on SQLite indexes put off by ``expect`` come back as they were."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from live import LiveServer, make_login
from optiply.resources import get
from optiply.server.storage import bulk, repository
from optiply.server.storage.tables import RESOURCE_TABLES
from support import create

PRODUCTS = get("products")


def stored(server: LiveServer, table: str, row_id: int) -> dict[str, Any]:
    """A row as the database driver returns it (SQLite: the stored text)."""
    with server.engine.connect() as connection:
        result = connection.exec_driver_sql(f"SELECT * FROM {table} WHERE id = {int(row_id)}")
        return dict(result.mappings().one())


def python_row(server: LiveServer, spec_type: str, row_id: int) -> dict[str, Any]:
    """A row as SQLAlchemy reads it: what ``bulk`` takes."""
    table = RESOURCE_TABLES[spec_type]
    with server.engine.connect() as connection:
        return dict(connection.execute(select(table).where(table.c.id == row_id)).mappings().one())


def copy_in_bulk(server: LiveServer, spec_type: str, row: dict[str, Any], **changes: Any) -> int:
    """Write ``row`` again through ``bulk`` with a new id and uuid; its id."""
    with server.engine.begin() as connection:
        repository.lock_account(connection, row["account_id"])
        with bulk.writer(connection) as writer:
            (row_id,) = writer.take_ids(get(spec_type), 1)
            copy = {**row, "id": row_id, "uuid": f"00000000-0000-4000-8000-{row_id:012d}"}
            writer.insert(get(spec_type), [{**copy, **changes}])
    return int(row_id)


@pytest.mark.parametrize(
    ("spec_type", "attributes"),
    [
        (
            "products",
            {"name": "Mug é", "price": "12.5", "stockLevel": 3, "resumingPurchase": None,
             "createdAtRemote": "2024-03-05T10:00:00.123456Z", "remoteId": "P-1"},
        ),
        (
            "suppliers",
            {"name": "Süd", "emails": ["a@b.example", "c@d.example"], "deliveryTime": 3,
             "remoteId": 'quote " and \\ and é'},
        ),
    ],
)  # fmt: skip
def test_bulk_rows_are_stored_as_the_api_stores_them(server, spec_type, attributes):
    login = make_login(server)
    with login.client() as api:
        made = create(api, spec_type, **attributes)
    original = python_row(server, spec_type, int(made["id"]))

    copied = copy_in_bulk(server, spec_type, original)

    table = get(spec_type).table
    before, after = stored(server, table, int(made["id"])), stored(server, table, copied)
    assert {**after, "id": None, "uuid": None} == {**before, "id": None, "uuid": None}


def test_a_flat_remote_id_map_is_written_as_json_dumps_writes_it(server):
    login = make_login(server)
    with login.client() as api:
        made = create(api, "products", remoteId="SO-1/2")
    original = python_row(server, "products", int(made["id"]))
    maps = [{"demo": "SO-1/2"}, {"demo": 'a"b'}, {"demo": "é"}, {"a": "1", "b": "2"}, {}]
    for remote_id_map in maps:
        copied = copy_in_bulk(server, "products", original, remote_id_map=remote_id_map)
        assert python_row(server, "products", copied)["remote_id_map"] == remote_id_map
        if server.engine.dialect.name == "sqlite":
            assert stored(server, "products", copied)["remote_id_map"] == json.dumps(remote_id_map)


def test_ids_are_never_handed_out_again_and_the_api_continues_after_them(server):
    login = make_login(server)
    with login.client() as api:
        first = int(create(api, "products")["id"])
        row = python_row(server, "products", first)
        taken = copy_in_bulk(server, "products", row)
        explicit = taken + 1000  # as a restore writes the ids of a snapshot
        with server.engine.begin() as connection:
            repository.lock_account(connection, login.account_id)
            bulk.insert_rows(
                connection,
                PRODUCTS,
                [{**row, "id": explicit, "uuid": f"00000000-0000-4000-8000-{explicit:012d}"}],
            )
        after = int(create(api, "products")["id"])

    assert first < taken < explicit < after


def test_a_bulk_write_bumps_the_accounts_data_version(server):
    login = make_login(server)
    accounts = RESOURCE_TABLES["accounts"]
    version = select(accounts.c.data_version).where(accounts.c.id == login.account_id)
    with login.client() as api:
        row = python_row(server, "products", int(create(api, "products")["id"]))
        assert api.get("/products").json()["meta"]["totalResourceCount"] == 1  # now cached
        with server.engine.connect() as connection:
            before = connection.execute(version).scalar_one()
        with server.engine.begin() as connection:  # no lock_account: bulk marks it itself
            with bulk.writer(connection) as writer:
                (row_id,) = writer.take_ids(PRODUCTS, 1)
                uuid = f"00000000-0000-4000-8000-{row_id:012d}"
                writer.insert(PRODUCTS, [{**row, "id": row_id, "uuid": uuid}])
        with server.engine.connect() as connection:
            assert connection.execute(version).scalar_one() > before
        assert api.get("/products").json()["meta"]["totalResourceCount"] == 2


def _indexes(server: LiveServer, table: str) -> list[tuple[str, str]]:
    if server.engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
    with server.engine.connect() as connection:
        return sorted(tuple(r) for r in connection.execute(text(query), {"t": table}))


def test_indexes_put_off_by_expect_come_back_as_they_were(server):
    login = make_login(server)
    with login.client() as api:
        row = python_row(server, "products", int(create(api, "products")["id"]))
    before = _indexes(server, "products")
    with server.engine.begin() as connection:
        repository.lock_account(connection, login.account_id)
        with bulk.writer(connection) as writer:
            writer.expect(PRODUCTS, 10**9)  # many rows to come: SQLite drops the indexes
            if server.engine.dialect.name == "sqlite":
                assert _inside(connection, "products") == []
            ids = writer.take_ids(PRODUCTS, 3)
            writer.insert(
                PRODUCTS,
                [{**row, "id": i, "uuid": f"00000000-0000-4000-8000-{i:012d}"} for i in ids],
            )

    assert _indexes(server, "products") == before


def _inside(connection: Any, table: str) -> list[Any]:
    query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql NOTNULL"
    return list(connection.exec_driver_sql(query, (table,)))


@pytest.mark.parametrize("defer", [False, True], ids=["indexed", "indexes-put-off"])
def test_a_bad_row_fails_the_write_and_nothing_stays(server, defer):
    login = make_login(server)
    with login.client() as api:
        row = python_row(server, "products", int(create(api, "products")["id"]))
    before = _indexes(server, "products")
    good = [{**row, "uuid": f"00000000-0000-4000-9000-{i:012d}"} for i in range(3)]
    duplicate = {**row, "uuid": good[0]["uuid"]}  # the uuid index is unique
    with pytest.raises(IntegrityError):
        with server.engine.begin() as connection:
            repository.lock_account(connection, login.account_id)
            with bulk.writer(connection) as writer:
                if defer:
                    writer.expect(PRODUCTS, 10**9)
                ids = writer.take_ids(PRODUCTS, 4)
                writer.insert(
                    PRODUCTS, [{**r, "id": i} for r, i in zip([*good, duplicate], ids, strict=True)]
                )
    with login.client() as api:
        assert api.get("/products").json()["meta"]["totalResourceCount"] == 1
    assert _indexes(server, "products") == before


@pytest.mark.parametrize("fails", [False, True], ids=["closed", "aborted"])
def test_sqlite_gets_its_own_cache_size_back(server, fails):
    """The writer raises SQLite's page cache for a load; the pooled connection gets its own
    setting back either way."""
    if server.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    login = make_login(server)
    with server.engine.connect() as connection:
        own = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.commit()
        try:
            with connection.begin(), bulk.writer(connection):
                repository.lock_account(connection, login.account_id)
                assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == (
                    -bulk.SQLITE_CACHE_KIB
                )
                if fails:
                    raise RuntimeError("stop")
        except RuntimeError:
            pass
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == own
