"""The rows of ``idempotency_keys``: a key's claim, its stored answer, and their expiry.

How two requests with one key are kept apart, on each database:

- PostgreSQL: a transaction-scoped advisory lock on the key (``try_lock``) marks it in flight
  for every process on the database; a second request does not wait for it but is refused
  (409). The lock ends with the transaction, also when its process dies (the server ends a
  lost connection's transaction), so nothing is left held.
- SQLite: the database has one writer at a time. The claim's INSERT is the request's first
  write, so it waits for any other write to end; by then the other request's answer is
  committed and is replayed (no request ever sees another in flight).

A claimed row is inserted without an answer and completed in the same transaction as the
write it guards: whatever ends that transaction (commit, rollback, a crash) ends both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from optiply.server.storage.columns import UtcDateTime
from optiply.server.storage.tables import idempotency_keys

_TABLE = idempotency_keys
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:lock)")
# Built once: constructing an upsert costs more than running it on SQLite.
_FIND = select(
    _TABLE.c.fingerprint, _TABLE.c.status, _TABLE.c.content_type, _TABLE.c.location, _TABLE.c.body
).where(
    _TABLE.c.id == bindparam("key_id"), _TABLE.c.expires_at > bindparam("now", type_=UtcDateTime())
)
_COMPLETE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("key_id"))
    .values(
        status=bindparam("status"),
        content_type=bindparam("content_type"),
        location=bindparam("location"),
        body=bindparam("body"),
    )
)


@dataclass(frozen=True, slots=True)
class Answer:
    """A stored answer: what a replay sends again."""

    status: int
    content_type: str | None
    location: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Found:
    """A live key: the fingerprint of its request and its answer (None while in flight)."""

    fingerprint: str
    answer: Answer | None


def try_lock(connection: Connection, key_id: str) -> bool:
    """Take the key's in-flight lock for this transaction; False when another holds it.

    SQLite needs none (see the module's docstring): always True.
    """
    if connection.dialect.name != "postgresql":
        return True
    lock = int.from_bytes(bytes.fromhex(key_id)[:8], "big", signed=True)
    return bool(connection.execute(_TRY_LOCK, {"lock": lock}).scalar_one())


def claim(connection: Connection, row: dict[str, Any], now: datetime) -> bool:
    """Insert the key's row without an answer (``row``: every column but the answer's), or
    take over an expired one; False when a live row holds the key."""
    return _upsert(connection, {**row, "status": None, "body": None}, now)


def store(connection: Connection, row: dict[str, Any], now: datetime) -> bool:
    """Insert the key's row with its answer (or replace an expired one); False when a live row
    holds the key already."""
    return _upsert(connection, row, now)


def find(connection: Connection, key_id: str, now: datetime) -> Found | None:
    """The live row of a key, if any."""
    found = connection.execute(_FIND, {"key_id": key_id, "now": now}).first()
    if found is None:
        return None
    fingerprint, status, content_type, location, body = found
    answer = None if status is None else Answer(status, content_type, location, bytes(body))
    return Found(fingerprint, answer)


def complete(connection: Connection, key_id: str, answer: Answer) -> None:
    """Give a claimed key its answer (in the claiming transaction)."""
    connection.execute(
        _COMPLETE,
        {
            "key_id": key_id,
            "status": answer.status,
            "content_type": answer.content_type,
            "location": answer.location,
            "body": answer.body,
        },
    )


def purge(connection: Connection, now: datetime) -> int:
    """Delete the expired keys; how many went."""
    result = connection.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now))
    return int(result.rowcount or 0)


def forget_account(connection: Connection, account_id: int) -> int:
    """Delete the account's keys, in flight or answered; how many went.

    A reset or a restore replaces the data their answers describe: replayed, a key would
    answer 201 with a row that is gone (or, after a restore, a different row with its id).
    """
    result = connection.execute(delete(_TABLE).where(_TABLE.c.account_id == account_id))
    return int(result.rowcount or 0)


def _upsert(connection: Connection, row: dict[str, Any], now: datetime) -> bool:
    statement = _upsert_statement(connection.dialect.name, tuple(row))
    return connection.execute(statement, {**row, "expired_by": now}).first() is not None


@cache
def _upsert_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    """INSERT the ``columns``; on a key's conflict replace the row only when it has expired
    (``expired_by``: now); RETURNING the id when a row was written."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    values = {name: bindparam(name, type_=_TABLE.c[name].type) for name in columns}
    statement = module.insert(_TABLE).values(values)
    replace = {name: statement.excluded[name] for name in columns if name != "id"}
    expired = _TABLE.c.expires_at <= bindparam("expired_by", type_=UtcDateTime())
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.id], set_=replace, where=expired
    ).returning(_TABLE.c.id)
