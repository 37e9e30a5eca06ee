"""Snapshots: an account's data saved to a file and restored exactly (ids, uuids, timestamps,
``remoteIdMap``s, rows deleted through the API), on SQLite or PostgreSQL whichever wrote it.

The file's format is ``snapshot_file``'s. Saving reads one consistent state
(``consistent_read``) and streams: the database writes every value's text in the file's form.
Restoring replaces the account's data in the caller's transaction: everything goes, then the
rows are inserted by ``bulk`` as they are read, and the counts, the checksum and the references
are checked at the end, so a file that turns out unreadable, cut or altered raises
``SnapshotError`` before anything is committed. Rows keep their ids: a snapshot restores into
its own account, or into another one (of another database, typically) where those ids and
uuids are free; PostgreSQL's id sequences are moved past the restored ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Text,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError

from optiply import __version__
from optiply.resources import ResourceSpec
from optiply.resources import find as find_spec
from optiply.server.storage import account_data, bulk, idempotency
from optiply.server.storage.account_data import ACCOUNTS, data_specs, references, table
from optiply.server.storage.columns import Money, UtcDateTime, sqlite_timestamp
from optiply.server.storage.reset import delete_all
from optiply.server.storage.snapshot_file import (
    SnapshotConflict,
    SnapshotError,
    SnapshotReader,
    SnapshotWriter,
)

__all__ = [
    "BATCH",
    "Snapshot",
    "SnapshotConflict",
    "SnapshotError",
    "consistent_read",
    "read_header",
    "restore_snapshot",
    "save_snapshot",
]

BATCH = 2000  # rows read per round trip when saving
_ACCOUNT_COLUMNS = ("account_id", "account_uuid")  # the header's account, not the rows'
_Convert = Callable[[Any], Any]
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a save wrote or a restore read: the source account, the rows per type."""

    account: dict[str, Any]  # the source account: id, uuid, name
    saved_at: str
    optiply_version: str
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.account,
            "savedAt": self.saved_at,
            "optiplyVersion": self.optiply_version,
            "rows": self.rows,
        }


@contextmanager
def consistent_read(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state, without blocking writers.

    PostgreSQL: a REPEATABLE READ transaction. SQLite (WAL): an explicit ``BEGIN``, since the
    driver starts no transaction for reads; its first read fixes the snapshot.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


# --- saving ------------------------------------------------------------------------------------


def save_snapshot(connection: Connection, account_id: int, out: IO[bytes]) -> Snapshot:
    """Write the account's data to ``out`` (from ``consistent_read``; nothing is locked).

    Raises:
        UnknownAccount: when there is no such account.
    """
    account = connection.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.uuid, ACCOUNTS.c.name).where(ACCOUNTS.c.id == account_id)
    ).first()
    if account is None:
        raise account_data.UnknownAccount(account_id)
    tables: list[dict[str, Any]] = []
    for spec in data_specs():
        t = table(spec)
        count = connection.execute(
            select(func.count()).select_from(t).where(t.c.account_id == account_id)
        ).scalar_one()
        tables.append(
            {"type": spec.type, "table": t.name, "columns": _file_columns(spec), "rows": count}
        )
    snapshot = Snapshot(
        {"id": account.id, "uuid": account.uuid, "name": account.name},
        sqlite_timestamp(datetime.now(UTC)),
        __version__,
        {entry["type"]: entry["rows"] for entry in tables},
    )
    header = {
        "optiplyVersion": snapshot.optiply_version,
        "savedAt": snapshot.saved_at,
        "database": connection.dialect.name,
        "account": snapshot.account,
        "tables": tables,
    }
    file = SnapshotWriter(out, header)
    for spec in data_specs():
        for lines, rows in _encoded_rows(connection, spec, account_id):
            file.write(lines, rows)
    file.close()
    return snapshot


def _file_columns(spec: ResourceSpec) -> list[str]:
    return [c.name for c in table(spec).columns if c.name not in _ACCOUNT_COLUMNS]


