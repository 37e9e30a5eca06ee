"""Every resource row's ``rendered`` column is the rendering of its columns as they are, whoever
writes them: the service layer, a cascade, plain SQL inserts and updates of any rendered column
(storage/rendered_triggers.py), on each backend; lists and single reads serve that text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import Connection, Engine, insert, literal_column, select, update

from optiply.resources import REGISTRY, Attribute, Kind, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.auth import admin
from optiply.server.storage import bulk, rendered_triggers, repository
from optiply.server.storage.listing import _render_many
from optiply.server.storage.render import RENDERED, attributes_sql
from optiply.server.storage.repository import render_visible
from optiply.server.storage.tables import RESOURCE_TABLES
from small_shop import T0, Shop, build, delete, rows

DATA_SPECS = [spec for spec in REGISTRY if spec.type != "accounts"]


@pytest.fixture
def shops(storage_engine: Engine) -> Iterator[tuple[int, Shop, Shop]]:
    """An account with two small shops: a row of every type twice, their values apart."""
    account = admin.create_account(storage_engine, name=f"rendered {uuid.uuid4().hex[:6]}").id
    yield account, build(storage_engine, account, tag="a"), build(storage_engine, account, tag="b")


def stored_and_fresh(connection: Connection, spec: ResourceSpec, row_id: int) -> tuple[Any, Any]:
    """A row's ``rendered`` and its rendering made now from its columns."""
    table = RESOURCE_TABLES[spec.type]
    fresh = literal_column(attributes_sql(spec, connection.dialect.name))
    statement = select(table.c[RENDERED], fresh).where(table.c.id == row_id)
    stored, made = connection.execute(statement).one()
    return stored, made


def two_rows(connection: Connection, spec: ResourceSpec, account: int) -> tuple[int, int]:
    table = RESOURCE_TABLES[spec.type]
    statement = (
        select(table.c.id).where(table.c.account_id == account).order_by(table.c.id).limit(2)
    )
    first, second = connection.execute(statement).scalars()
    return first, second


def a_copy(
    connection: Connection, spec: ResourceSpec, account: int, **changes: Any
) -> dict[str, Any]:
    """The stored columns of a row of ``spec`` in ``account`` with a new uuid and ``changes``."""
    table = RESOURCE_TABLES[spec.type]
    row, _ = two_rows(connection, spec, account)
    values = dict(connection.execute(select(table).where(table.c.id == row)).mappings().one())
    return {**values, "uuid": str(uuid.uuid4()), **changes}


def test_rows_written_by_the_service_layer_and_cascades_are_rendered(
    storage_engine: Engine, shops: tuple[int, Shop, Shop]
) -> None:
    account, shop, _ = shops
    delete(storage_engine, account, "products", shop.ids["products"][0])  # cascades

    rows(storage_engine, account)  # asserts each row's rendered is its columns' rendering
    with storage_engine.connect() as connection:
        stored, made = stored_and_fresh(connection, get_spec("accounts"), account)
    assert stored == made is not None


@pytest.mark.parametrize("spec", DATA_SPECS, ids=lambda spec: spec.type)
def test_an_update_of_any_rendered_column_renders_the_row_again(
    storage_engine: Engine, shops: tuple[int, Shop, Shop], spec: ResourceSpec
) -> None:
    """Each rendered column in turn takes another value, by plain SQL: the text follows."""
    account = shops[0]
    table = RESOURCE_TABLES[spec.type]
    with storage_engine.begin() as connection:
        row, _ = two_rows(connection, spec, account)
        for attribute in spec.readable:
            before, _ = stored_and_fresh(connection, spec, row)
            current = connection.execute(
                select(table.c[attribute.column]).where(table.c.id == row)
            ).scalar()
            value = another_value(connection, attribute, current)
            connection.execute(
                update(table).where(table.c.id == row).values({attribute.column: value})
            )
            stored, made = stored_and_fresh(connection, spec, row)
            assert stored == made != before, f"{spec.type}.{attribute.name}: stale {RENDERED}"
        connection.rollback()


