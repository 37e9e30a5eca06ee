"""Row access for the resources: every statement the service layer needs, and nothing else.

Functions take a ``Connection`` (the caller owns the transaction) and an account set: the rows
of other accounts and soft-deleted rows are never read or written here. Pages of lists are read
by ``listing``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from optiply.resources import ResourceSpec
from optiply.server.storage.render import attributes_sql
from optiply.server.storage.tables import RESOURCE_TABLES

Rendered = tuple[int, str]  # (id, attributes JSON text)

__all__ = [
    "Connection",
    "Engine",
    "Rendered",
    "RowMapping",
]  # re-exported types for the service layer


def table_of(spec: ResourceSpec) -> Table:
    """The table holding ``spec``'s rows."""
    return RESOURCE_TABLES[spec.type]


def lock_account(connection: Connection, account_id: int) -> None:
    """Take ``account_id``'s write lock for the rest of the transaction, and mark the change
    (its data version goes up by one): the first statement of every write in the account.

    On PostgreSQL the UPDATE locks the account's row; on SQLite it starts the transaction as
    the database's one writer. Either way the statements after it see every write committed
    before, and no other write of the account runs until this one commits or rolls back.

    Once per transaction and account: a batch of operations, or a create that checks its
    parent, asks again and is answered from ``connection.info`` (one bump marks the change).
    """
    held = connection.info.get(_LOCKED)
    transaction = connection.get_transaction()  # None before the first statement
    if transaction is not None and held is not None and held[0] is transaction:
        if account_id in held[1]:
            return
    connection.execute(_BUMP, {"account_id": account_id})
    transaction = connection.get_transaction()
    if held is not None and held[0] is transaction:
        held[1].add(account_id)
    else:
        connection.info[_LOCKED] = (transaction, {account_id})


_LOCKED = "optiply_locked_accounts"  # connection.info: (transaction, account ids it locked)
_ACCOUNTS = RESOURCE_TABLES["accounts"]
_BUMP = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(data_version=_ACCOUNTS.c.data_version + 1)
)


def render_visible(
    connection: Connection, spec: ResourceSpec, row_id: int, account_ids: Collection[int]
) -> str | None:
    """The attributes JSON of row ``row_id`` if it is visible in ``account_ids``."""
    statement = _render_statement(spec, connection.dialect.name)
    parameters = {"row_id": row_id, "accounts": list(account_ids)}
    found = connection.execute(statement, parameters).scalar()
    return None if found is None else str(found)


_ACCOUNT_UUIDS: dict[tuple[str, int], str] = {}


def account_uuid(connection: Connection, account_id: int) -> str:
    """The uuid of an account (immutable, so remembered per database)."""
    key = (str(connection.engine.url), account_id)
    known = _ACCOUNT_UUIDS.get(key)
    if known is None:
        accounts = RESOURCE_TABLES["accounts"]
        statement = select(accounts.c.uuid).where(accounts.c.id == account_id)
        known = _ACCOUNT_UUIDS[key] = str(connection.execute(statement).scalar_one())
    return known


def find(
    connection: Connection,
    spec: ResourceSpec,
    row_id: int,
    account_ids: Collection[int],
    *,
    for_update: bool = False,
) -> RowMapping | None:
    """The stored row ``row_id`` if it is visible in ``account_ids``."""
    statement = _find_statement(spec, for_update and connection.dialect.name == "postgresql")
    parameters = {"row_id": row_id, "accounts": list(account_ids)}
    return connection.execute(statement, parameters).mappings().first()


def find_uuids(
    connection: Connection, spec: ResourceSpec, row_ids: Collection[int], account_id: int
) -> dict[int, str]:
    """The uuids of those of ``row_ids`` that are visible in ``account_id``, by id."""
    if not row_ids:
        return {}
    parameters = {"row_ids": list(row_ids), "accounts": [account_id]}
    found = connection.execute(_find_uuids_statement(spec), parameters)
    return {int(row_id): str(row_uuid) for row_id, row_uuid in found}


