"""The rules of ``Idempotency-Key`` (an extension; docs/extensions.md).

A key belongs to a user in an account scope (the accounts the request works in): another
user's key, or the same key in another account, is another key. While it lives (the server's
``idempotency_ttl``, 24 hours by default) it stands for one request, its method, path, query
and body (``fingerprint``):

- the same request again gets the stored answer (a replay; nothing is written);
- another request with the key is refused, 422 ``IDEMPOTENCY_KEY_REUSED``;
- while the first request still runs, 409 ``IDEMPOTENCY_KEY_IN_USE`` (PostgreSQL; on SQLite the
  second request waits for the database's one writer and then gets the replay).

``claim`` runs in the write's transaction, before the write; ``complete`` stores the answer
in that same transaction, so the write and its key are committed together or not at all. An
answer of 5xx is not stored (the transaction rolls back: the client may try again); a 4xx is,
by ``store_refusal`` in a transaction of its own, after the write's rolled back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from optiply.jsonapi.errors import ErrorCode, Problem
from optiply.jsonapi.extensions import IDEMPOTENCY_KEY
from optiply.server.service.crud import Context
from optiply.server.service.errors import DomainError
from optiply.server.storage import idempotency as storage
from optiply.server.storage.idempotency import Answer
from optiply.server.storage.repository import Connection

__all__ = ["Answer", "Claim", "claim", "complete", "fingerprint", "purge", "store_refusal"]


@dataclass(frozen=True, slots=True)
class Claim:
    """A key this request holds: its row, to complete with the answer."""

    row: dict[str, object]

    @property
    def key_id(self) -> str:
        """The row's id: a digest of the user, the accounts and the key."""
        return str(self.row["id"])


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """SHA-256 (hex) of a request: method, path, raw query string and raw body.

    >>> fingerprint("POST", "/v1/products", b"", b"{}")[:12]
    'e5787cf00fea'
    """
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def claim(
    connection: Connection, context: Context, key: str, request: str, ttl: timedelta
) -> Claim | Answer:
    """Take ``key`` for the request of fingerprint ``request``: a ``Claim`` to go on with, or
    the stored ``Answer`` to replay.

    Raises:
        DomainError: 409 while another request holds the key, 422 when it was used for
            another request.
    """
    key_id = _key_id(context, key)
    if not storage.try_lock(connection, key_id):
        raise _in_use()
    row: dict[str, object] = {
        "id": key_id,
        "user_id": context.principal.user_id,
        "account_id": context.scope.single(),
        "key": key,
        "fingerprint": request,
        "content_type": None,
        "location": None,
        "created_at": context.now,
        "expires_at": context.now + ttl,
    }
    if storage.claim(connection, row, context.now):
        return Claim(row)
    found = storage.find(connection, key_id, context.now)
    if found is None or found.answer is None:  # expired or purged just now; in flight
        raise _in_use()
    if found.fingerprint != request:
        raise DomainError(
            Problem(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was sent with another request (method, path, query or "
                "body); use a new key for a new request",
                header=IDEMPOTENCY_KEY,
            )
        )
    return found.answer


def complete(connection: Connection, held: Claim, answer: Answer) -> None:
    """Store the answer of a claimed key, in the transaction of the write."""
    storage.complete(connection, held.key_id, answer)


def store_refusal(connection: Connection, held: Claim, answer: Answer, now: datetime) -> bool:
    """Store a 4xx answer after the write's transaction rolled back; False when another request
    took the key meanwhile (its answer stands)."""
    if not storage.try_lock(connection, held.key_id):
        return False
    row = {
        **held.row,
        "status": answer.status,
        "content_type": answer.content_type,
        "location": answer.location,
        "body": answer.body,
    }
    return storage.store(connection, row, now)


def purge(connection: Connection, now: datetime) -> int:
    """Delete the expired keys; how many went."""
    return storage.purge(connection, now)


def _key_id(context: Context, key: str) -> str:
    accounts = ",".join(str(a) for a in sorted(context.scope.account_ids))
    scoped = f"{context.principal.user_id}\n{accounts}\n{key}"
    return hashlib.sha256(scoped.encode()).hexdigest()


def _in_use() -> DomainError:
    return DomainError(
        Problem(
            ErrorCode.IDEMPOTENCY_KEY_IN_USE,
            "a request with this Idempotency-Key is still being handled; retry it later",
            header=IDEMPOTENCY_KEY,
        )
    )
