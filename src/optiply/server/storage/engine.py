"""Engines: SQLite (WAL) and PostgreSQL (psycopg 3) from one database URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

BACKSTOP_PAGES = 10_000
"""SQLite's automatic checkpoint, in a commit, once the log holds this many pages (40 MB)."""


def normalize_url(url: str) -> str:
    """Pick our drivers: ``postgresql://`` means psycopg 3, ``sqlite://`` the stdlib module.

    >>> normalize_url("postgresql://postgres@127.0.0.1/db")
    'postgresql+psycopg://postgres@127.0.0.1/db'
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the pragmas and pool settings this server relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per request; a connection dropped by a database
    # restart fails one request and is then replaced by the pool.
    return create_engine(url, pool_size=10, max_overflow=10, **kwargs)


def in_memory(engine: Engine) -> bool:
    """Whether ``engine``'s database lives in this process's memory (SQLite ``:memory:``): no
    other process can open it."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def reader(engine: Engine) -> Engine:
    """The engine for reads that need no transaction: autocommit on PostgreSQL (no
    BEGIN/ROLLBACK round trip: 205 → 112 µs for a token check), the engine itself on SQLite,
    whose driver starts no transaction for a SELECT anyway and where switching a connection's
    isolation level at every checkout and checkin costs about 100 µs a request."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # A commit checkpoints only past this many log pages: a server's own thread checkpoints
    # sooner, off the request path (storage/checkpoints.py); the others (CLI) at their close.
    cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cursor.close()
