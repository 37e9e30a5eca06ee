"""``ResourceStream``: one generic Singer stream per readable type, driven by its spec.

Incremental (the default) streams read the rows changed since the bookmark in (``updatedAt``,
``id``) order (``walk``); the bookmark is the pair, kept in the stream's state as
``replication_key_value`` (text) and ``replication_key_id``, and it never moves past the run's
start minus ``settle_seconds`` (see ``bookmark``). On a server that offers the deleted-rows
extension they then read the rows deleted since, emitted with ``_sdc_deleted_at`` under a
bookmark of their own (``deletions``). Full-table streams (catalog
``replication-method: FULL_TABLE``) read every row by ``id`` and keep no bookmark.

Records are written a page at a time (``output``) unless stream maps or a property selection
are in play, in which case the SDK's own per-record path runs.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

from optiply.query import format_value
from optiply.resources import ResourceSpec
from tap_optiply.deletions import (
    DELETED_PROPERTY,
    DELETED_SCHEMA,
    DELETED_VALUE,
    deleted_record,
    deletions_start,
    keep,
)
from tap_optiply.output import dumps, write_lines
from tap_optiply.schemas import REPLICATION_KEY, has_replication_key, json_schema
from tap_optiply.settings import parse_datetime
from tap_optiply.walk import Batch, Position, Walk

if TYPE_CHECKING:
    from tap_optiply.tap import TapOptiply

BOOKMARK_ID = "replication_key_id"
# The existing tap-optiply's bookmark key (``bookmarks.<stream>.updatedAt``), read on resume.
LEGACY_BOOKMARK = "updatedAt"


def bookmark(position: Position, ceiling: datetime) -> Position:
    """The bookmark to keep after reading up to ``position``: never past ``ceiling`` (the
    run's start minus ``settle_seconds``), so rows committed late are read again.

    >>> at = datetime(2024, 1, 1, tzinfo=UTC)
    >>> bookmark(Position(at, 7), at + timedelta(seconds=1))
    Position(at=datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), id=7)
    >>> bookmark(Position(at, 7), at).id
    0
    """
    return position if position.at < ceiling else Position(ceiling, 0)


def start_position(state: Mapping[str, Any], start_date: datetime | None) -> Position | None:
    """Where an incremental read starts: the stream's bookmark (ours, or the existing tap's
    ``updatedAt``), else ``start_date``, else the beginning.

    >>> start_position({"replication_key_value": "2024-01-02T00:00:00Z",
    ...                 "replication_key_id": 5}, None).id
    5
    """
    text = state.get("replication_key_value") or state.get(LEGACY_BOOKMARK)
    if text:
        moment = parse_datetime(text, "the bookmark")
        assert moment is not None
        identity = state.get(BOOKMARK_ID) if "replication_key_value" in state else 0
        return Position(moment, int(identity or 0))
    return None if start_date is None else Position(start_date, 0)


class ResourceStream(Stream):
    """The rows of one resource type."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # records are the API's own JSON
    is_sorted = False  # the bookmark is kept here, not by the SDK's per-record increments
    _tap: TapOptiply

    def __init__(self, tap: TapOptiply, spec: ResourceSpec) -> None:
        super().__init__(tap, schema=json_schema(spec), name=spec.type)
        self.spec = spec
        self.primary_keys = ["id"]
        self.replication_key = REPLICATION_KEY if has_replication_key(spec) else None
        self._pending: list[bytes] = []
        self._fast: bool | None = None
        self._declared = False  # whether the schema has _sdc_deleted_at yet

    @property
    def incremental(self) -> bool:
        """Whether this run reads the stream incrementally."""
        return self.replication_method == "INCREMENTAL"

    @property
    def deletions(self) -> bool:
        """Whether this run reads the stream's deleted rows too (``deletions``): incremental,
        rows of the type can be deleted (not ``accounts``), and the server lists them (one
        ``GET /v1`` per run, asked only from here)."""
        wanted = self.incremental and self.replication_key and self.spec.deletable
        return bool(wanted and self._tap.deletions_offered())

    def ceiling(self) -> datetime:
        """The run's start minus ``settle_seconds``: no bookmark goes past it."""
        return self._tap.started_at - timedelta(seconds=self._tap.settings.settle_seconds)

    def batches(self) -> Iterable[Batch]:
        """The pages this run reads (what ``Prefetch`` runs on its thread): the live rows, then
        (``deletions``) the deleted ones up to the ceiling."""
        tap = self._tap
        settings = tap.settings
        walk = Walk(tap.client, self.spec, tap.filters(self.spec.type), settings.page_size)
        if not self.incremental:
            return walk.everything()
        state = self.get_context_state(None)
        start = start_position(state, settings.start_date)
        changed = walk.changed(start, tap.started_at)
        since = deletions_start(state, start) if self.deletions else None
        if since is None:
            return changed
        return itertools.chain(changed, walk.deleted(since, self.ceiling()))

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
        """Every row of the run's read, as a flat record; the bookmarks follow each page."""
        ceiling = self.ceiling()
        state = self.get_context_state(context)
        start = start_position(state, None)
        bookmarked = self.incremental and self.replication_key
        for batch in self._tap.read(self):
            kind = self.spec.type
            if batch.deleted:
                yield from (deleted_record(row) for row in batch.rows)
            else:
                for row in batch.rows:
                    yield {"id": str(row.id), "type": kind, **row.attributes}
            self._flush()
            if not bookmarked:
                continue
            if batch.deleted:  # in (deletedAt, id) order, never past the ceiling
                keep(state, batch.last)
                continue
            mark = bookmark(batch.last, ceiling)
            if start is None or mark > start:
                state["replication_key"] = self.replication_key
                state["replication_key_value"] = format_value(mark.at)
                state[BOOKMARK_ID] = mark.id
                state.pop(LEGACY_BOOKMARK, None)
                start = mark
        if self.deletions and DELETED_VALUE not in state:
            keep(state, Position(ceiling, 0))  # a first sync: deletions from here on

    def _declare_deletions(self) -> None:
        """Add ``_sdc_deleted_at`` to the schema when this run reads deleted rows, and to the
        schema the stream maps were built from (the SDK built them at start, from the catalog),
        so every SCHEMA message lists it. Once per run, before the first SCHEMA message."""
        if self._declared or not self.deletions:
            return
        self._declared = True
        self.schema["properties"][DELETED_PROPERTY] = dict(DELETED_SCHEMA)
        mapper = self._tap.mapper
        maps = mapper.stream_maps.get(self.name)
        if maps:
            raw = copy.deepcopy(maps[0].raw_schema)
            raw["properties"][DELETED_PROPERTY] = dict(DELETED_SCHEMA)
            mapper.register_raw_stream_schema(self.name, raw, maps[0].raw_key_properties)
            self._stream_maps = None  # the SDK takes them from the mapper again
        self._fast = None

    def _fast_path(self) -> bool:
        """Whether records can be written as they are: no stream maps, every property kept."""
        if self._fast is None:
            maps = self.stream_maps
            plain = len(maps) == 1 and type(maps[0]) is SameRecordTransform
            selected = all(
                self.mask.get(("properties", name), True) for name in self.schema["properties"]
            )
            self._fast = plain and selected
        return self._fast

    @override
    def _write_record_message(self, record: dict[str, Any]) -> None:
        if not self._fast_path():
            super()._write_record_message(record)
            return
        if not self._pending:
            extracted = dumps(datetime.now(UTC))
            self._head = b'{"type":"RECORD","stream":%b,"record":' % dumps(self.name)
            self._tail = b',"time_extracted":%b}\n' % extracted
        self._pending.append(self._head + dumps(record) + self._tail)
        self.state_manager.is_flushed = False

    def _flush(self) -> None:
        if self._pending:
            write_lines(b"".join(self._pending))
            self._pending.clear()

    @override
    def _write_schema_message(self) -> None:
        self._declare_deletions()
        super()._write_schema_message()

    @override
    def _write_state_message(self) -> None:
        self._flush()
        super()._write_state_message()

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Mapping[str, Any] | None = None
    ) -> None:
        """Nothing per record: ``get_records`` moves the bookmark a page at a time."""
