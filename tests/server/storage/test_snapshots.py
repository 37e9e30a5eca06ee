"""``storage.snapshots``: an account's data saved and restored exactly (ids, uuids, timestamps,
remoteIdMaps, deleted rows), SQLite to PostgreSQL and back; bad files refused clearly, and a
restore that fails half-way leaves the account's data as it was."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from sqlalchemy import Engine, func, insert, select

from live import BACKENDS, POSTGRES_URL, drop_postgres_database, fresh_postgres_database
from optiply.resources import get as get_spec
from optiply.server.auth import admin
from optiply.server.storage import bulk, snapshots
from optiply.server.storage.account_data import ACCOUNTS, UnknownAccount, data_specs, table
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.reset import ResetScope, reset_account
from small_shop import (
    T0,
    build,
    create,
    private_database,
    remember_key,
    remembered_keys,
    rows,
)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from private_database(request.param, tmp_path_factory.mktemp("data"))


@pytest.fixture
def account(engine: Engine) -> int:
    return admin.create_account(engine, name="Shop").id


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """``fresh(backend)``: an engine on a new, migrated database of that backend."""
    made: list[tuple[Engine, Any]] = []

    def make(backend: str) -> Engine:
        if backend == "postgresql":
            if not POSTGRES_URL:
                pytest.skip("needs OPTIPLY_TEST_POSTGRES_URL")
            url, admin_engine = fresh_postgres_database(POSTGRES_URL)
        else:
            url, admin_engine = f"sqlite:///{tmp_path / f'{len(made)}.db'}", None
        engine = make_engine(url)
        upgrade(engine)
        made.append((engine, (url, admin_engine)))
        return engine

    yield make
    for engine, (url, admin_engine) in made:
        engine.dispose()
        if admin_engine is not None:
            drop_postgres_database(url, admin_engine)


def save(engine: Engine, account: int) -> bytes:
    out = io.BytesIO()
    with snapshots.consistent_read(engine) as connection:
        snapshots.save_snapshot(connection, account, out)
    return out.getvalue()


def restore(engine: Engine, account: int, data: bytes) -> snapshots.Snapshot:
    with engine.begin() as connection:
        return snapshots.restore_snapshot(connection, account, io.BytesIO(data))


def lines(data: bytes) -> list[Any]:
    text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return [orjson.loads(line) for line in text.splitlines()]


def packed(values: list[Any]) -> bytes:
    text = b"".join(orjson.dumps(value) + b"\n" for value in values)
    return zstandard.ZstdCompressor().compress(text)


def without_account(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {
        kind: [
            {k: v for k, v in row.items() if k not in ("account_id", "account_uuid")}
            for row in kind_rows
        ]
        for kind, kind_rows in found.items()
    }


def version(engine: Engine, account: int) -> int:
    with engine.connect() as connection:
        found: int = connection.scalar(
            select(ACCOUNTS.c.data_version).where(ACCOUNTS.c.id == account)
        )
    return found


def test_a_restore_brings_back_exactly_what_was_saved(engine: Engine, account: int) -> None:
    shop = build(engine, account)
    saved_rows = rows(engine, account)
    data = save(engine, account)
    create(engine, account, "products", {"name": "later", "stockLevel": 1})
    with engine.begin() as connection:
        reset_account(connection, account, ResetScope(coupling="7"), T0)
    before = version(engine, account)

    restored = restore(engine, account, data)

    assert rows(engine, account) == saved_rows  # ids, uuids, times, maps, deletions
    assert restored.rows == {kind: len(found) for kind, found in saved_rows.items()}
    assert restored.account["id"] == account
    assert version(engine, account) > before  # no cached count or row survives
    assert any(row["deleted_at"] for row in saved_rows["products"])
    assert saved_rows["products"][0]["remote_id_map"] == {"7": "m"}
    assert len(shop.ids["sellOrderLines"]) == 2


def test_a_restore_forgets_the_accounts_idempotency_keys(engine: Engine, account: int) -> None:
    build(engine, account)
    data = save(engine, account)
    remember_key(engine, account, "made-after-the-save")

    restore(engine, account, data)

    assert remembered_keys(engine, account) == set()


def test_the_file_says_what_it_holds(engine: Engine, account: int) -> None:
    build(engine, account)
    before = version(engine, account)

    header, *body, trailer = lines(save(engine, account))

    assert version(engine, account) == before  # a save only reads
    assert header["format"] == "optiply-snapshot" and header["formatVersion"] == 1
    assert header["account"]["id"] == account and header["database"] == engine.dialect.name
    assert [entry["type"] for entry in header["tables"]] == [s.type for s in data_specs()]
    products = header["tables"][0]
    assert products["columns"][:2] == ["id", "uuid"] and "account_id" not in products["columns"]
    assert sum(entry["rows"] for entry in header["tables"]) == len(body) == trailer["rows"]
    assert trailer["end"] == "optiply-snapshot" and len(trailer["sha256"]) == 64
    first = dict(zip(products["columns"], body[0], strict=True))
    assert first["created_at"] == "2024-03-04T10:30:15.123456Z" and first["price"] == "12.50"


def test_an_empty_account_round_trips(engine: Engine, account: int) -> None:
    data = save(engine, account)
    build(engine, account)

    restore(engine, account, data)

    assert all(not found for found in rows(engine, account).values())


def test_many_rows_are_restored_in_batches(engine: Engine, account: int) -> None:
    orders = table(get_spec("sellOrders"))
    with engine.begin() as connection:
        account_uuid = connection.scalar(select(ACCOUNTS.c.uuid).where(ACCOUNTS.c.id == account))
        connection.execute(
            insert(orders),
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "account_id": account,
                    "account_uuid": account_uuid,
                    "placed": T0,
                    "total_value": Decimal(n) / 100,
                    "remote_id_map": {"7": str(n)},
                    "created_from_public_api": False,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for n in range(bulk.CHUNK + 1)
            ],
        )
    saved = rows(engine, account)
    data = save(engine, account)
    with engine.begin() as connection:
        reset_account(connection, account, ResetScope(), T0)

    restored = restore(engine, account, data)

    assert restored.rows["sellOrders"] == bulk.CHUNK + 1
    assert rows(engine, account) == saved


@pytest.mark.parametrize(("first", "second"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_snapshot_moves_between_databases_and_back_unchanged(
    fresh: Callable[[str], Engine], first: str, second: str
) -> None:
    source, target = fresh(first), fresh(second)
    account = admin.create_account(source, name="Shop").id
    build(source, account)
    original = rows(source, account)
    for name in ("A", "B"):  # other accounts first: the ids differ there
        admin.create_account(target, name=name)
    there = admin.create_account(target, name="Copy").id

    one = save(source, account)
    restore(target, there, one)
    two = save(target, there)
    with source.begin() as connection:
        reset_account(connection, account, ResetScope(), T0)
    restore(source, account, two)

    assert there != account
    assert without_account(rows(target, there)) == without_account(original)
    assert {row["account_id"] for row in rows(target, there)["receiptLines"]} == {there}
    assert rows(source, account) == original
    header_one, *body_one, _ = lines(one)
    header_two, *body_two, _ = lines(two)
    assert body_two == body_one  # the same bytes of every row
    assert header_two["tables"] == header_one["tables"]
    assert header_two["database"] == second
    # new rows get new ids past the restored ones (PostgreSQL's sequences were moved)
    top = max(row["id"] for row in original["products"])
    made = create(target, there, "products", {"name": "new", "stockLevel": 1}).id
    assert made > top


def test_another_account_takes_a_snapshot_whose_ids_are_free(engine: Engine, account: int) -> None:
    build(engine, account)
    saved = rows(engine, account)
    data = save(engine, account)
    other = admin.create_account(engine, name="Other").id
    build(engine, other, tag="o")
    theirs = rows(engine, other)

    with pytest.raises(snapshots.SnapshotConflict, match="clash with rows of another account"):
        restore(engine, other, data)  # the source still holds those ids

    assert rows(engine, other) == theirs
    with engine.begin() as connection:
        reset_account(connection, account, ResetScope(), T0)
    restored = restore(engine, other, data)
    assert restored.account["id"] == account
    assert without_account(rows(engine, other)) == without_account(saved)
    assert {row["account_id"] for row in rows(engine, other)["sellOrderLines"]} == {other}


def test_an_unknown_account_is_refused(engine: Engine, account: int) -> None:
    data = save(engine, account)
    with pytest.raises(UnknownAccount):
        save(engine, 987654)
    with pytest.raises(UnknownAccount):
        restore(engine, 987654, data)


def _edited(data: bytes, edit: Callable[[list[Any]], None]) -> bytes:
    values = lines(data)
    edit(values)
    return packed(values)


def _newer(values: list[Any]) -> None:
    values[0]["formatVersion"] = 2
    values[0]["optiplyVersion"] = "9.0.0"


def _altered_row(values: list[Any]) -> None:
    values[-2][-1] = "2020-01-01T00:00:00.000000Z"  # the last row's last column (updated_at)


def _row_dropped(values: list[Any]) -> None:
    del values[-2]


def _unknown_type(values: list[Any]) -> None:
    values[0]["tables"][0]["type"] = "widgets"


def _unknown_column(values: list[Any]) -> None:
    values[0]["tables"][0]["columns"][2] = "colour"


def _no_trailer(values: list[Any]) -> None:
    del values[-1]


BAD_FILES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda data: b"", "not an optiply snapshot"),
    "not zstd": (lambda data: b"id,name\n1,mug\n", "not an optiply snapshot (not zstd"),
    "foreign zstd": (
        lambda data: packed([{"hello": "world"}]),
        "not an optiply snapshot (no snapshot header)",
    ),
    "newer format": (
        lambda data: _edited(data, _newer),
        "format version 2, newer than this optiply",
    ),
    "cut short": (lambda data: data[: len(data) // 2], "snapshot is"),
    "altered row": (lambda data: _edited(data, _altered_row), "checksum does not match"),
    "row dropped": (lambda data: _edited(data, _row_dropped), "the snapshot"),
    "no trailer": (lambda data: _edited(data, _no_trailer), "cut short"),
    "unknown type": (lambda data: _edited(data, _unknown_type), "'widgets'"),
    "unknown column": (lambda data: _edited(data, _unknown_column), "colour"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_clearly_and_changes_nothing(
    engine: Engine, account: int, case: str
) -> None:
    build(engine, account)
    data = save(engine, account)
    with engine.begin() as connection:
        reset_account(connection, account, ResetScope(coupling="7"), T0)
    build(engine, account, coupling="8", tag="8")
    before, stamp = rows(engine, account), version(engine, account)
    spoil, message = BAD_FILES[case]

    with pytest.raises(snapshots.SnapshotError) as raised:
        restore(engine, account, spoil(data))

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert rows(engine, account) == before
    assert version(engine, account) == stamp


def test_read_header_checks_a_file_without_the_database(engine: Engine, account: int) -> None:
    header = snapshots.read_header(io.BytesIO(save(engine, account)))
    assert header["account"]["id"] == account
    with pytest.raises(snapshots.SnapshotError, match="newer"):
        snapshots.read_header(io.BytesIO(_edited(save(engine, account), _newer)))


def _sealed(values: list[Any]) -> bytes:
    """``values`` as a snapshot whose trailer matches them (as anyone can write one)."""
    *body, _ = values
    text = b"".join(orjson.dumps(value) + b"\n" for value in body)
    trailer = {
        "end": "optiply-snapshot",
        "rows": len(body) - 1,
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    return zstandard.ZstdCompressor().compress(text + orjson.dumps(trailer) + b"\n")


def test_a_file_pointing_at_another_accounts_rows_is_refused(engine: Engine, account: int) -> None:
    """The foreign keys would take it: the reference is checked against the account."""
    build(engine, account)
    other = admin.create_account(engine, name="Other").id
    victim = build(engine, other, tag="o").ids["products"][0]
    values = lines(save(engine, account))
    offset = 1
    for entry in values[0]["tables"]:
        if entry["type"] == "sellOrderLines":
            values[offset][entry["columns"].index("product_id")] = victim
            break
        offset += entry["rows"]
    before = rows(engine, account)
    assert restore(engine, account, _sealed(lines(save(engine, account))))

    with pytest.raises(
        snapshots.SnapshotError, match="sellOrderLines point at products of another"
    ):
        restore(engine, account, _sealed(values))

    assert rows(engine, account) == before


def test_a_save_reads_one_state_while_others_write(engine: Engine, account: int) -> None:
    """What commits after the first read of a save is not in it (no child without parent)."""
    products = table(get_spec("products"))
    count = select(func.count()).select_from(products).where(products.c.account_id == account)
    with snapshots.consistent_read(engine) as reading:
        before = reading.execute(count).scalar_one()
        create(engine, account, "products", {"name": "meanwhile", "stockLevel": 1})
        assert reading.execute(count).scalar_one() == before
    with engine.connect() as connection:
        assert connection.execute(count).scalar_one() == before + 1


@pytest.mark.parametrize(
    "spoil",
    [
        lambda row, columns: row.__setitem__(columns.index("placed"), "2024-13-01T00:00:00Z"),
        lambda row, columns: row.__setitem__(columns.index("total_value"), "lots"),
        lambda row, columns: row.__setitem__(columns.index("id"), "seven"),
        lambda row, columns: row.pop(),
    ],
    ids=["bad date", "bad decimal", "bad id", "short row"],
)
def test_a_row_the_database_cannot_hold_is_refused(
    engine: Engine, account: int, spoil: Callable[[list[Any], list[str]], None]
) -> None:
    """Even with a matching checksum (anyone can write one)."""
    build(engine, account)
    before = rows(engine, account)
    values = lines(save(engine, account))
    offset = 1
    for entry in values[0]["tables"]:
        if entry["type"] == "sellOrders":
            spoil(values[offset], entry["columns"])
            break
        offset += entry["rows"]

    with pytest.raises(snapshots.SnapshotError, match="sellOrders rows are damaged"):
        restore(engine, account, _sealed(values))

    assert rows(engine, account) == before
