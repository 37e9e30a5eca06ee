"""The server extensions the clients use (docs/extensions.md): keys, detection, remote ids.

- ``Idempotency-Key``: ``idempotency_key`` picks the key of one logical write (a uuid4 when
  asked to generate one); the send path sends it on every attempt of that write with the same
  bytes, so a retry after an unknown outcome is answered by the server's replay.
- Detection: one ``GET /v1`` per client (``advertised_by``); anything but a 200 listing URIs
  (a 404 from the hosted API or ``optiply serve --no-extensions``) means plain v1.
- ``filter[remoteId]``: ``remote_id_params`` builds the query (``optiply.query.build`` knows
  registry attributes only, and the coupling is a parameter of its own).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import orjson

from optiply.client.documents import Answer
from optiply.client.errors import ConfigurationError
from optiply.jsonapi.extensions import (
    ATOMIC,
    IDEMPOTENCY,
    IDEMPOTENCY_KEY,
    MAX_KEY_LENGTH,
    REMOTE_ID,
    advertised,
)
from optiply.query import MAX_LIMIT

__all__ = [
    "ATOMIC",
    "IDEMPOTENCY",
    "IDEMPOTENCY_KEY",
    "REMOTE_ID",
    "advertised_by",
    "idempotency_key",
    "remote_id_params",
]

KeyOption = str | bool
"""``True``: generate a key; ``False``: send none; a string: that key."""


def idempotency_key(option: KeyOption) -> str | None:
    """The key to send for one logical write, checked before anything is sent.

    >>> idempotency_key("order-17"), idempotency_key(False)
    ('order-17', None)
    >>> len(idempotency_key(True))
    36

    Raises:
        ConfigurationError: Not 1 to 255 printable ASCII characters.
    """
    if option is False:
        return None
    if option is True:
        return str(uuid.uuid4())
    if not isinstance(option, str) or not 1 <= len(option) <= MAX_KEY_LENGTH:
        raise ConfigurationError(
            f"an idempotency key has 1 to {MAX_KEY_LENGTH} characters, got {option!r}"
        )
    if not all(" " <= char <= "~" for char in option):
        raise ConfigurationError("an idempotency key holds printable ASCII characters only")
    return option


def advertised_by(answer: Answer) -> frozenset[str]:
    """The extension URIs a ``GET /v1`` answer lists (none when it is not a document).

    >>> import httpx
    >>> advertised_by(httpx.Response(200, content=b'{"jsonapi":{"ext":["u"]}}'))
    frozenset({'u'})
    """
    try:
        return advertised(orjson.loads(answer.content))
    except orjson.JSONDecodeError:
        return frozenset()


def remote_id_params(
    account: list[tuple[str, str]], remote_ids: str | Sequence[str], coupling_id: str | None
) -> list[tuple[str, str]]:
    """The query of a lookup by remote id: ``account``'s parameters (its ``couplingId``
    replaced by ``coupling_id`` when given), one ``filter[remoteId]`` per id (IN), 100 a page.

    >>> remote_id_params([("accountId", "7"), ("couplingId", "1")], ["A", "B"], "2")
    [('accountId', '7'), ('couplingId', '2'), ('filter[remoteId]', 'A'), \
('filter[remoteId]', 'B'), ('page[limit]', '100')]

    Raises:
        ConfigurationError: No id, or an empty one.
    """
    ids = [remote_ids] if isinstance(remote_ids, str) else list(remote_ids)
    if not ids or any(not isinstance(one, str) or not one for one in ids):
        raise ConfigurationError("give one or more non-empty remote ids")
    params = [(k, v) for k, v in account if k != "couplingId" or coupling_id is None]
    if coupling_id is not None:
        params.append(("couplingId", coupling_id))
    params += [("filter[remoteId]", one) for one in ids]
    params.append(("page[limit]", str(MAX_LIMIT)))
    return params
