"""Bulk writes of fully-formed rows: many rows of a resource table, fast, in the caller's
transaction (demo shops, snapshot restores).

Rows are mappings of column name to value in the Python form the API's own writes bind (aware
datetimes, ``Decimal``, ``dict``/``list`` for JSON columns, ``bool``): what
``repository.insert_row`` takes. They are stored exactly as that would store them (each
column's SQLAlchemy type converts the values), but a chunk at a time, on a thread of its own:
on SQLite multi-row INSERTs, on PostgreSQL a binary ``COPY``. Rows bound in another process
(``Layout.binder``) go in with ``insert_bound``.

Nothing here checks a row: the caller built it by the API's rules. What the database enforces
(foreign keys, unique uuids) still holds, so parents go in before their children.

Usage::

    with engine.begin() as connection:
        repository.lock_account(connection, account_id)  # SQLite: the write lock, first
        with bulk.writer(connection) as writer:
            writer.expect(products, len(rows))  # optional: lets SQLite index afterwards
            ids = writer.take_ids(products, len(rows))
            writer.insert(products, rows_with_those_ids)
            writer.wait()  # before using the connection itself
    # on leaving ``writer``: every row is written, the accounts' data versions are bumped,
    # PostgreSQL's id sequences are above every id written

``insert_rows(connection, target, rows)`` is the same for one batch.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, func, select, text
from sqlalchemy.exc import DBAPIError

from optiply.resources import ResourceSpec
from optiply.server.storage import bulk_values as values
from optiply.server.storage import repository
from optiply.server.storage.tables import RESOURCE_TABLES

Target = ResourceSpec | Table
"""A resource (its table) or any table of ``storage.tables``."""

CHUNK = 4_096
"""Rows handed to the writer thread at a time: one COPY on PostgreSQL, INSERTs of up to
``_SQLITE_ROWS`` rows on SQLite."""

_SQLITE_ROWS = 1_024  # rows per SQLite INSERT, at most (and as SQLite's parameter limit allows)

SQLITE_CACHE_KIB = 256 * 1024
"""SQLite's page cache while a ``BulkWriter`` works, in KiB (the default is 2 MB)."""

DEFER_FROM = 50_000
"""Rows announced by ``expect`` from which SQLite's indexes are made after the rows."""


_TABLES = {table.name: table for table in RESOURCE_TABLES.values()}


def table_for(target: Target) -> Table:
    """The table a target names."""
    return RESOURCE_TABLES[target.type] if isinstance(target, ResourceSpec) else target


@dataclass(frozen=True)
class Layout:
    """The columns of a table that rows are written to, for one kind of database; plain data,
    so another process can bind rows (``binder``) for a writer here (``insert_bound``)."""

    table: str
    columns: tuple[str, ...]
    dialect: str  # "sqlite" or "postgresql"
    pg_types: tuple[int, ...] = ()  # PostgreSQL: the columns' type oids

    def binder(self) -> Callable[[Mapping[str, Any]], list[Any]]:
        """A function from a row (column to value) to the values the driver binds."""
        shape = _make_shape(self, values.sqlite_dialect())  # PostgreSQL's shapes need no dialect
        return lambda row: _bound(row, shape)


