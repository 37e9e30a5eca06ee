"""An account's data as the reset, snapshot and date-shift operations see it: the resource
tables other than ``accounts``, in an order derived from the registry's references.

Every row of these tables carries its ``account_id``; the account's own row, its users, OAuth
clients and tokens, and its sandbox controls are not data here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, Table, case, func, select

from optiply.resources import REGISTRY, ResourceSpec
from optiply.resources import get as get_spec
from optiply.server.storage.repository import lock_account
from optiply.server.storage.tables import RESOURCE_TABLES

ACCOUNTS = RESOURCE_TABLES["accounts"]
ROOMY_CACHE_KIB = 65_536  # SQLite's page cache for a big operation (the default is 2,000 KiB)


class UnknownAccount(LookupError):
    """No account has this id."""

    def __init__(self, account_id: int) -> None:
        super().__init__(f"no account {account_id}")
        self.account_id = account_id


@dataclass(frozen=True, slots=True)
class Reference:
    """A foreign key between two data tables: ``child.column`` holds an id of ``parent``."""

    child: ResourceSpec
    column: str
    parent: ResourceSpec


@cache
def data_specs() -> tuple[ResourceSpec, ...]:
    """The data types, every referenced type before the types that refer to it."""
    pending = [spec for spec in REGISTRY if spec.type != "accounts"]
    ordered: list[ResourceSpec] = []
    while pending:  # the registry's order where it allows (it lists parents first)
        ready = next(
            (s for s in pending if all(r.parent in ordered for r in _references_of(s))), None
        )
        if ready is None:
            raise RuntimeError("the registry's references form a cycle")
        ordered.append(ready)
        pending.remove(ready)
    return tuple(ordered)


def references() -> tuple[Reference, ...]:
    """Every foreign key between data tables (``accountId`` is not one)."""
    return tuple(r for spec in data_specs() for r in _references_of(spec))


def _references_of(spec: ResourceSpec) -> tuple[Reference, ...]:
    return tuple(
        Reference(spec, attribute.column, get_spec(attribute.references))
        for attribute in spec.references
        if attribute.references is not None and attribute.references != "accounts"
    )


def table(spec: ResourceSpec) -> Table:
    """The table of ``spec``."""
    return RESOURCE_TABLES[spec.type]


def lock(connection: Connection, account_id: int) -> str:
    """Take the account's write lock and bump its data version (``repository.lock_account``):
    cached counts and rendered rows of the account are stale from this commit on.

    Returns:
        The account's uuid.

    Raises:
        UnknownAccount: when there is no such account.
    """
    lock_account(connection, account_id)
    found = connection.execute(select(ACCOUNTS.c.uuid).where(ACCOUNTS.c.id == account_id)).first()
    if found is None:
        raise UnknownAccount(account_id)
    return str(found[0])


@contextmanager
def roomy_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a page cache of up to ``ROOMY_CACHE_KIB`` for the block: a million-row
    DELETE or INSERT otherwise reads index pages again and again (measured: 17 s → 11 s for a
    medium shop's reset). The connection's own size is back afterwards. Nothing elsewhere."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{ROOMY_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {before}")


@contextmanager
def indexes_set_aside(connection: Connection, table_: Table, account_id: int) -> Iterator[None]:
    """On SQLite, when the account holds at least half of ``table_``'s rows, drop the table's
    indexes for the block and make them again afterwards, in the caller's transaction (other
    connections never see the table without them): deleting a million rows is then several
    times faster than keeping six indexes up to date row by row (24 s → 6 s measured), and
    building them over the rows left is a sort. Nothing elsewhere, or for a small account."""
    if connection.dialect.name != "sqlite":
        yield
        return
    own_row = case((table_.c.account_id == account_id, 1), else_=0)
    total, own = connection.execute(
        select(func.count(), func.coalesce(func.sum(own_row), 0)).select_from(table_)
    ).one()
    if not own or own * 2 < total:
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    found = driver.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table_.name,),
    ).fetchall()
    for name, _ in found:
        driver.execute(f'DROP INDEX "{name}"')
    yield
    for _, statement in found:
        driver.execute(statement)


def live_account_uuid(connection: Connection, account_id: int) -> str | None:
    """The uuid of account ``account_id``, or None when there is no such live account."""
    statement = select(ACCOUNTS.c.uuid).where(
        ACCOUNTS.c.id == account_id, ACCOUNTS.c.deleted_at.is_(None)
    )
    found = connection.execute(statement).scalar()
    return None if found is None else str(found)


def types_with_coupling(connection: Connection, account_id: int, coupling: str) -> list[str]:
    """The resource types with live rows of ``account_id`` whose ``remoteIdMap`` has the key
    ``coupling``, parents first (``data_specs``)."""
    found = []
    for spec in data_specs():
        t = table(spec)
        if "remote_id_map" not in t.c:
            continue
        statement = (
            select(t.c.id)
            .where(
                t.c.account_id == account_id,
                t.c.deleted_at.is_(None),
                t.c.remote_id_map[coupling].as_string().is_not(None),
            )
            .limit(1)
        )
        if connection.execute(statement).first() is not None:
            found.append(spec.type)
    return found


def uuid_taken(connection: Connection, spec: ResourceSpec, uuid: str) -> bool:
    """Whether a row of ``spec`` (deleted or not, of any account) has this uuid."""
    t = table(spec)
    return connection.execute(select(t.c.id).where(t.c.uuid == uuid).limit(1)).first() is not None