def _encoded_rows(
    connection: Connection, spec: ResourceSpec, account_id: int
) -> Iterator[tuple[bytes, int]]:
    """The account's rows of ``spec`` as JSON lines: a batch of lines and its row count per
    item.

    The database writes the text of date-times, decimals and JSON in the file's form, so no
    value is converted in Python; JSON goes into the line as it is (``orjson.Fragment``).
    """
    t = table(spec)
    columns = [t.c[name] for name in _file_columns(spec)]
    dialect = connection.dialect.name
    statement = (
        select(*(_as_text(column, dialect) for column in columns))
        .where(t.c.account_id == account_id)
        .order_by(t.c.id)
        .execution_options(yield_per=BATCH)
    )
    json = [index for index, column in enumerate(columns) if isinstance(column.type, JSON)]
    dumps, fragment = orjson.dumps, orjson.Fragment
    for partition in connection.execute(statement).partitions():
        lines = []
        for row in partition:
            values = list(row)
            for index in json:
                if values[index] is not None:
                    values[index] = fragment(values[index])
            lines.append(dumps(values))
        count = len(lines)
        lines.append(b"")
        yield b"\n".join(lines), count


def _as_text(column: Column[Any], dialect: str) -> Any:
    """``column`` as the file holds it: date-times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``,
    decimals as text with two places, JSON as its text; anything else as it is."""
    kind = column.type
    if not isinstance(kind, UtcDateTime | Money | JSON):
        return column
    if dialect == "sqlite":  # stored in exactly that form (storage/columns.py)
        return type_coerce(column, Text())
    if isinstance(kind, UtcDateTime):
        utc = func.timezone("UTC", column)
        return func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return cast(column, Text())


# --- restoring ---------------------------------------------------------------------------------


def read_header(source: IO[bytes]) -> dict[str, Any]:
    """The header of the snapshot in ``source`` (a seekable file), checked (nothing else is
    read).

    Raises:
        SnapshotError: when ``source`` is no snapshot this version can restore.
    """
    header: dict[str, Any] = SnapshotReader(source).header
    return header


def restore_snapshot(connection: Connection, account_id: int, source: IO[bytes]) -> Snapshot:
    """Replace the account's data with the snapshot in ``source`` (a seekable file; the
    caller owns the transaction: roll it back on any error, and nothing has changed).

    Raises:
        UnknownAccount: when there is no such account.
        SnapshotError: when the file is unreadable, foreign, newer, cut or altered.
        SnapshotConflict: when its rows' ids or uuids are taken by another account's rows.
    """
    reader = SnapshotReader(source)
    header = reader.header
    plan = [_Load.of(entry) for entry in header["tables"]]
    account_uuid = account_data.lock(connection, account_id)
    with account_data.roomy_cache(connection):
        delete_all(connection, account_id)
        idempotency.forget_account(connection, account_id)
        try:
            _load(connection, plan, reader, account_id, account_uuid)
        except Exception as error:
            if not _integrity_error(connection, error):
                raise
            cause = getattr(error, "orig", None) or error
            reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            raise SnapshotConflict(
                "the snapshot's rows clash with rows of another account, or point at rows "
                "missing from it (a snapshot keeps its ids and uuids: restore it into its own "
                f"account or where they are free): {reason}"
            ) from None
    return Snapshot(
        header["account"],
        header["savedAt"],
        header["optiplyVersion"],
        {load.spec.type: load.rows for load in plan},
    )


def _load(
    connection: Connection, plan: list[_Load], reader: SnapshotReader, account_id: int, uuid: str
) -> None:
    """Insert the rows of every table of ``plan`` as they are read, then check the trailer
    and the references.

    ``bulk`` writes on a thread of its own while the next rows are decoded (SQLite: one
    ``executemany`` per chunk, the indexes of a table that held fewer rows made again at the
    end; PostgreSQL: binary ``COPY``), so a broken constraint may surface a table or two later.
    On leaving, PostgreSQL's id sequences are moved past the restored ids.
    """
    with bulk.writer(connection) as writer:
        for load in plan:
            load.run(writer, reader, account_id, uuid)
        reader.finish(sum(load.rows for load in plan))
        writer.wait()
        _check_references(connection, account_id, {load.spec.type for load in plan if load.rows})


