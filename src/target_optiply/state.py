"""``target-state.json``: per-record bookmarks and a per-stream summary, written atomically.

The shape is HotGlue's (integrator-needs §2.1)::

    {"bookmarks": {"Products": [{"hash": "…", "success": true, "id": "123",
                                 "externalId": "SKU-1", "outcome": "success"}]},
     "summary": {"Products": {"success": 1, "fail": 0, "existing": 0, "updated": 0}}}

The bookmarks are never held in memory. Every record's entry is appended at once, as one JSON
line, to its stream's journal beside the file (``target-state.json.journal.<run>.<Stream>``):
a crash keeps what succeeded, and ``read_state`` puts file and journals back together. The file
itself is assembled from the journals by copying bytes (no JSON re-encoding): at every flush, at
the end, and in between at most every ``write_interval`` seconds, spaced further apart as it
grows so that rewriting never costs more than a twentieth of the run. It records how many bytes
of each journal it covers; the journals go once the final file is written.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import IO, Any

import orjson

_CHUNK = 1 << 20
# A rewrite may take at most 1/_SPACING of the time between two rewrites.
_SPACING = 20


class Outcome(Enum):
    """What happened to one record; the summary counts these."""

    SUCCESS = "success"  # created (or deleted)
    UPDATED = "updated"  # PATCHed
    EXISTING = "existing"  # adopted a duplicate, or unchanged since the last run
    FAILED = "fail"
    SKIPPED = "skipped"  # a parent failed, or nothing to do


_OUTCOMES = frozenset(outcome.value for outcome in Outcome)


def empty_counts() -> dict[str, int]:
    """A stream's summary before its first record."""
    return {outcome.value: 0 for outcome in Outcome}


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` through a temp file in the same folder and a rename."""
    _write_atomically(path, lambda file: file.write(orjson.dumps(document, default=str)))


def _write_atomically(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``{}`` when it is missing or unreadable."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _journals(path: Path) -> list[tuple[int, str, Path]]:
    """``(run, stream, file)`` of the journals beside ``path``, oldest run first."""
    found = []
    prefix = f"{path.name}.journal."
    for candidate in path.parent.glob(f"{path.name}.journal.*.*"):
        run, _, stream = candidate.name[len(prefix) :].partition(".")
        if run.isascii() and run.isdigit() and stream:
            found.append((int(run), stream, candidate))
    return sorted(found, key=lambda item: item[0])


def read_state(path: Path) -> dict[str, Any]:
    """The state at ``path`` with the entries its journals hold beyond it (after a crash)."""
    document = read_json(path)
    bookmarks = document.setdefault("bookmarks", {})
    summary = document.setdefault("summary", {})
    journal = document.get("journal")
    covered_run = journal.get("run") if isinstance(journal, dict) else None
    covered = journal.get("covered") if isinstance(journal, dict) else None
    for run, stream, file in _journals(path):
        start = 0
        if run == covered_run and isinstance(covered, dict):
            start = covered.get(stream, 0) if isinstance(covered.get(stream), int) else 0
        elif isinstance(covered_run, int) and run < covered_run:
            continue  # an older run, superseded by the file
        try:
            with file.open("rb") as handle:
                handle.seek(start)
                lines = handle.read().split(b"\n")
        except OSError:
            continue
        for line in lines:
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # empty, or a line cut short by the crash
            if not isinstance(entry, dict):
                continue
            bookmarks.setdefault(stream, []).append(entry)
            outcome = entry.get("outcome")
            counts = summary.setdefault(stream, empty_counts())
            if outcome in _OUTCOMES:
                counts[outcome] = counts.get(outcome, 0) + 1
    return document


def previous_successes(
    state: Mapping[str, Any],
) -> dict[str, dict[str, tuple[int, dict[str, str]]]]:
    """``stream -> hash -> (id, line ids)`` of the records a previous run wrote successfully
    (``read_state``'s document): a record with the same hash now is unchanged."""
    result: dict[str, dict[str, tuple[int, dict[str, str]]]] = {}
    bookmarks = state.get("bookmarks")
    if not isinstance(bookmarks, dict):
        return result
    for stream, entries in bookmarks.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("success") or entry.get("deleted"):
                continue
            digest, optiply_id = entry.get("hash"), entry.get("id")
            if isinstance(digest, str) and str(optiply_id or "").isdigit():
                lines = entry.get("lineIds")
                result.setdefault(str(stream), {})[digest] = (
                    int(str(optiply_id)),
                    dict(lines) if isinstance(lines, dict) else {},
                )
    return result


class TargetState:
    """The state of this run; with ``path`` None its journals live in a temporary folder."""

    def __init__(
        self,
        path: Path | None,
        *,
        write_interval: float = 1.0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._extra = b"".join(  # top-level keys written after the summary, e.g. jobId
            b", " + orjson.dumps(key) + b": " + orjson.dumps(value)
            for key, value in (extra or {}).items()
        )
        if path is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="target-optiply-")
            journal_base = Path(self._temporary.name) / "state.json"
        else:
            journal_base = path
        self.path = path
        self.write_interval = write_interval
        self.summary: dict[str, dict[str, int]] = {}
        self.requests: dict[str, int] = {}
        self.elapsed: dict[str, float] = {}
        self._base = journal_base
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._written_at = time.monotonic()
        self._write_cost = 0.0
        self._dirty = False
        self._closed = False
        known = _journals(journal_base)
        self._run = known[-1][0] + 1 if known else 0
        self._stale = [file for _, _, file in known]  # older runs': go with the first write
        self._journals: dict[str, IO[bytes]] = {}

    def add(self, stream: str, entry: dict[str, Any], outcome: Outcome) -> None:
        """Append one record's entry (its ``outcome`` added) to its journal; count it."""
        entry["outcome"] = outcome.value
        line = orjson.dumps(entry, default=str) + b"\n"
        with self._lock:
            if self._closed:
                raise RuntimeError("the run's state is closed; no record may be added")
            counts = self.summary.get(stream)
            if counts is None:
                counts = self.summary[stream] = empty_counts()
            counts[outcome.value] += 1
            journal = self._journals.get(stream)
            if journal is None:
                self._base.parent.mkdir(parents=True, exist_ok=True)
                journal = self._journals[stream] = self._journal_path(stream).open("ab")
            journal.write(line)
            journal.flush()  # in the OS's hands: survives a crash of this process
            self._dirty = True
        self.write(force=False)

    def _journal_path(self, stream: str) -> Path:
        return self._base.with_name(f"{self._base.name}.journal.{self._run}.{stream}")

    def _snapshot(self) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """Bytes written to each journal so far, and the summary, consistent with each other."""
        with self._lock:
            covered = {stream: journal.tell() for stream, journal in self._journals.items()}
            summary = {stream: dict(counts) for stream, counts in self.summary.items()}
            self._dirty = False
        return covered, summary

    def _write_document(
        self,
        out: IO[bytes],
        covered: dict[str, int],
        summary: dict[str, dict[str, int]],
        *,
        newline: bytes,
        trailer: bytes = b"",
    ) -> None:
        """The state document, its bookmarks copied from the journals' first bytes."""
        out.write(b'{"bookmarks": {')
        for index, (stream, size) in enumerate(covered.items()):
            out.write(b", " if index else b"")
            out.write(orjson.dumps(stream) + b": [" + newline)
            _copy_lines(self._journal_path(stream), size, out, b"," + newline)
            out.write(b"]")
        out.write(b'}, "summary": ' + orjson.dumps(summary) + self._extra + trailer + b"}")

    def write(self, *, force: bool = True) -> None:
        """Write the file now (``force``), or when it is due (see the module's docstring)."""
        if self.path is None:
            return
        if not force and time.monotonic() - self._written_at < self.write_interval:
            return  # the common case after a record: not due, no lock taken
        with self._write_lock:  # one writer at a time, so a newer file is never replaced
            if self._closed:
                return
            started = time.monotonic()
            due = max(self.write_interval, self._write_cost * _SPACING)
            if not force and (not self._dirty or started - self._written_at < due):
                return
            covered, summary = self._snapshot()
            trailer = b', "journal": ' + orjson.dumps({"run": self._run, "covered": covered})
            _write_atomically(
                self.path,
                lambda out: self._write_document(
                    out, covered, summary, newline=b"\n", trailer=trailer
                ),
            )
            for stale in self._stale:
                stale.unlink(missing_ok=True)
            self._stale = []
            self._written_at = time.monotonic()
            self._write_cost = self._written_at - started

    def emit(self, out: IO[bytes]) -> None:
        """The state document as one line, to ``out`` (a target's state output on stdout)."""
        covered, summary = self._snapshot()
        self._write_document(out, covered, summary, newline=b" ")
        out.write(b"\n")

    def close(self) -> None:
        """Write the final file, then drop this run's journals (the file now holds it all)."""
        self.write()
        with self._write_lock, self._lock:  # no rewrite may start from emptied journals
            self._closed = True
            for stream, journal in self._journals.items():
                journal.close()
                if self.path is not None:
                    self._journal_path(stream).unlink(missing_ok=True)
            self._journals = {}
        if self._temporary is not None:
            self._temporary.cleanup()

    def document(self) -> dict[str, Any]:
        """The state as a Python object (for tests and small runs: it reads the journals)."""
        covered, summary = self._snapshot()
        bookmarks: dict[str, list[Any]] = {}
        for stream, size in covered.items():
            with self._journal_path(stream).open("rb") as handle:
                bookmarks[stream] = [
                    orjson.loads(line) for line in handle.read(size).split(b"\n") if line
                ]
        return {"bookmarks": bookmarks, "summary": summary}


def _copy_lines(path: Path, size: int, out: IO[bytes], separator: bytes) -> None:
    """Copy the first ``size`` bytes of a file of JSON lines as the items of a JSON array."""
    if size <= 0:
        return
    with path.open("rb") as source:
        remaining = size
        while remaining:
            chunk = source.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if not remaining:
                chunk = chunk.rstrip(b"\n")
            out.write(chunk.replace(b"\n", separator))
