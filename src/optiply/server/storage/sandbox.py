"""The sandbox's controls in the database: fault rules, account settings, rate buckets.

Every change bumps ``sandbox_state.version`` in its own transaction, so a worker that polls the
version (``sandbox.controls``) reloads the rules within its polling interval. Matches of a rule
are counted with one ``UPDATE … RETURNING`` (row-locked on PostgreSQL, serialized on SQLite):
the n-th match is the n-th across every worker. Rate limits are one GCRA cell per account and
token, taken with one upsert that only moves the cell when the request is allowed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from optiply.server.sandbox.rules import Action, InputError, Rule
from optiply.server.storage.tables import (
    RESOURCE_TABLES,
    sandbox_faults,
    sandbox_rate_buckets,
    sandbox_requests,
    sandbox_settings,
    sandbox_state,
)

faults = sandbox_faults
_RULE_COLUMNS = (
    "action",
    "method",
    "path",
    "status",
    "retry_after",
    "latency_ms",
    "jitter_ms",
    "hang_s",
    "drop_after_commit",
    "times",
    "every",
    "probability",
    "seed",
)


class Compat:
    """How an account answers input the hosted API fails on (reference §3.3)."""

    STRICT = "strict"  # 400 with a pointer (the default)
    PRODUCTION = "production"  # 500, as the hosted API does


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """An account's sandbox settings."""

    account_id: int
    rate_limit: float | None = None  # requests per second per token; None: no limit
    burst: int | None = None  # requests allowed at once; None: the rate rounded up
    compat: str = Compat.STRICT

    @property
    def allowed_at_once(self) -> int:
        """The burst in force: as set, or the rate rounded up (at least 1)."""
        if self.burst is not None:
            return self.burst
        return max(1, -int(-(self.rate_limit or 1) // 1))

    def to_json(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "rateLimit": self.rate_limit,
            "burst": None if self.rate_limit is None else self.allowed_at_once,
            "compat": self.compat,
        }


def version(connection: Connection) -> int:
    """The controls' version: it changes whenever a rule or a setting does."""
    return int(connection.scalar(select(sandbox_state.c.version)) or 0)


def _bump(connection: Connection) -> None:
    connection.execute(update(sandbox_state).values(version=sandbox_state.c.version + 1))


def rule_of(row: Mapping[Any, Any]) -> Rule:
    """The ``Rule`` of a ``sandbox_faults`` row."""
    values = {name: row[name] for name in _RULE_COLUMNS}
    values["action"] = Action(values["action"])
    values["drop_after_commit"] = bool(values["drop_after_commit"])
    return Rule(id=row["id"], account_id=row["account_id"], **values)


def load(connection: Connection) -> tuple[int, list[Rule], list[AccountSettings]]:
    """Everything a worker keeps in memory: the version, every rule, every account's settings."""
    current = version(connection)
    rows = connection.execute(select(faults).order_by(faults.c.id)).mappings().all()
    settings = connection.execute(select(sandbox_settings)).mappings().all()
    return current, [rule_of(row) for row in rows], [_settings_of(row) for row in settings]


def add_fault(
    connection: Connection, account_id: int, values: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Store a rule (``values``: checked column values) for an account; its listing object."""
    row = {name: values.get(name) for name in _RULE_COLUMNS}
    row.update(account_id=account_id, matched=0, created_at=now)
    rule_id = connection.execute(insert(faults).returning(faults.c.id), row).scalar_one()
    _bump(connection)
    return fault_json({**row, "id": rule_id})


def list_faults(connection: Connection, account_id: int) -> list[dict[str, Any]]:
    """An account's rules, oldest first, with how often each matched and fired."""
    rows = connection.execute(
        select(faults).where(faults.c.account_id == account_id).order_by(faults.c.id)
    ).mappings()
    return [fault_json(row) for row in rows]


def delete_faults(connection: Connection, account_id: int, rule_id: int | None = None) -> int:
    """Delete one rule of an account (or all of them); how many were deleted."""
    statement = delete(faults).where(faults.c.account_id == account_id)
    if rule_id is not None:
        statement = statement.where(faults.c.id == rule_id)
    deleted = connection.execute(statement).rowcount
    if deleted:
        _bump(connection)
    return deleted


def count_match(connection: Connection, rule_id: int) -> int | None:
    """Count one match of a rule; its ordinal across every worker (None: the rule is gone)."""
    return connection.execute(
        update(faults)
        .where(faults.c.id == rule_id)
        .values(matched=faults.c.matched + 1)
        .returning(faults.c.matched)
    ).scalar_one_or_none()


def fault_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A rule as the HTTP API and ``optiply faults list --json`` show it."""
    rule = rule_of(row)
    matched = int(row["matched"])
    created: datetime = row["created_at"]
    return {
        "id": row["id"],
        "accountId": row["account_id"],
        "action": rule.action.value,
        "method": rule.method,
        "path": rule.path,
        "status": rule.status,
        "retryAfter": rule.retry_after,
        "latencyMs": rule.latency_ms,
        "jitterMs": rule.jitter_ms,
        "hangS": rule.hang_s,
        "dropAfterCommit": rule.drop_after_commit,
        "times": rule.times,
        "every": rule.every,
        "probability": rule.probability,
        "seed": rule.seed,
        "matched": matched,
        "fired": rule.fired(matched),
        "createdAt": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


# --- settings ----------------------------------------------------------------------------------


def _settings_of(row: Mapping[Any, Any]) -> AccountSettings:
    return AccountSettings(row["account_id"], row["rate_limit"], row["burst"], row["compat"])


def get_settings(connection: Connection, account_id: int) -> AccountSettings:
    """An account's settings (the defaults when it never had any)."""
    row = (
        connection.execute(
            select(sandbox_settings).where(sandbox_settings.c.account_id == account_id)
        )
        .mappings()
        .one_or_none()
    )
    return AccountSettings(account_id) if row is None else _settings_of(row)


def put_settings(
    connection: Connection, account_id: int, changes: Mapping[str, Any], now: datetime
) -> AccountSettings:
    """Change some of an account's settings (``rate_limit``, ``burst``, ``compat``).

    Raises:
        InputError: a burst for an account left without a rate limit.
    """
    current = get_settings(connection, account_id)
    merged = {
        "rate_limit": current.rate_limit,
        "burst": current.burst,
        "compat": current.compat,
        **changes,
    }
    if merged["rate_limit"] is None:
        if changes.get("burst") is not None:
            raise InputError("burst", "a burst needs a rate limit: set rateLimit too")
        merged["burst"] = None
    row = {"account_id": account_id, **merged, "updated_at": now}
    upsert = _insert(connection, sandbox_settings).values(row)
    connection.execute(
        upsert.on_conflict_do_update(
            index_elements=["account_id"], set_={k: v for k, v in row.items() if k != "account_id"}
        )
    )
    _bump(connection)
    return AccountSettings(account_id, merged["rate_limit"], merged["burst"], merged["compat"])


# --- rate buckets ------------------------------------------------------------------------------


def bucket_key(account_id: int, token_hash: str) -> str:
    """The key of an account's cell for one token (the token's stored hash, never the token)."""
    return hashlib.sha256(f"{account_id}:{token_hash}".encode()).hexdigest()


def take(connection: Connection, key: str, *, now: float, interval: float, burst: int) -> float:
    """Let one request through a GCRA cell, or say how long to wait (0.0: allowed).

    The cell holds the theoretical arrival time ``tat``; a request is allowed when
    ``max(tat, now) + interval - now <= burst * interval``, and then moves ``tat`` by one
    interval. The upsert only writes when allowed, so concurrent workers never over-admit.
    """
    tolerance = burst * interval
    tat = sandbox_rate_buckets.c.tat
    later = case((tat > now, tat), else_=literal(now)) + interval
    upsert = _insert(connection, sandbox_rate_buckets).values(key=key, tat=now + interval)
    statement = upsert.on_conflict_do_update(
        index_elements=["key"],
        set_={"tat": later},
        where=(later - now) <= tolerance,
    ).returning(sandbox_rate_buckets.c.tat)
    if connection.execute(statement).scalar_one_or_none() is not None:
        return 0.0
    current = connection.scalar(select(tat).where(sandbox_rate_buckets.c.key == key))
    if current is None:  # pruned in between: allowed next time
        return interval
    return max(interval, float(current) + interval - tolerance - now)


def prune_buckets(connection: Connection, now: float) -> int:
    """Delete the cells that are full again (they hold no information)."""
    return connection.execute(
        delete(sandbox_rate_buckets).where(sandbox_rate_buckets.c.tat < now)
    ).rowcount


def _insert(connection: Connection, table: Any) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# --- what the page shows besides the journal ---------------------------------------------------


def row_counts(connection: Connection, account_id: int) -> dict[str, int]:
    """Live rows per resource type in an account."""
    counts: dict[str, int] = {}
    for name, table in RESOURCE_TABLES.items():
        owner = table.c.id if name == "accounts" else table.c.account_id
        counts[name] = int(
            connection.scalar(
                select(func.count())
                .select_from(table)
                .where(owner == account_id, table.c.deleted_at.is_(None))
            )
            or 0
        )
    return counts


def timeline(
    connection: Connection, account_id: int, *, since: datetime, step: int
) -> list[dict[str, Any]]:
    """An account's journal counted per ``step`` seconds and status class, from ``since``
    (floored to a step) to now, oldest first; every step present, empty ones with zeros."""
    t = sandbox_requests
    rows = connection.execute(
        select(t.c.at, t.c.status).where(
            or_(t.c.account_id == account_id, t.c.account_ids.like(f"%,{account_id},%")),
            t.c.at >= since,
        )
    ).all()
    start = int(since.timestamp()) // step * step
    end = int(datetime.now(UTC).timestamp()) // step * step
    buckets = {
        at: {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}
        for at in range(start, end + 1, step)
    }
    for at, status in rows:
        bucket = buckets.get(int(at.timestamp()) // step * step)
        if bucket is not None:
            bucket[f"{status // 100}xx" if 2 <= status // 100 <= 5 else "other"] += 1
    return [
        {"at": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"), **counts}
        for at, counts in buckets.items()
    ]