@cache
def _find_uuids_statement(spec: ResourceSpec) -> Any:
    table = table_of(spec)
    visible = _visible(table)[1:]  # the account and not deleted; the ids are a list here
    ids = table.c.id.in_(bindparam("row_ids", expanding=True))
    return select(table.c.id, table.c.uuid).where(ids, *visible)


def _visible(table: Table) -> list[ColumnElement[bool]]:
    """The scope with bound parameters ``row_id`` and ``accounts`` (an expanding list)."""
    owner = table.c.account_id if "account_id" in table.c else table.c.id
    return [
        table.c.id == bindparam("row_id"),
        owner.in_(bindparam("accounts", expanding=True)),
        table.c.deleted_at.is_(None),
    ]


@cache
def _find_statement(spec: ResourceSpec, for_update: bool) -> Any:
    table = table_of(spec)
    statement = select(table).where(*_visible(table))
    return statement.with_for_update() if for_update else statement


@cache
def _render_statement(spec: ResourceSpec, dialect: str) -> Any:
    table = table_of(spec)
    return select(literal_column(attributes_sql(spec, dialect))).where(*_visible(table))


class UniqueViolation(Exception):
    """A write broke a unique index (two requests raced past the conflict check)."""


@contextmanager
def _unique_violations() -> Iterator[None]:
    try:
        yield
    except IntegrityError as error:
        text = str(error.orig).lower()
        if "unique" in text or getattr(error.orig, "sqlstate", None) == "23505":
            raise UniqueViolation(str(error.orig)) from error
        raise


def insert_row(connection: Connection, spec: ResourceSpec, values: Mapping[str, Any]) -> int:
    """Insert a row (column -> value) and return its id."""
    with _unique_violations():
        result = connection.execute(_insert_statement(spec), dict(values))
    return int(result.scalar_one())