@dataclass(frozen=True)
class _Shape:
    """How the rows of one table with one set of columns are written."""

    columns: tuple[str, ...]
    converters: tuple[tuple[int, values.Converter], ...]  # (column index, value -> driver value)
    statement: str  # SQLite: the INSERT; PostgreSQL: the COPY
    pg_types: tuple[int, ...] = ()  # PostgreSQL: the column type oids, for the binary COPY

    def values(self, rows: int) -> str:
        """SQLite: the INSERT of ``rows`` rows (the statement of one row, more VALUES)."""
        return _rows_statement(self.statement, rows)

    @cached_property
    def pick(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A row's values in column order."""
        getter = itemgetter(*self.columns)
        return getter if len(self.columns) > 1 else lambda row: (getter(row),)


class BulkWriter:
    """Writes rows into tables within the transaction of ``connection``.

    The statements run on a thread of their own (``background``, the default), so the
    database works on one chunk while the caller makes the next: SQLite and the network give
    up the GIL. The caller uses the connection itself only after ``wait()``.

    On SQLite, use it after the transaction took the database's write lock (after any write,
    such as ``repository.lock_account``): ``take_ids`` counts on no other writer inserting
    meanwhile. On PostgreSQL ids come from the tables' sequences (through a connection of
    their own), so concurrent writers get other ids.
    """

    def __init__(self, connection: Connection, *, background: bool = True) -> None:
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.accounts: set[int] = set()  # the accounts written to
        self.written: dict[str, int] = {}  # rows per table
        self._next_ids: dict[str, int] = {}
        self._max_ids: dict[str, int] = {}
        self._shapes: dict[tuple[str, tuple[str, ...]], _Shape] = {}
        self._deferred: dict[str, list[str]] = {}  # table: its CREATE INDEX statements
        self._ids: Connection | None = None  # PostgreSQL: draws ids, in autocommit
        self._queue: queue.Queue[tuple[_Shape, list[list[Any]]] | None] = queue.Queue(4)
        self._failure: BaseException | None = None
        self._aborted = False
        self._thread: threading.Thread | None = None
        self._pragmas: dict[str, Any] = {}  # SQLite: the connection's own, to restore
        if not self.postgresql:
            self._tune_sqlite()
        if background:
            self._thread = threading.Thread(target=self._work, name="bulk-writer", daemon=True)
            self._thread.start()

    def take_ids(self, target: Target, count: int) -> Sequence[int]:
        """``count`` new ids for rows of ``target``, ascending, never handed out before.

        PostgreSQL: drawn from the table's sequence (``nextval``), so they are consecutive
        unless another session draws at the same moment. SQLite: the ids after the largest
        stored or taken one (what SQLite itself would give next).
        """
        table = table_for(target)
        if count <= 0:
            return ()
        if self.postgresql:
            if self._ids is None:
                engine = self.connection.engine
                self._ids = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            low, high, drawn = self._ids.execute(
                _NEXTVAL, {"table": table.name, "count": count}
            ).one()
            return range(low, high + 1) if drawn is None else sorted(drawn)
        first = self._next_ids.get(table.name)
        if first is None:
            self.wait()
            largest = self.connection.execute(select(func.max(table.c.id))).scalar()
            first = int(largest or 0) + 1
        self._next_ids[table.name] = first + count
        return range(first, first + count)

    def expect(self, target: Target, count: int) -> None:
        """Say that about ``count`` rows of ``target`` will follow.

        SQLite: when that is at least ``DEFER_FROM`` rows and no fewer than the table holds,
        its indexes are dropped now and made again by ``close`` (a sort, several times faster
        than keeping them up to date row by row). Inside the transaction, so other
        connections never see the table without them; a duplicate in a unique index fails
        ``close``, and the transaction with it. PostgreSQL: nothing (dropping an index would
        lock the table for every account; COPY keeps indexes cheaply).
        """
        table = table_for(target)
        if self.postgresql or count < DEFER_FROM or table.name in self._deferred:
            return
        self.wait()
        held = self.connection.execute(select(func.count()).select_from(table)).scalar_one()
        if count < held:
            return
        found = self.connection.exec_driver_sql(_SQLITE_INDEXES, (table.name,)).all()
        for name, _ in found:
            self.connection.exec_driver_sql(f'DROP INDEX "{name}"')
        self._deferred[table.name] = [sql for _, sql in found]

    def insert(self, target: Target, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (each with the keys of the first) in chunks; how many were written.

        With a background thread the rows may still be on their way when this returns;
        ``wait`` (or ``close``) makes sure, and raises what went wrong.
        """
        table = table_for(target)
        iterator = iter(rows)
        total = 0
        while chunk := list(islice(iterator, CHUNK)):
            shape = self._shape(table, tuple(chunk[0]))
            bound = [_bound(row, shape) for row in chunk]
            self._note(table.name, shape.columns, bound)
            self._submit(shape, bound)
            total += len(chunk)
        self.written[table.name] = self.written.get(table.name, 0) + total
        return total

    def layout(self, target: Target, columns: Sequence[str]) -> Layout:
        """The layout of rows of ``target`` with ``columns``, for ``insert_bound``."""
        table = table_for(target)
        unknown = [column for column in columns if column not in table.c]
        if unknown:
            raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
        if not self.postgresql:
            return Layout(table.name, tuple(columns), "sqlite")
        self.wait()  # the column types are read on the connection
        oids = values.pg_type_oids(self.connection, table.name)
        return Layout(table.name, tuple(columns), "postgresql", tuple(oids[c] for c in columns))

    def insert_bound(self, layout: Layout, rows: Sequence[list[Any]]) -> int:
        """Insert rows already bound by ``layout.binder()`` (perhaps in another process)."""
        shape = self._shapes.get((layout.table, layout.columns))
        if shape is None:
            shape = self._shapes[layout.table, layout.columns] = _make_shape(
                layout, self.connection.dialect
            )
        for start in range(0, len(rows), CHUNK):
            chunk = list(rows[start : start + CHUNK])
            self._note(layout.table, layout.columns, chunk)
            self._submit(shape, chunk)
        self.written[layout.table] = self.written.get(layout.table, 0) + len(rows)
        return len(rows)

    def wait(self) -> None:
        """Return once every row given to ``insert`` is written; raise what went wrong."""
        if self._thread is not None:
            self._queue.join()
        self._raise_failure()

    def close(self) -> None:
        """Finish: wait for the rows, make the deferred indexes, bump the data version of every
        account written to (the caches of every server process key on it) and, on
        PostgreSQL, lift each id sequence above the largest id written."""
        try:
            self.wait()
        finally:
            self._stop()
        try:
            for table_name in sorted(self._deferred):
                for statement in self._deferred.pop(table_name):
                    self.connection.exec_driver_sql(statement)
        finally:
            self._untune_sqlite()
        for account_id in sorted(self.accounts):
            repository.lock_account(self.connection, account_id)
        if self.postgresql:
            for table, largest in sorted(self._max_ids.items()):
                self.connection.execute(_ADVANCE, {"table": table, "largest": largest})
        self.accounts.clear()
        self._max_ids.clear()

    def abort(self) -> None:
        """Drop the rows not yet written and stop (the caller rolls the transaction back)."""
        self._aborted = True
        self._stop()
        self._untune_sqlite()

    def _tune_sqlite(self) -> None:
        """A page cache of ``SQLITE_CACHE_KIB`` and sorter threads for the load: a load's
        foreign-key lookups and, above all, the indexes made by ``close`` (a sort) otherwise
        read their pages again and again through SQLite's default 2 MB (a medium shop's sell
        order lines: 16 s of index building with the default, 8 s with these)."""
        driver = self._driver()
        for pragma, value in (("cache_size", -SQLITE_CACHE_KIB), ("threads", 2)):
            self._pragmas[pragma] = driver.execute(f"PRAGMA {pragma}").fetchone()[0]
            driver.execute(f"PRAGMA {pragma} = {int(value)}")

    def _untune_sqlite(self) -> None:
        """The connection's own cache size and sorter threads again (it goes back to a pool)."""
        for pragma, value in self._pragmas.items():
            self._driver().execute(f"PRAGMA {pragma} = {int(value)}")
        self._pragmas.clear()

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._ids is not None:
            self._ids.close()
            self._ids = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._failure is None and not self._aborted:
                    self._execute(*item)
            except BaseException as error:
                self._failure = error
            finally:
                self._queue.task_done()

    def _submit(self, shape: _Shape, bound: list[list[Any]]) -> None:
        if self._thread is None:
            self._execute(shape, bound)
        else:
            self._raise_failure()
            self._queue.put((shape, bound))

    def _note(self, table: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
        """Remember the accounts and the largest id of bound rows (ids and account ids are
        bound as they are): ``close`` bumps those accounts and lifts the sequences."""
        if "account_id" in columns:
            index = columns.index("account_id")
            self.accounts.update({row[index] for row in rows})
        elif table == "accounts" and "id" in columns:
            index = columns.index("id")
            self.accounts.update(row[index] for row in rows)
        if "id" in columns:
            index = columns.index("id")
            largest = max(row[index] for row in rows)
            if largest > self._max_ids.get(table, 0):
                self._max_ids[table] = largest
            taken = self._next_ids.get(table)
            if taken is not None and largest >= taken:  # SQLite: explicit ids past the taken
                self._next_ids[table] = largest + 1

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _execute(self, shape: _Shape, bound: list[list[Any]]) -> None:
        """Run one chunk; a driver error comes out as SQLAlchemy's (``IntegrityError``...)."""
        dbapi = self.connection.dialect.loaded_dbapi
        try:
            if not self.postgresql:
                self._insert_sqlite(shape, bound)
                return
            cursor = self._driver().cursor()
            with cursor.copy(shape.statement) as copy:
                copy.set_types(list(shape.pg_types))
                for row in bound:
                    copy.write_row(row)
        except dbapi.Error as error:
            raise DBAPIError.instance(shape.statement, None, error, dbapi.Error) from error

    def _insert_sqlite(self, shape: _Shape, bound: list[list[Any]]) -> None:
        """Multi-row INSERTs of as many rows as SQLite takes parameters for: one call into
        SQLite each, which runs without the GIL (an ``executemany`` takes the GIL back for
        every row, and on a busy event loop or generator thread waits for it every time)."""
        driver = self._driver()
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        most = max(1, min(_SQLITE_ROWS, limit // len(shape.columns)))
        cursor = driver.cursor()
        start = 0
        while start < len(bound):
            # ``most`` rows a statement, the rest in powers of two: few distinct statements
            # for SQLite's statement cache (a prepared INSERT of 1,000 rows is a megabyte)
            size = min(most, 1 << (len(bound) - start).bit_length() - 1)
            rows = bound[start : start + size]
            cursor.execute(shape.values(size), [v for row in rows for v in row])
            start += size

    def _shape(self, table: Table, columns: tuple[str, ...]) -> _Shape:
        key = (table.name, columns)
        shape = self._shapes.get(key)
        if shape is None:
            layout = self.layout(table, columns)
            shape = self._shapes[key] = _make_shape(layout, self.connection.dialect)
        return shape

    def _driver(self) -> Any:
        return self.connection.connection.driver_connection


@contextmanager
def writer(connection: Connection, *, background: bool = True) -> Iterator[BulkWriter]:
    """A ``BulkWriter`` on ``connection``, closed (versions bumped) when the block succeeds
    and aborted when it raises."""
    bulk = BulkWriter(connection, background=background)
    try:
        yield bulk
    except BaseException:
        bulk.abort()
        raise
    bulk.close()


def insert_rows(connection: Connection, target: Target, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert fully-formed ``rows`` into ``target``'s table and mark the change (see
    ``BulkWriter.close``); how many were written.
    """
    with writer(connection) as bulk:
        return bulk.insert(target, rows)


def _bound(row: Mapping[str, Any], shape: _Shape) -> list[Any]:
    values = list(shape.pick(row))
    for index, convert in shape.converters:
        value = values[index]
        if value is not None:
            values[index] = convert(value)
    return values


@cache
def _rows_statement(statement: str, rows: int) -> str:
    if rows == 1:
        return statement
    head, one = statement.split(" VALUES ", 1)
    return f"{head} VALUES {', '.join([one] * rows)}"


def _make_shape(layout: Layout, dialect: Dialect) -> _Shape:
    table, columns = _TABLES[layout.table], layout.columns
    names = ", ".join(f'"{column}"' for column in columns)
    if layout.dialect == "postgresql":
        converters = tuple(
            (index, values.jsonb())
            for index, oid in enumerate(layout.pg_types)
            if oid in values.JSON_OIDS
        )
        statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)'
        return _Shape(columns, converters, statement, layout.pg_types)
    processors = []
    for index, column in enumerate(columns):
        converter = values.sqlite_converter(table.c[column].type, dialect)
        if converter is not None:
            processors.append((index, converter))
    placeholders = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({placeholders})'  # noqa: S608
    return _Shape(columns, tuple(processors), statement)


_SQLITE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
    "AND sql IS NOT NULL ORDER BY name"
)
_NEXTVAL = text(  # the lowest and highest id drawn, and every id when they are not consecutive
    "WITH drawn AS MATERIALIZED ("
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) AS id FROM generate_series(1, :count)) "
    "SELECT min(id), max(id), "
    "CASE WHEN max(id) - min(id) + 1 = :count THEN NULL ELSE array_agg(id) END FROM drawn"
)
_ADVANCE = text(
    "SELECT setval(s.name, :largest) "
    "FROM (SELECT pg_get_serial_sequence(:table, 'id') AS name) AS s "
    "WHERE :largest > COALESCE(pg_sequence_last_value(CAST(s.name AS regclass)), 0)"
)