@dataclass
class _Load:
    """Inserting one table's rows of a snapshot."""

    spec: ResourceSpec
    columns: list[str]
    expected: int
    rows: int = 0

    @classmethod
    def of(cls, entry: dict[str, Any]) -> _Load:
        """The load of a header's table entry, once its columns are known to fit the table."""
        spec = find_spec(entry["type"])
        assert spec is not None  # _checked_header
        t = table(spec)
        columns = entry["columns"]
        unknown = [c for c in columns if not isinstance(c, str) or c not in t.c]
        if unknown or len(set(columns)) != len(columns) or "id" not in columns:
            raise SnapshotError(
                f"the snapshot's {spec.type} have columns this database lacks: {unknown}"
            )
        missing = [
            c.name
            for c in t.columns
            if c.name not in columns
            and c.name not in _ACCOUNT_COLUMNS
            and not c.nullable
            and c.server_default is None
        ]
        if missing:
            raise SnapshotError(f"the snapshot's {spec.type} lack the columns {missing}")
        return cls(spec, columns, entry["rows"])

    def run(
        self, writer: bulk.BulkWriter, reader: SnapshotReader, account_id: int, uuid: str
    ) -> None:
        """Read this table's lines from ``reader`` and insert them as they come."""
        writer.expect(self.spec, self.expected)
        self.rows = writer.insert(self.spec, self._rows(reader, account_id, uuid))

    def _rows(self, reader: SnapshotReader, account_id: int, uuid: str) -> Iterator[dict[str, Any]]:
        t = table(self.spec)
        fixed: dict[str, Any] = {"account_id": account_id}
        if "account_uuid" in t.c:
            fixed["account_uuid"] = uuid
        converts = [
            (name, convert) for name in self.columns if (convert := _decoder(t.c[name])) is not None
        ]
        width, columns, kind = len(self.columns), self.columns, self.spec.type
        for _ in range(self.expected):
            try:
                values = orjson.loads(reader.line())
            except orjson.JSONDecodeError:
                values = None
            if not isinstance(values, list) or len(values) != width:
                raise SnapshotError(f"the snapshot's {kind} rows are damaged")
            row = dict(zip(columns, values, strict=True))
            row_id = row["id"]
            if not isinstance(row_id, int) or isinstance(row_id, bool) or row_id < 1:
                raise SnapshotError(f"the snapshot's {kind} rows are damaged (ids)")
            try:
                for name, convert in converts:
                    if row[name] is not None:
                        row[name] = convert(row[name])
            except (TypeError, ValueError, InvalidOperation):
                raise SnapshotError(f"the snapshot's {kind} rows are damaged") from None
            row.update(fixed)
            yield row


def _integrity_error(connection: Connection, error: Exception) -> bool:
    """Whether ``error`` is a broken constraint, raised through SQLAlchemy or by the driver
    (``bulk`` writes with the driver's cursor)."""
    driver = connection.dialect.loaded_dbapi
    return isinstance(error, IntegrityError) or isinstance(error, driver.IntegrityError)


def _decoder(column: Column[Any]) -> _Convert | None:
    """How a file value of ``column`` becomes what ``bulk`` takes (the Python values the
    API's own writes bind): date-times and decimals are parsed, the rest is as it is."""
    if isinstance(column.type, UtcDateTime):
        return _datetime
    if isinstance(column.type, Money):
        return _money
    return None


def _datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.astimezone(UTC)


def _money(value: str) -> Decimal:
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number.quantize(CENT)


def _check_references(connection: Connection, account_id: int, restored: set[str]) -> None:
    """Refuse rows that point at another account's rows (the database's foreign keys only
    know that the row exists): a snapshot is written by us, but a file can be written by
    anyone."""
    for reference in references():
        if reference.child.type not in restored:
            continue
        child, parent = table(reference.child), table(reference.parent)
        column = child.c[reference.column]
        outside = (
            select(literal(1))
            .select_from(child.join(parent, parent.c.id == column))
            .where(child.c.account_id == account_id, parent.c.account_id != account_id)
            .limit(1)
        )
        if connection.execute(outside).first() is not None:
            raise SnapshotError(
                f"the snapshot's {reference.child.type} point at {reference.parent.type} of "
                "another account"
            )