def insert_rows(
    connection: Connection, spec: ResourceSpec, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert rows that all have the same columns, in one statement; their ids, in order."""
    with _unique_violations():
        result = connection.execute(_insert_many_statement(spec), [dict(row) for row in rows])
    return [int(row_id) for row_id in result.scalars()]


@cache
def _insert_many_statement(spec: ResourceSpec) -> Any:
    table = table_of(spec)
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def insert_rendered(
    connection: Connection, spec: ResourceSpec, values: Mapping[str, Any]
) -> tuple[int, str]:
    """Insert a row and return its id and attributes JSON (``INSERT ... RETURNING``)."""
    statement = _insert_rendered_statement(spec, connection.dialect.name)
    with _unique_violations():
        row_id, rendered = connection.execute(statement, dict(values)).one()
    return int(row_id), str(rendered)


def insert_rendered_many(
    connection: Connection, spec: ResourceSpec, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[int, str]]:
    """``insert_rendered`` of rows that all have the same columns, in one statement; their
    ids and attributes JSON, in order."""
    if len(rows) == 1:
        return [insert_rendered(connection, spec, rows[0])]
    statement = _insert_rendered_statement(spec, connection.dialect.name, ordered=True)
    with _unique_violations():
        found = connection.execute(statement, [dict(row) for row in rows])
        return [(int(row_id), str(rendered)) for row_id, rendered in found]


@cache
def _insert_rendered_statement(spec: ResourceSpec, dialect: str, ordered: bool = False) -> Any:
    table = table_of(spec)
    rendered: Any = literal_column(attributes_sql(spec, dialect))
    return insert(table).returning(table.c.id, rendered, sort_by_parameter_order=ordered)


@cache
def _insert_statement(spec: ResourceSpec) -> Any:
    table = table_of(spec)
    return insert(table).returning(table.c.id)


def update_row(
    connection: Connection, spec: ResourceSpec, row_id: int, values: Mapping[str, Any]
) -> None:
    """Update columns of one row."""
    table = table_of(spec)
    with _unique_violations():
        connection.execute(update(table).where(table.c.id == row_id).values(dict(values)))


def soft_delete(
    connection: Connection, spec: ResourceSpec, row_ids: Collection[int], now: datetime
) -> None:
    """Mark rows deleted (and bump ``updatedAt``)."""
    if not row_ids:
        return
    table = table_of(spec)
    connection.execute(
        update(table)
        .where(and_(table.c.id.in_(list(row_ids)), table.c.deleted_at.is_(None)))
        .values(deleted_at=now, updated_at=now)
    )


def live_ids(
    connection: Connection, spec: ResourceSpec, column: str, parent_ids: Collection[int]
) -> list[int]:
    """Ids of the non-deleted rows whose ``column`` is one of ``parent_ids``."""
    if not parent_ids:
        return []
    table = table_of(spec)
    statement = select(table.c.id).where(
        table.c[column].in_(list(parent_ids)), table.c.deleted_at.is_(None)
    )
    return [row[0] for row in connection.execute(statement)]


def other_live_row(
    connection: Connection,
    spec: ResourceSpec,
    values: Mapping[str, Any],
    exclude_id: int | None = None,
) -> int | None:
    """The id of a live row whose columns equal ``values`` (other than ``exclude_id``), if any."""
    table = table_of(spec)
    statement = select(table.c.id).where(*_equal(table, values), table.c.deleted_at.is_(None))
    if exclude_id is not None:
        statement = statement.where(table.c.id != exclude_id)
    found = connection.execute(statement.limit(1)).first()
    return None if found is None else int(found[0])


def _equal(table: Table, equals: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return [table.c[column] == value for column, value in equals.items()]


def find_live(
    connection: Connection,
    spec: ResourceSpec,
    equals: Mapping[str, Any],
    *,
    for_update: bool = False,
) -> RowMapping | None:
    """The first live row whose columns equal ``equals`` (no account scope: callers scope)."""
    table = table_of(spec)
    statement = select(table).where(*_equal(table, equals), table.c.deleted_at.is_(None))
    if for_update and connection.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return connection.execute(statement.limit(1)).mappings().first()


def live_rows(
    connection: Connection, spec: ResourceSpec, equals: Mapping[str, Any], columns: Sequence[str]
) -> list[RowMapping]:
    """``columns`` of the live rows whose columns equal ``equals``, in id order."""
    table = table_of(spec)
    statement = (
        select(*(table.c[c] for c in columns))
        .where(*_equal(table, equals), table.c.deleted_at.is_(None))
        .order_by(table.c.id)
    )
    return list(connection.execute(statement).mappings())


def live_values(
    connection: Connection, spec: ResourceSpec, column: str, equals: Mapping[str, Any]
) -> list[Any]:
    """One column of the live rows whose columns equal ``equals``."""
    return [row[column] for row in live_rows(connection, spec, equals, (column,))]


def count_live(connection: Connection, spec: ResourceSpec, equals: Mapping[str, Any]) -> int:
    """How many live rows have columns equal to ``equals``."""
    table = table_of(spec)
    statement = (
        select(func.count())
        .select_from(table)
        .where(*_equal(table, equals), table.c.deleted_at.is_(None))
    )
    return int(connection.execute(statement).scalar_one())


def update_where(
    connection: Connection,
    spec: ResourceSpec,
    equals: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    exclude_id: int | None = None,
) -> None:
    """Update every live row whose columns equal ``equals`` (but ``exclude_id``)."""
    table = table_of(spec)
    statement = update(table).where(*_equal(table, equals), table.c.deleted_at.is_(None))
    if exclude_id is not None:
        statement = statement.where(table.c.id != exclude_id)
    connection.execute(statement.values(dict(values)))


def insert_many(
    connection: Connection, spec: ResourceSpec, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert several rows at once."""
    if rows:
        connection.execute(insert(table_of(spec)), [dict(row) for row in rows])


def column_values(
    connection: Connection, spec: ResourceSpec, column: str, row_ids: Collection[int]
) -> list[Any]:
    """``column`` of the rows ``row_ids``, deleted or not."""
    table = table_of(spec)
    statement = select(table.c[column]).where(table.c.id.in_(list(row_ids)))
    return [row[0] for row in connection.execute(statement)]


def ping(connection: Connection) -> None:
    """A trivial query, for health checks."""
    connection.exec_driver_sql("SELECT 1")
