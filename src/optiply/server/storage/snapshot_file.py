"""The snapshot file: one zstd frame (with its content checksum) of JSON Lines.

1. a header: ``{"format": "optiply-snapshot", "formatVersion": 1, "optiplyVersion": …,
   "savedAt": …, "database": "sqlite", "account": {"id", "uuid", "name"}, "tables": [{"type",
   "table", "columns": [...], "rows": n}, …]}``, tables parents first;
2. each table's rows, in that order, one JSON array of its ``columns`` per line, by id:
   date-times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC), decimals as strings (``"12.30"``),
   JSON columns as JSON; ``account_id`` and ``account_uuid`` are left out (the header has them);
3. a trailer: ``{"end": "optiply-snapshot", "rows": total, "sha256": …}``, the SHA-256 of every
   uncompressed byte before it.

``SnapshotWriter`` writes one, ``SnapshotReader`` reads one line by line, checking as it goes;
what the rows mean is ``snapshots``'s business.
"""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any

import orjson
import zstandard

from optiply import __version__
from optiply.server.storage.account_data import data_specs

FORMAT = "optiply-snapshot"
FORMAT_VERSION = 1
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class SnapshotError(Exception):
    """A snapshot that can't be restored: unreadable, foreign, cut, altered, or too new."""


class SnapshotConflict(SnapshotError):
    """The snapshot's rows clash with rows of another account (ids and uuids are kept)."""


class SnapshotWriter:
    """Writes a snapshot file: the header, then row lines (``write``), then, on ``close``, the
    trailer with the row count and the SHA-256 of every byte before it; one zstd frame with its
    own content checksum."""

    def __init__(self, out: IO[bytes], header: dict[str, Any]) -> None:
        compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
        self._stream = compressor.stream_writer(out, closefd=False)
        self._digest = hashlib.sha256()
        self.rows = 0
        self.write(orjson.dumps({"format": FORMAT, "formatVersion": FORMAT_VERSION, **header}))
        self.write(b"\n")

    def write(self, lines: bytes, rows: int = 0) -> None:
        """Add ``lines`` (whole lines, each ending with a newline) holding ``rows`` rows."""
        self._digest.update(lines)
        self._stream.write(lines)
        self.rows += rows

    def close(self) -> None:
        """Write the trailer and end the frame (``out`` stays open)."""
        trailer = {"end": FORMAT, "rows": self.rows, "sha256": self._digest.hexdigest()}
        self._stream.write(orjson.dumps(trailer) + b"\n")
        self._stream.flush(zstandard.FLUSH_FRAME)


class SnapshotReader:
    """The lines of a snapshot file, decompressed as they are read, hashed until the trailer."""

    def __init__(self, source: IO[bytes]) -> None:
        """Read and check the header of ``source`` (a seekable file).

        Raises:
            SnapshotError: when it is no snapshot this version reads.
        """
        head = source.read(len(ZSTD_MAGIC))
        if not head:
            raise SnapshotError("not an optiply snapshot (the file is empty)")
        if head != ZSTD_MAGIC:
            raise SnapshotError("not an optiply snapshot (not zstd-compressed)")
        source.seek(-len(head), io.SEEK_CUR)
        stream = zstandard.ZstdDecompressor().stream_reader(source, closefd=False)
        self._lines = io.BufferedReader(stream, buffer_size=1 << 20)
        self._digest = hashlib.sha256()
        first = self.line(limit=1 << 24)
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SnapshotError("not an optiply snapshot (no snapshot header)")
        self.header = checked_header(header)

    def line(self, limit: int = -1) -> bytes:
        """The next line (with its newline), hashed; ``SnapshotError`` past the end or when
        the data is damaged."""
        try:
            line = self._lines.readline(limit)
        except (zstandard.ZstdError, OSError) as error:
            raise SnapshotError(f"the snapshot is damaged: {error}") from None
        if not line.endswith(b"\n"):
            raise SnapshotError("the snapshot is cut short")
        self._digest.update(line)
        return line

    def finish(self, total: int) -> None:
        """Check the trailer (row count, checksum) and that nothing follows it."""
        expected = self._digest.hexdigest()
        try:
            line = self._lines.readline()
            rest = self._lines.read(1)
        except (zstandard.ZstdError, OSError) as error:
            raise SnapshotError(f"the snapshot is damaged: {error}") from None
        try:
            trailer = orjson.loads(line)
        except orjson.JSONDecodeError:
            trailer = None
        if not isinstance(trailer, dict) or trailer.get("end") != FORMAT:
            raise SnapshotError("the snapshot is cut short or has more rows than its header says")
        if trailer.get("rows") != total or trailer.get("sha256") != expected or rest:
            raise SnapshotError("the snapshot's checksum does not match: the file was altered")


def checked_header(header: dict[str, Any]) -> dict[str, Any]:
    """``header`` if this version can restore its file: its format version, account and
    tables (known types, parents first, a column list and a row count each)."""
    version = header.get("formatVersion")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotError("not an optiply snapshot (no format version)")
    if version > FORMAT_VERSION:
        raise SnapshotError(
            f"the snapshot has format version {version}, newer than this optiply "
            f"{__version__} reads (up to {FORMAT_VERSION}): it was written by optiply "
            f"{header.get('optiplyVersion')}; upgrade optiply to restore it"
        )
    account, tables = header.get("account"), header.get("tables")
    if not isinstance(account, dict) or not isinstance(tables, list):
        raise SnapshotError("the snapshot's header is damaged (account, tables)")
    if not all(isinstance(header.get(key), str) for key in ("savedAt", "optiplyVersion")):
        raise SnapshotError("the snapshot's header is damaged (savedAt, optiplyVersion)")
    order = [spec.type for spec in data_specs()]
    seen: list[int] = []
    for entry in tables:
        if not isinstance(entry, dict):
            raise SnapshotError("the snapshot's header is damaged (tables)")
        kind = entry.get("type")
        if kind not in order:
            raise SnapshotError(f"the snapshot has rows of {kind!r}, which this optiply lacks")
        rows, columns = entry.get("rows"), entry.get("columns")
        if not isinstance(rows, int) or rows < 0 or not isinstance(columns, list):
            raise SnapshotError(f"the snapshot's header is damaged ({kind})")
        seen.append(order.index(kind))
    if seen != sorted(set(seen)):
        raise SnapshotError("the snapshot's header is damaged (the order of its tables)")
    return header
