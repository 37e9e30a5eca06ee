"""Deleted rows, emitted with ``_sdc_deleted_at`` (docs/tap.md, "Deleted rows").

Only a server that offers the deleted-rows extension (this one; ``GET /v1`` lists it) can say
which rows were deleted: ``filter[deletedAt][GT]=T`` lists them, each with ``meta.deletedAt``.
The hosted API renders deleted rows nowhere, and against it nothing here happens.

- **When**: in an incremental stream (one with a replication key) of a type whose rows can be
  deleted (all but ``accounts``), when the server advertises the extension (asked once per
  run, only by such streams). Full-table streams, ``accounts``, the hosted API and ``optiply
  serve --no-extensions`` are read as before: no request, no schema change, no state key.
- **Records**: a deleted row is emitted as a live one is (``id``, ``type``, its attributes as
  they were when it was deleted) plus ``_sdc_deleted_at``, the Singer convention SDK targets
  read as a delete (and ``target-optiply`` too). The stream's schema then gains
  ``_sdc_deleted_at`` (a nullable date-time string); live records leave it out.
- **Order**: after the stream's live rows. A row deleted while the sync runs was maybe emitted
  live by it; its deletion comes in a later sync, so a target never sees a deleted row come
  back.
- **Bookmark**: ``deleted_at_value`` and ``deleted_at_id`` in the stream's state, the
  (``deletedAt``, ``id``) of the last deleted row emitted, read on by key as the live rows are
  (``walk``). The walk stops at the run's start minus ``settle_seconds`` (the ceiling the live
  bookmark stops at too): a deletion stamped before the ceiling but committed late is still
  read next time, and no deletion is emitted twice.
- **Where a stream starts**: its deletions bookmark; else where its live rows start (the
  bookmark, the existing tap's ``updatedAt``, or ``start_date``: rows deleted since the target
  was brought up to date); else (a first sync from the beginning, whose target holds no row yet)
  no deleted rows are read, and the bookmark starts at the ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from optiply.client import Resource
from optiply.query import DELETED_AT, format_value
from tap_optiply.settings import parse_datetime
from tap_optiply.walk import Position

DELETED_PROPERTY = "_sdc_deleted_at"
DELETED_SCHEMA: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
"""The property's schema, as the SDK's targets declare their own ``_sdc_deleted_at``."""
DELETED_VALUE = "deleted_at_value"
DELETED_ID = "deleted_at_id"


def deletions_start(state: Mapping[str, Any], live: Position | None) -> Position | None:
    """Where the walk of deleted rows starts: the deletions bookmark, else the live rows'
    start (deletions at or after its instant), else nowhere (None: read none).

    >>> from datetime import UTC, datetime
    >>> at = datetime(2024, 1, 2, tzinfo=UTC)
    >>> deletions_start({"deleted_at_value": "2024-01-03T00:00:00Z", "deleted_at_id": 4}, None)
    Position(at=datetime.datetime(2024, 1, 3, 0, 0, tzinfo=datetime.timezone.utc), id=4)
    >>> deletions_start({}, Position(at, 7)) == Position(at, 0)
    True
    >>> deletions_start({}, None) is None
    True
    """
    text = state.get(DELETED_VALUE)
    if text:
        moment = parse_datetime(text, "the deletions bookmark")
        assert moment is not None
        return Position(moment, int(state.get(DELETED_ID) or 0))
    return None if live is None else Position(live.at, 0)


def keep(state: MutableMapping[str, Any], position: Position) -> None:
    """Set the deletions bookmark of a stream's ``state`` to ``position``."""
    state[DELETED_VALUE] = format_value(position.at)
    state[DELETED_ID] = position.id


def deleted_record(row: Resource) -> dict[str, Any]:
    """The record of a deleted row: as a live one, plus ``_sdc_deleted_at``.

    >>> row = Resource(7, "products", {"name": "Mug"}, {"deletedAt": "2024-05-01T10:00:00Z"})
    >>> deleted_record(row)
    {'id': '7', 'type': 'products', 'name': 'Mug', '_sdc_deleted_at': '2024-05-01T10:00:00Z'}
    """
    return {
        "id": str(row.id),
        "type": row.type,
        **row.attributes,
        DELETED_PROPERTY: row.meta.get(DELETED_AT.name),
    }
