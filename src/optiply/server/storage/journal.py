"""The request journal's table as its readers see it: filters, and the one query behind them.

The HTTP API (``GET /sandbox/requests``, ``/count``, ``/stats``) and the CLI (``optiply
requests``) both turn their parameters into a ``JournalFilter`` with ``parse_filter`` and read
through ``select_requests``, ``count_requests`` and ``stats``: one filter, one meaning. Rows
are written (batched, compressed, pruned) by ``storage.journal_writes``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    false,
    func,
    or_,
    select,
)

from optiply.server.storage.journal_writes import decode_body
from optiply.server.storage.tables import RESOURCE_TABLES
from optiply.server.storage.tables import sandbox_bodies as b
from optiply.server.storage.tables import sandbox_requests as t

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

_STATUS = re.compile(r"^([1-5])(?:xx|XX)$|^([1-5]\d\d)$")
_RELATIVE = re.compile(r"^(\d{1,9})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_METHOD = re.compile(r"^[A-Za-z]{1,16}$")


class JournalQueryError(ValueError):
    """A bad filter parameter: which one, and why (one line)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which journal rows a reader wants (besides the accounts it may see)."""

    method: str | None = None
    status: tuple[int, int] | None = None  # inclusive range: "4xx" is (400, 499)
    path: str | None = None  # a prefix, or a glob when it has * or ?
    after: int | None = None  # rows with a greater id
    since: datetime | None = None  # rows at or after this instant
    limit: int = DEFAULT_LIMIT


def parse_filter(params: Mapping[str, str], *, now: datetime | None = None) -> JournalFilter:
    """A filter from text parameters (``method``, ``status``, ``path``, ``after``, ``since``,
    ``limit``), as the HTTP API and the CLI take them; empty values are absent.

    >>> wanted = parse_filter({"status": "4xx", "method": "post", "path": "/v1/products*"})
    >>> wanted.method, wanted.status, wanted.path, wanted.limit
    ('POST', (400, 499), '/v1/products*', 100)

    Raises:
        JournalQueryError: naming the parameter.
    """
    values = {key: value for key, value in params.items() if value != ""}
    method = values.get("method")
    if method is not None and not _METHOD.match(method):
        raise JournalQueryError("method", f"method must be an HTTP method such as POST: {method!r}")
    status = _status(values.get("status"))
    path = values.get("path")
    if path is not None and (not path.startswith("/") or len(path) > 2000 or "\x00" in path):
        raise JournalQueryError(
            "path", f"path must start with / (a prefix, or a glob with * and ?), got {path!r}"
        )
    after = _integer(values, "after", 0, 2**63 - 1)
    limit = _integer(values, "limit", 1, MAX_LIMIT)
    since = _since(values.get("since"), now or datetime.now(UTC))
    return JournalFilter(
        method=None if method is None else method.upper(),
        status=status,
        path=path,
        after=after,
        since=since,
        limit=DEFAULT_LIMIT if limit is None else limit,
    )


def _status(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = _STATUS.match(text)
    if match is None:
        raise JournalQueryError(
            "status", f"status must be a code such as 503 or a class such as 4xx, got {text!r}"
        )
    if match.group(1):
        low = int(match.group(1)) * 100
        return low, low + 99
    code = int(match.group(2))
    return code, code


def _integer(values: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = values.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not low <= int(text) <= high:
        raise JournalQueryError(name, f"{name} must be an integer from {low} to {high}: {text!r}")
    return int(text)


def _since(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    relative = _RELATIVE.match(text)
    try:
        if relative is not None:
            return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except (ValueError, OverflowError):
        raise JournalQueryError(
            "since",
            f"since must be an ISO 8601 time (2026-12-01T10:00:00Z) or an age such as 30s, "
            f"5m, 2h, 1d; got {text!r}",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visible:
    """What a reader may see: rows of these accounts, plus (when given) the account-less rows
    of this username (its token requests)."""

    account_ids: tuple[int, ...]
    username: str | None = None


def _where(visible: Visible, wanted: JournalFilter) -> ColumnElement[bool]:
    reach: list[ColumnElement[bool]] = []
    if visible.account_ids:
        reach.append(t.c.account_id.in_(visible.account_ids))
        shared = [t.c.account_ids.like(f"%,{account},%") for account in visible.account_ids]
        reach.append(and_(t.c.account_id.is_(None), or_(*shared)))
    if visible.username is not None:
        reach.append(and_(t.c.account_id.is_(None), t.c.username == visible.username))
    conditions: list[ColumnElement[bool]] = [or_(*reach) if reach else false()]
    if wanted.method is not None:
        conditions.append(t.c.method == wanted.method)
    if wanted.status is not None:
        low, high = wanted.status
        conditions.append(t.c.status == low if low == high else t.c.status.between(low, high))
    if wanted.path is not None:
        conditions.append(t.c.path.like(_like_pattern(wanted.path), escape="\\"))
    if wanted.after is not None:
        conditions.append(t.c.id > wanted.after)
    if wanted.since is not None:
        conditions.append(t.c.at >= wanted.since)
    return and_(*conditions)


def _like_pattern(path: str) -> str:
    r"""A LIKE pattern: a glob's ``*`` and ``?``, else a prefix.

    >>> _like_pattern("/v1/products*"), _like_pattern("/v1/sell_orders"), _like_pattern("/v1/?")
    ('/v1/products%', '/v1/sell\\_orders%', '/v1/_')
    """
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if "*" in path or "?" in path:
        return escaped.replace("*", "%").replace("?", "_")
    return escaped + "%"


_HEAVY = ("request_headers", "request_body", "response_body", "response_digest")
_SUMMARY = tuple(column for column in t.c if column.name not in _HEAVY)
_WHOLE = (
    *(column for column in t.c if column.name not in ("response_body", "response_digest")),
    # A shared body (``sandbox_bodies``) where the row points at one, else the row's own.
    func.coalesce(b.c.body, t.c.response_body).label("response_body"),
)
_WITH_BODIES = t.outerjoin(b, b.c.digest == t.c.response_digest)


def select_requests(
    connection: Connection, visible: Visible, wanted: JournalFilter, *, bodies: bool = True
) -> list[dict[str, Any]]:
    """The newest ``wanted.limit`` matching rows, oldest first, as API objects; without
    ``bodies``, summaries (no headers and bodies: what a table of requests shows)."""
    rows = connection.execute(
        (select(*_WHOLE).select_from(_WITH_BODIES) if bodies else select(*_SUMMARY))
        .where(_where(visible, wanted))
        .order_by(t.c.id.desc())
        .limit(wanted.limit)
    ).all()
    return [as_object(row._mapping) for row in reversed(rows)]


def get_request(connection: Connection, visible: Visible, request_id: int) -> dict[str, Any] | None:
    """One row, whole, when the reader may see it."""
    row = connection.execute(
        select(*_WHOLE)
        .select_from(_WITH_BODIES)
        .where(_where(visible, JournalFilter()), t.c.id == request_id)
    ).first()
    return None if row is None else as_object(row._mapping)


def count_requests(connection: Connection, visible: Visible, wanted: JournalFilter) -> int:
    """How many rows match (the limit does not apply)."""
    return int(
        connection.scalar(select(func.count()).select_from(t).where(_where(visible, wanted))) or 0
    )


def stats(connection: Connection, visible: Visible, wanted: JournalFilter) -> list[dict[str, Any]]:
    """Matching rows counted per resource and status, by resource then status."""
    rows = connection.execute(
        select(t.c.resource, t.c.status, func.count())
        .where(_where(visible, wanted))
        .group_by(t.c.resource, t.c.status)
        .order_by(t.c.resource, t.c.status)
    ).all()
    return [{"resource": r, "status": s, "count": n} for r, s, n in rows]


def as_object(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A journal row as the JSON object the HTTP API and the CLI print (a summary, without
    ``requestHeaders``, ``requestBody`` and ``responseBody``, when the row has no bodies)."""
    at: datetime = row["at"]
    shared = row["account_ids"]
    item: dict[str, Any] = {
        "id": row["id"],
        "at": at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "accountId": row["account_id"],
        "accountIds": [int(a) for a in shared.strip(",").split(",")] if shared else [],
        "method": row["method"],
        "path": row["path"],
        "resource": row["resource"],
        "query": row["query"],
        "status": row["status"],
        "durationMs": round(row["duration_ms"], 3),
        "clientId": row["client_id"],
        "username": row["username"],
        "requestTruncated": bool(row["request_truncated"]),
        "responseTruncated": bool(row["response_truncated"]),
        "errorCode": row["error_code"],
        "fault": row["fault"],
    }
    if "request_body" in row:
        item["requestHeaders"] = orjson.loads(row["request_headers"])
        item["requestBody"] = decode_body(row["request_body"])
        item["responseBody"] = decode_body(row["response_body"])
    return item


def account_exists(connection: Connection, account_id: int) -> bool:
    """Whether an account with this id exists (deleted ones included: their journal stays)."""
    accounts = RESOURCE_TABLES["accounts"]
    return connection.scalar(select(accounts.c.id).where(accounts.c.id == account_id)) is not None
