"""ONE generic sink, parametrized by the ``ResourceSpec`` its stream name matches.

The sink does no I/O. ``process_record`` hands the record to the run's ``Writer``;
``process_batch`` asks the writer to flush, and the writer walks *all* buffered streams in
registry order, so parents are written before children however Singer interleaves streams
(see ``target_optiply.batches``). Validation and coercion come from the registry, per record:
the SDK's JSON-schema validation and timestamp parsing are turned off so that one bad value
fails one record instead of the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, Protocol

from singer_sdk import Target
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_optiply.batches import Writer
from target_optiply.policy import JobAborted
from target_optiply.streams import match_stream


class _Owner(Protocol):
    @property
    def writer(self) -> Writer: ...

    def abort(self, stop: JobAborted) -> NoReturn: ...


class _UnvalidatedSink(BatchSink):
    """A sink that leaves records as they came: the registry validates them, one by one."""

    @override
    def get_validator(self) -> None:
        """No JSON-schema validation: the registry validates each record on its own."""
        return None

    @override
    def _validate_and_parse(self, record: dict[Any, Any]) -> dict[Any, Any]:
        # The SDK would parse date-time strings and stop the job on a bad one; records.py
        # coerces every value from the registry and fails only the record.
        return record


class ResourceSink(_UnvalidatedSink):
    """Buffers the records of one writable resource type for the run's ``Writer``."""

    # Records held before a flush (``batch_size_rows`` overrides): 2,000 keeps a 100,000-record
    # run within its memory goal; at 8 requests in flight a flush's tail costs ~1.5 % of it.
    MAX_SIZE_DEFAULT = 2000

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        stream = match_stream(stream_name)
        if stream is None:  # pragma: no cover - the target picks SkippedSink for these
            raise ValueError(f"no resource for stream {stream_name!r}")
        self.spec = stream.spec
        self._owner: _Owner = target  # type: ignore[assignment]
        self._writer = self._owner.writer

    @override
    def _remove_sdc_metadata_from_record(self, record: dict[str, Any]) -> None:
        # The SDK would drop every ``_sdc_*`` key, ``_sdc_deleted_at`` (a delete) included;
        # adding its own instead would cost seven values per record. Keep what the tap sent.
        return

    @override
    def process_record(self, record: dict[Any, Any], context: dict[Any, Any]) -> None:
        """Buffer the record."""
        self._writer.add(self.spec, record)

    @override
    def process_batch(self, context: dict[Any, Any]) -> None:
        """Write what is buffered, all streams in dependency order."""
        try:
            self._writer.flush(final=False)
        except JobAborted as stop:
            self._owner.abort(stop)


class SkippedSink(_UnvalidatedSink):
    """A stream with no Optiply resource: warned about once by the target, then ignored."""

    @override
    def process_record(self, record: dict[Any, Any], context: dict[Any, Any]) -> None:
        """Drop the record."""

    @override
    def process_batch(self, context: dict[Any, Any]) -> None:
        """Nothing to write."""
