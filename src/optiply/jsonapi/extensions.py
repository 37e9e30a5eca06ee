"""The extensions of this server beyond the hosted API v1: their URIs and wire names.

Shared by the server (which advertises and implements them) and by clients (which detect them):
a server that offers them lists their URIs in the ``jsonapi`` member of its documents and in
``GET /v1``; the hosted API and ``optiply serve --no-extensions`` list none (docs/extensions.md).

The URIs name the extensions; they need not resolve. JSON:API 1.1 lists in ``jsonapi.ext`` the
extensions applied to a document; ours change request processing (a header, a filter), not the
document format, so every document of a server that offers them names them all, and the
``Content-Type`` stays the plain media type (clients that compare it exactly keep working).
Atomic operations alone have documents of their own (``atomic:operations``, ``atomic:results``),
sent and answered as ``ATOMIC_MEDIA_TYPE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSONAPI_VERSION = "1.1"  # ``jsonapi.ext`` is a JSON:API 1.1 member


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension: its URI (what ``jsonapi.ext`` lists), a short name and what it does."""

    uri: str
    name: str
    summary: str


IDEMPOTENCY = Extension(
    "https://optiply-selfhosted.dev/ext/idempotency",
    "idempotency",
    "An Idempotency-Key header on POST, PATCH and DELETE makes a retried write happen once: "
    "the same key and request replay the stored answer (Idempotent-Replayed: true).",
)
REMOTE_ID = Extension(
    "https://optiply-selfhosted.dev/ext/remote-id",
    "remote-id",
    "filter[remoteId]=X (repeat the key for IN) finds rows by their remoteIdMap entry under "
    "the request's couplingId (publicApi without one), index-backed.",
)
ATOMIC = Extension(
    "https://jsonapi.org/ext/atomic",
    "atomic",
    "POST /v1/operations: up to 100 add, update and remove operations in one transaction, all "
    "or nothing, as the JSON:API Atomic Operations extension specifies; lid links a row to "
    "one created earlier in the same request.",
)
DELETED_ROWS = Extension(
    "https://optiply-selfhosted.dev/ext/deleted-rows",
    "deleted-rows",
    "filter[deletedAt][GT]=T (or GE, LT, LE, EQ) lists the rows deleted after T instead of "
    "the live ones, each with meta.deletedAt, on every type whose rows can be deleted; "
    "sort=deletedAt,id and page[after] walk them by key.",
)

SERVER_EXTENSIONS: tuple[Extension, ...] = (IDEMPOTENCY, REMOTE_ID, ATOMIC, DELETED_ROWS)
"""What this server offers unless started with ``--no-extensions``, in advertising order."""

IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
"""An ``Idempotency-Key`` holds 1 to this many printable ASCII characters (space included)."""

OPERATIONS_PATH = "/v1/operations"
"""Where atomic operations are posted (``ATOMIC``)."""
ATOMIC_MEDIA_TYPE = f'application/vnd.api+json;ext="{ATOMIC.uri}"'
"""The media type of an atomic operations request and of its results (as the extension
writes it)."""
MAX_OPERATIONS = 100
"""At most this many operations in one request."""


def jsonapi_member(extensions: tuple[Extension, ...]) -> dict[str, Any]:
    """The ``jsonapi`` member that advertises ``extensions``.

    >>> jsonapi_member((REMOTE_ID,))
    {'version': '1.1', 'ext': ['https://optiply-selfhosted.dev/ext/remote-id']}
    """
    return {"version": JSONAPI_VERSION, "ext": [extension.uri for extension in extensions]}


def advertised(document: Any) -> frozenset[str]:
    """The extension URIs a response document advertises (none for a plain v1 server).

    >>> sorted(advertised({"jsonapi": {"version": "1.1", "ext": [IDEMPOTENCY.uri]}}))
    ['https://optiply-selfhosted.dev/ext/idempotency']
    >>> advertised({"data": []}), advertised(None)
    (frozenset(), frozenset())
    """
    member = document.get("jsonapi") if isinstance(document, dict) else None
    found = member.get("ext") if isinstance(member, dict) else None
    if not isinstance(found, list):
        return frozenset()
    return frozenset(uri for uri in found if isinstance(uri, str))
