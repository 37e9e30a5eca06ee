"""The request journal's table as the writer thread fills it: batched inserts (SQLite
multi-row INSERTs, PostgreSQL binary COPY), bodies compressed in one call per batch, response
bodies that many rows share stored once (``sandbox_bodies``), and pruning to the newest N rows
per account. Readers: ``storage.journal``.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import zstandard
from sqlalchemy import Connection, Engine, delete, insert, select

from optiply.server.storage.caches import Lru
from optiply.server.storage.columns import sqlite_timestamp
from optiply.server.storage.tables import sandbox_bodies as b
from optiply.server.storage.tables import sandbox_requests as t

_COLUMNS = tuple(column.name for column in t.c if column.name != "id")
_BODIES = (_COLUMNS.index("request_body"), _COLUMNS.index("response_body"))
_RESPONSE = _BODIES[1]
_AT = _COLUMNS.index("at")
_ACCOUNT = _COLUMNS.index("account_id")
_DIGEST = _COLUMNS.index("response_digest")
_CHUNK = 500  # rows per statement: 18 parameters each, under SQLite's 32,766
_PRUNE_CHUNK = 500  # rows per DELETE
_COMPRESS_FROM = 2048  # smaller bodies are stored as they are: compressing saves no page
_RAW, _ZLIB, _ZSTD = b"\x00", b"\x01", b"\x02"  # the marker byte of a stored body
BODY_KEY = "response_body_key"
"""A row's optional non-column entry: the page-cache key of its response body. Rows with the
same key hold the same answer: its stored form is made once (``_ENCODED``) and kept once, in
``sandbox_bodies``, which the rows point at by digest."""
_ENCODED: Lru[tuple[bytes, bytes]] = Lru(64)  # BODY_KEY -> (digest, stored body); the writer's
KEEP_SHARED = 60.0
"""Seconds a shared body is kept after the newest row written with it, referred to or not.
The body and the rows that point at it go in by separate statements (on SQLite each its own
transaction), so another process's pruning must not take a body that rows are about to use."""
_PG_TYPES = [
    {
        "at": "timestamptz",
        "account_id": "int8",
        "account_ids": "varchar",
        "method": "varchar",
        "path": "text",
        "resource": "varchar",
        "query": "text",
        "status": "int4",
        "duration_ms": "float8",
        "client_id": "varchar",
        "username": "varchar",
        "request_headers": "text",
        "request_body": "bytea",
        "request_truncated": "bool",
        "response_body": "bytea",
        "response_truncated": "bool",
        "error_code": "varchar",
        "fault": "int8",
        "response_digest": "bytea",
    }[name]
    for name in _COLUMNS
]
"""The PostgreSQL types of ``_COLUMNS``, for the binary COPY."""


