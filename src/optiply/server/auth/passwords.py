"""Argon2 hashing of user passwords and OAuth client secrets.

A lookup miss must cost as much as a wrong secret, so callers verify against ``dummy_hash()``
when there is no stored hash; otherwise the response time would tell which usernames exist.

Each Argon2 computation takes tens of milliseconds and 64 MiB of memory, so at most
``_CONCURRENCY`` run at once per process: a burst of token requests queues instead of
exhausting memory.
"""

from __future__ import annotations

import os
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OPTIPLY_PASSWORD_HASH_PROFILE=test trades strength for speed (still Argon2id): only for test
# suites that create hundreds of users. Verification reads the parameters from each stored hash.
_HASHER = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("OPTIPLY_PASSWORD_HASH_PROFILE") == "test"
    else PasswordHasher()
)
_CONCURRENCY = max(2, os.cpu_count() or 2)
_SLOTS = threading.BoundedSemaphore(_CONCURRENCY)


@cache
def dummy_hash() -> str:
    """A real hash with the same cost parameters; verify against it when the user is unknown.

    Made on first use, not on import: a hash costs tens of milliseconds, which every ``optiply``
    command would pay at start."""
    return _HASHER.hash("optiply-dummy-secret-for-constant-time-misses")


def hash_secret(secret: str) -> str:
    """The Argon2id hash of ``secret``, salted, in the PHC string format (``$argon2id$...``)."""
    with _SLOTS:
        return _HASHER.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    """Whether ``secret`` matches ``hashed``; never raises on a mismatch or a malformed hash.

    >>> verify_secret(hash_secret("s3cret"), "s3cret"), verify_secret(dummy_hash(), "s3cret")
    (True, False)
    """
    try:
        with _SLOTS:
            return _HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False
