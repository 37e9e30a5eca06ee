"""Database errors that mean "try again": lock timeouts, deadlocks, serialization failures.

The HTTP layer answers them with 503 and ``Retry-After`` (a status every client retries),
never 500; other database errors stay real 500s.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

DatabaseError = DBAPIError  # what a failing statement raises, whatever the driver

# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available,
# query_canceled (a statement or lock timeout).
_RETRIABLE_STATES = frozenset({"40001", "40P01", "55P03", "57014"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def is_contention(error: BaseException) -> bool:
    """Whether ``error`` is a transient conflict with another transaction."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in _RETRIABLE_STATES:
        return True
    text = str(original).lower()
    return any(phrase in text for phrase in _SQLITE_BUSY)