def another_value(connection: Connection, attribute: Attribute, current: Any) -> Any:
    """A valid value of ``attribute`` other than ``current``."""
    kind = attribute.kind
    if kind is Kind.REFERENCE:
        assert attribute.references is not None
        target = RESOURCE_TABLES[attribute.references]
        # the newest: the other shop's, or its deleted product (in no unique pair here)
        statement = select(target.c.id).where(target.c.id != current).order_by(target.c.id.desc())
        statement = statement.limit(1)
        return connection.execute(statement).scalar_one()
    if kind is Kind.UUID:
        return str(uuid.uuid4())
    if kind is Kind.ENUM:
        return next(choice for choice in attribute.choices if choice != current)
    if kind is Kind.BOOLEAN:
        return not current
    if kind is Kind.INTEGER:
        return 1 if current is None else current + 1
    if kind is Kind.DECIMAL:
        return Decimal("1.00") if current is None else current + 1
    if kind is Kind.DATETIME:
        return T0 if current is None or current != T0 else T0 + timedelta(days=1)
    if kind is Kind.EMAILS:
        return ["other@example.com"]
    if kind is Kind.OBJECT:
        return {"other": "1"}
    return "Z" if current != "Z" else "Y"


def test_a_plain_insert_is_rendered(storage_engine: Engine, shops: tuple[int, Shop, Shop]) -> None:
    account = shops[0]
    spec = get_spec("suppliers")
    table = RESOURCE_TABLES[spec.type]
    with storage_engine.begin() as connection:
        values = a_copy(connection, spec, account, name="Plain insert", rendered=None)
        values.pop("id")
        made = connection.execute(insert(table).returning(table.c.id), values).scalar_one()
        stored, fresh = stored_and_fresh(connection, spec, made)
        connection.rollback()
    assert stored == fresh
    assert orjson.loads(stored)["name"] == "Plain insert"


def test_bulk_inserts_render_their_rows_whatever_they_are_given(
    storage_engine: Engine, shops: tuple[int, Shop, Shop]
) -> None:
    """A row written by ``bulk`` is rendered by its trigger (COPY fires PostgreSQL's too);
    a ``rendered`` it is given is not kept."""
    account = shops[0]
    spec = get_spec("products")
    with storage_engine.begin() as connection:
        copy = a_copy(connection, spec, account, name="Bulk", rendered='{"stale":true}')
        repository.lock_account(connection, account)
        with bulk.writer(connection, background=False) as writer:
            (made,) = writer.take_ids(spec, 1)
            writer.insert(spec, [{**copy, "id": made}])
        stored, fresh = stored_and_fresh(connection, spec, made)
        connection.rollback()
    assert stored == fresh
    assert orjson.loads(stored)["name"] == "Bulk"


def test_reads_serve_the_stored_text(storage_engine: Engine, shops: tuple[int, Shop, Shop]) -> None:
    """Lists and single reads return ``rendered`` as stored (a value planted in it shows)."""
    account = shops[0]
    spec = get_spec("products")
    table = RESOURCE_TABLES[spec.type]
    with storage_engine.begin() as connection:
        row, _ = two_rows(connection, spec, account)
        planted = '{"planted":true}'
        connection.execute(update(table).where(table.c.id == row).values({RENDERED: planted}))
        assert render_visible(connection, spec, row, [account]) == planted
        assert dict(_render_many(connection, spec, [row]))[row] == planted
        connection.rollback()


def test_drop_and_create_statements_name_the_same_triggers(storage_engine: Engine) -> None:
    """What ``drop_statements`` removes, ``create_statements`` makes again (migration 0008's
    downgrade and upgrade), and rows written in between stay unrendered."""
    dialect = storage_engine.dialect.name
    spec = get_spec("promotions")
    table = RESOURCE_TABLES[spec.type]
    account = admin.create_account(storage_engine, name="drop").id
    build(storage_engine, account, tag="d")
    try:
        with storage_engine.begin() as connection:
            for statement in rendered_triggers.drop_statements(dialect):
                connection.exec_driver_sql(statement)
            connection.execute(
                update(table).where(table.c.account_id == account).values(name="Unwatched")
            )
            texts = connection.execute(
                select(table.c[RENDERED]).where(table.c.account_id == account)
            ).scalars()
            assert all("Unwatched" not in text for text in texts)
    finally:
        with storage_engine.begin() as connection:
            for statement in rendered_triggers.create_statements(dialect):
                connection.exec_driver_sql(statement)
            for statement in rendered_triggers.backfill_statements(dialect):
                connection.exec_driver_sql(statement)
    rows(storage_engine, account)
