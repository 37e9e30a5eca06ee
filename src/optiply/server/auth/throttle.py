"""Throttling of failed token requests, per client id and per remote address, in the database.

Each client id and each remote address has a token bucket of ``BURST`` failures, refilled by
one every ``INTERVAL_MS``. A token request is refused with 429 before any Argon2 work when one
of its buckets is empty (``check``: one indexed read); every refused grant takes one failure
from each of its buckets (``record_failure``); a successful grant takes nothing, so legitimate
clients never wait. The buckets live in the database (``oauth_throttle``), so the limit holds
across every worker process and every server sharing it.

A bucket is stored as the instant it is full again (GCRA): a failure moves that instant one
interval later (from now, when it lies in the past), and a request is refused while it lies
more than ``BURST - 1`` intervals ahead. Rows whose instant has passed say nothing and are
deleted.

Keys are sha256 digests, so any client id fits the column. Requests from a loopback address
are throttled per client id only: they come from this host, typically a reverse proxy that
did not pass the client's address on (uvicorn takes ``X-Forwarded-For`` from 127.0.0.1), and
one bucket for all of them would let one client lock every other out. IPv6 addresses are
throttled per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, bindparam, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from optiply.server.storage.tables import oauth_throttle

logger = logging.getLogger(__name__)

BURST = 10
"""Failures a client id or an address may have at once."""
INTERVAL_MS = 1000
"""One more failure is allowed per this many milliseconds."""

_AHEAD_MS = (BURST - 1) * INTERVAL_MS
# A fixed IN of two (the same key twice for one): no per-call rendering of an expanding IN.
_CHECK = select(func.max(oauth_throttle.c.full_at)).where(
    oauth_throttle.c.key.in_([bindparam("first"), bindparam("last")])
)


class Throttled(Exception):
    """Too many failed token requests; ``retry_after`` whole seconds until the next is heard."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"throttled for {retry_after} s")
        self.retry_after = retry_after


def keys(client_id: str | None, address: str | None) -> tuple[str, ...]:
    """The bucket keys of a token request: its client id's and its remote address's (at most
    two).

    >>> len(keys("my-client", "203.0.113.9")), len(keys("my-client", "127.0.0.1"))
    (2, 1)
    """
    found = []
    if client_id is not None:
        found.append(_digest("client", client_id))
    if address:
        network = _network(address)
        if network is not None:
            found.append(_digest("address", network))
    return tuple(sorted(found))


def now_ms() -> int:
    """The current time in milliseconds since the epoch (wall clock: shared by processes)."""
    return time.time_ns() // 1_000_000


def check(connection: Connection, bucket_keys: Sequence[str], now: int) -> None:
    """Raise ``Throttled`` when a bucket of ``bucket_keys`` is empty at ``now`` (ms).

    One read by primary key; give it an autocommit connection (no BEGIN/ROLLBACK).
    """
    if not bucket_keys:
        return
    found = connection.scalar(_CHECK, {"first": bucket_keys[0], "last": bucket_keys[-1]})
    full_at = now if found is None else int(found)
    ahead = full_at - now
    if ahead > _AHEAD_MS:
        raise Throttled(max(1, math.ceil((ahead - _AHEAD_MS) / 1000)))


def record_failure(engine: Engine, bucket_keys: Sequence[str], now: int) -> None:
    """Take one failure from each bucket of ``bucket_keys``; forget buckets that are full.

    A database error here is logged and swallowed: the request's own answer matters more.
    """
    if not bucket_keys:
        return
    try:
        with engine.begin() as connection:
            for key in sorted(bucket_keys):  # one order everywhere: no deadlocks between them
                connection.execute(_upsert(connection, key, now))
        with engine.begin() as connection:
            connection.execute(delete(oauth_throttle).where(oauth_throttle.c.full_at < now))
    except DBAPIError as error:
        logger.warning("could not record a failed token request: %s", type(error.orig).__name__)


def _upsert(connection: Connection, key: str, now: int) -> postgresql.Insert | sqlite.Insert:
    values = {"key": key, "full_at": now + INTERVAL_MS}
    statement = (
        postgresql.insert(oauth_throttle)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(oauth_throttle)
    ).values(values)
    current = oauth_throttle.c.full_at
    later = case((current > now, current), else_=now) + INTERVAL_MS
    return statement.on_conflict_do_update(index_elements=["key"], set_={"full_at": later})


def _network(address: str) -> str | None:
    """What an address is throttled as; None for loopback.

    >>> _network("2001:db8:1:2:3:4:5:6"), _network("::ffff:127.0.0.1"), _network("testclient")
    ('2001:db8:1:2::/64', None, 'testclient')
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if parsed.is_loopback:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()