def insert_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Insert journal rows; how many were written. The bodies are compressed first, all in
    one call (``_compress_bodies``), then the rows go in with one statement per 500 rows.

    On SQLite each statement is a multi-row INSERT run in autocommit: one call into SQLite
    that takes the database's write lock, writes and commits, without the GIL. Not an
    executemany (SQLite's takes the GIL back between rows while it holds the lock), and not an
    explicit transaction (the COMMIT would wait for the GIL, up to a switch interval, with the
    lock held): the API's writes wait for that lock, and they wait on the event loop. On
    PostgreSQL the rows go by COPY (``_copy``). Rows the database refuses are retried one by
    one, so a bad row loses only itself.
    """
    if not rows:
        return 0
    keys = [row.pop(BODY_KEY, None) for row in rows]
    sqlite = engine.dialect.name == "sqlite"
    bound = [_bound(row, sqlite) for row in rows]
    shared = _compress_bodies(bound, keys)
    if not sqlite:
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                _share(connection, shared, "%s")
            _copy(engine, bound)
        except Exception:
            return _insert_one_by_one(engine, rows)
        return len(rows)
    placeholders = "(" + ",".join(["?"] * len(_COLUMNS)) + ")"
    written = 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        try:
            _share(connection, shared, "?")
        except Exception:
            return _insert_one_by_one(engine, rows)
        for start in range(0, len(bound), _CHUNK):
            chunk = bound[start : start + _CHUNK]
            values = ",".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {t.name} ({','.join(_COLUMNS)}) VALUES {values}"  # noqa: S608
            try:
                connection.exec_driver_sql(sql, tuple([v for row in chunk for v in row]))
            except Exception:
                written += _insert_one_by_one(engine, rows[start : start + _CHUNK])
            else:
                written += len(chunk)
    return written


def _share(connection: Connection, shared: list[list[Any]], placeholder: str) -> None:
    """Store the shared bodies a batch's rows point at (``_compress_bodies``): a body already
    stored gets a newer ``used_at``, nothing else."""
    if not shared:
        return
    values = ",".join([placeholder] * 4)
    connection.exec_driver_sql(
        f"INSERT INTO {b.name} (digest, account_id, body, used_at) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT (digest) DO UPDATE SET used_at = excluded.used_at "
        f"WHERE {b.name}.used_at < excluded.used_at",
        [tuple(body) for body in shared],
    )


def _copy(engine: Engine, bound: list[list[Any]]) -> None:
    """PostgreSQL: the rows by one binary COPY (a statement of its own: autocommit), formatted
    by psycopg's C code and sent when all are formatted.

    Not a multi-row INSERT: with that many parameters psycopg does not cache the statement, and
    parsed it in Python (holding the GIL) for every batch: 60-90 µs a row. Binary, not text:
    text sends a body as hex, twice its size. Sent at the end, not every 32 KB as psycopg does:
    each send gives up the GIL and takes it back from the event loop.
    """
    columns = ",".join(_COLUMNS)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        psycopg_connection = connection.connection.driver_connection
        assert psycopg_connection is not None  # an open connection has one
        cursor = psycopg_connection.cursor()
        statement = f"COPY {t.name} ({columns}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement, writer=_send_at_end()(cursor)) as copy:
            copy.set_types(_PG_TYPES)
            for row in bound:
                copy.write_row(row)


@cache
def _send_at_end() -> type[Any]:
    """A psycopg COPY writer that keeps the data until the COPY ends, then sends it at once
    (psycopg is imported here: it is there only with the ``postgres`` extra)."""
    from psycopg.copy import LibpqWriter

    class SendAtEnd(LibpqWriter):
        def __init__(self, cursor: Any) -> None:
            super().__init__(cursor)
            self._data = bytearray()

        def write(self, data: Any) -> None:
            self._data += data

        def finish(self, exc: BaseException | None = None) -> None:
            if exc is None and self._data:
                super().write(self._data)
            super().finish(exc)

    return SendAtEnd


def _insert_one_by_one(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Insert each row in its own transaction, dropping those the database refuses."""
    written = 0
    for row in rows:
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(t),
                    [
                        {
                            **row,
                            "request_body": encode_body(row["request_body"]),
                            "response_body": encode_body(row["response_body"]),
                        }
                    ],
                )
            written += 1
        except Exception:  # noqa: S112 - a row the database refuses is dropped
            continue
    return written


def encode_body(body: bytes | str) -> bytes:
    """A body as stored: a marker byte, then its bytes, zstd-compressed (level 1) from 2 KiB.

    A journal keeps up to 10,000 requests per account with bodies of up to 64 KiB: as they
    are, up to 1.3 GB an account, and the page writes (and the pruning's page frees) of 64 KiB
    rows cost a GET-heavy server half its throughput. Level-1 zstd makes a 64 KiB JSON page
    about 4.5 KB in 35 µs (zlib level 1: 7.3 KB in 110-160 µs), outside the GIL.

    >>> stored = encode_body(b"x" * 50000)
    >>> decode_body(stored) == "x" * 50000, len(stored) < 1000, decode_body(encode_body("é"))
    (True, True, 'é')
    """
    data = body.encode() if isinstance(body, str) else body
    if len(data) < _COMPRESS_FROM:
        return _RAW + data
    return _ZSTD + zstandard.ZstdCompressor(level=1).compress(data)


def decode_body(stored: bytes | memoryview) -> str:
    """The text of a stored body: bytes that are no UTF-8 (or were cut inside a character)
    become U+FFFD, and so do NUL characters."""
    data = bytes(stored)  # PostgreSQL gives a memoryview
    marker, data = data[:1], data[1:]
    if marker == _ZSTD:
        data = zstandard.ZstdDecompressor().decompress(data)
    elif marker == _ZLIB:  # rows written before zstd
        data = zlib.decompress(data)
    text = data.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _bound(row: Mapping[str, Any], sqlite: bool) -> list[Any]:
    """A row's parameters, bodies as bytes (not yet encoded: ``_compress_bodies``)."""
    # The digest is not the row's: _compress_bodies sets it.
    values: list[Any] = [
        None if index == _DIGEST else row[name] for index, name in enumerate(_COLUMNS)
    ]
    if sqlite:  # what UtcDateTime binds on SQLite
        values[_AT] = sqlite_timestamp(values[_AT])
    for index in _BODIES:
        body = values[index]
        if isinstance(body, str):
            values[index] = body.encode()
    return values


def _compress_bodies(bound: list[list[Any]], keys: Sequence[object | None] = ()) -> list[list[Any]]:
    """Encode the bodies of a batch in place (``encode_body``'s format), compressing every
    large one in a single call. A response body with a key (``BODY_KEY``) is encoded once for
    every row of that key and kept once: the rows get its digest and an empty body. Returns
    those shared bodies as ``sandbox_bodies`` parameters (digest, account, body, ``used_at``).

    One call, not one per body: zstd gives up the GIL while it works, and a thread that gives
    it up has to wait to get it back from a busy event loop (and interrupts it to take it), so
    a body per call made a GIL hand-off per row.
    """
    large: list[tuple[list[Any], int]] = []
    encoded: dict[object, tuple[bytes, bytes] | list[Any]] = {}  # key -> stored, or its row
    keyed: list[tuple[list[Any], object]] = []
    for position, row in enumerate(bound):
        key = keys[position] if position < len(keys) else None
        for index in _BODIES:
            if index == _RESPONSE and key is not None:
                keyed.append((row, key))
                if key in encoded:
                    continue
                known = _ENCODED.get(key)
                if known is not None:
                    encoded[key] = known
                    continue
                encoded[key] = row  # this row's body is encoded for the key
            if len(row[index]) < _COMPRESS_FROM:
                row[index] = _RAW + row[index]
            else:
                large.append((row, index))
    _compress(large)
    shared: dict[bytes, list[Any]] = {}
    for row, key in keyed:
        entry = encoded[key]
        if isinstance(entry, list):  # encoded in this batch
            stored = entry[_RESPONSE]
            entry = encoded[key] = (_digest(stored, entry[_ACCOUNT]), stored)
            _ENCODED.put(key, entry)
        digest, stored = entry
        row[_RESPONSE], row[_DIGEST] = b"", digest
        body = shared.get(digest)
        if body is None:
            shared[digest] = [digest, row[_ACCOUNT], stored, row[_AT]]
        elif row[_AT] > body[3]:
            body[3] = row[_AT]
    return list(shared.values())


def _digest(stored: bytes, account_id: int | None) -> bytes:
    """A shared body's key: its stored bytes and its account, hashed (16 bytes)."""
    return hashlib.blake2b(stored, digest_size=16, key=str(account_id).encode()).digest()


def _compress(large: list[tuple[list[Any], int]]) -> None:
    """Compress the bodies at (row, index) in place, in one call."""
    if not large:
        return
    compressor = zstandard.ZstdCompressor(level=1)
    try:
        frames = compressor.multi_compress_to_buffer([row[index] for row, index in large])
        compressed = [frames[i].tobytes() for i in range(len(frames))]
    except (AttributeError, NotImplementedError):  # a zstandard without it (the CFFI backend)
        compressed = [compressor.compress(row[index]) for row, index in large]
    for (row, index), frame in zip(large, compressed, strict=True):
        row[index] = _ZSTD + frame


def prune(engine: Engine, account_ids: Iterable[int | None], keep: int) -> int:
    """Keep the newest ``keep`` rows of each account (None: the rows without one); how many
    rows were deleted.

    The oldest rows go 500 a statement, each statement its own transaction: on SQLite the
    write lock is held for 500 rows at a time, not for the thousands a busy account gathers
    between two prunes (the API's writes wait for that lock).
    """
    deleted = 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for account_id in account_ids:
            same = t.c.account_id.is_(None) if account_id is None else t.c.account_id == account_id
            cutoff = connection.scalar(
                select(t.c.id).where(same).order_by(t.c.id.desc()).offset(keep - 1).limit(1)
            )
            if cutoff is None:
                continue
            oldest = select(t.c.id).where(same, t.c.id < cutoff).order_by(t.c.id)
            statement = delete(t).where(t.c.id.in_(oldest.limit(_PRUNE_CHUNK)))
            while True:
                count = connection.execute(statement).rowcount
                deleted += count
                if count < _PRUNE_CHUNK:
                    break
            _drop_unused_bodies(connection, account_id)
    return deleted


def _drop_unused_bodies(connection: Connection, account_id: int | None) -> None:
    """Delete the account's shared bodies that no row points at any more (and that no row was
    written with in the last ``KEEP_SHARED`` seconds)."""
    same = b.c.account_id.is_(None) if account_id is None else b.c.account_id == account_id
    used = select(t.c.id).where(t.c.response_digest == b.c.digest).exists()
    before = datetime.now(UTC) - timedelta(seconds=KEEP_SHARED)
    connection.execute(delete(b).where(same, b.c.used_at < before, ~used))
