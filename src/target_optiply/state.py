"""``target-state.json``: per-record bookmarks and a per-stream summary, written atomically.

The shape is HotGlue's (integrator-needs §2.1)::

    {"bookmarks": {"Products": [{"hash": "…", "success": true, "id": "123",
                                 "externalId": "SKU-1"}]},
     "summary": {"Products": {"success": 1, "fail": 0, "existing": 0, "updated": 0}}}

Every record's bookmark is appended at once to a journal beside the file
(``target-state.json.journal.<generation>``), so a crash keeps what succeeded; the file itself is
rewritten (temp file + rename) at most every ``write_interval`` seconds and at every flush, and
then covers the journals up to its ``journalGeneration``. ``read_state`` puts the two back
together. Rewriting the whole file after every record made a run quadratic in its records.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Any


class Outcome(Enum):
    """What happened to one record; the summary counts these."""

    SUCCESS = "success"  # created (or deleted)
    UPDATED = "updated"  # PATCHed
    EXISTING = "existing"  # adopted a duplicate, or unchanged since the last run
    FAILED = "fail"
    SKIPPED = "skipped"  # a parent failed, or nothing to do


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` through a temp file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=1, default=str)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``{}`` when it is missing or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _journal(path: Path, generation: int) -> Path:
    return path.with_name(f"{path.name}.journal.{generation}")


def _journals(path: Path) -> list[tuple[int, Path]]:
    found = []
    for candidate in path.parent.glob(f"{path.name}.journal.*"):
        suffix = candidate.name.rsplit(".", 1)[-1]
        if suffix.isascii() and suffix.isdigit():
            found.append((int(suffix), candidate))
    return sorted(found)


def read_state(path: Path) -> dict[str, Any]:
    """The state at ``path`` with the records of its newer journals (after a crash) replayed."""
    document = read_json(path)
    covered = document.get("journalGeneration", -1)
    bookmarks = document.setdefault("bookmarks", {})
    summary = document.setdefault("summary", {})
    for generation, journal in _journals(path):
        if isinstance(covered, int) and generation <= covered:
            continue
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                item = json.loads(line)
                stream, entry, outcome = item["stream"], item["entry"], item["outcome"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the crash
            bookmarks.setdefault(stream, []).append(entry)
            counts = summary.setdefault(stream, {})
            counts[outcome] = counts.get(outcome, 0) + 1
    return document


class TargetState:
    """The state of this run; ``path`` None keeps it in memory only."""

    def __init__(self, path: Path | None, *, write_interval: float = 1.0) -> None:
        self.path = path
        self.write_interval = write_interval
        self.bookmarks: dict[str, list[dict[str, Any]]] = {}
        self.summary: dict[str, dict[str, int]] = {}
        self.requests: dict[str, int] = {}
        self.elapsed: dict[str, float] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._written_at = time.monotonic()
        self._dirty = False
        self._generation = 0
        self._journal: Any = None
        if path is not None:
            known = _journals(path)
            self._generation = known[-1][0] + 1 if known else 0

    def add(self, stream: str, entry: dict[str, Any], outcome: Outcome) -> None:
        """Append one record's bookmark, count it, and write the file."""
        with self._lock:
            self.bookmarks.setdefault(stream, []).append(entry)
            counts = self.counts(stream)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
            self._dirty = True
            if self.path is not None:
                if self._journal is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._journal = _journal(self.path, self._generation).open(
                        "a", encoding="utf-8"
                    )
                line = {"stream": stream, "entry": entry, "outcome": outcome.value}
                self._journal.write(json.dumps(line, default=str) + "\n")
                self._journal.flush()  # in the OS's hands: survives a crash of this process
        self.write(force=False)

    def counts(self, stream: str) -> dict[str, int]:
        """The summary counters of ``stream`` (created on first use)."""
        return self.summary.setdefault(
            stream, {"success": 0, "fail": 0, "existing": 0, "updated": 0, "skipped": 0}
        )

    def document(self) -> dict[str, Any]:
        """The state as written: ``bookmarks`` and ``summary``."""
        with self._lock:
            return {
                "bookmarks": {k: list(v) for k, v in self.bookmarks.items()},
                "summary": {k: dict(v) for k, v in self.summary.items()},
            }

    def write(self, *, force: bool = True) -> None:
        """Write the file now (``force``), or when the write interval has passed."""
        if self.path is None:
            return
        with self._write_lock:  # one writer at a time, so a newer file is never replaced
            now = time.monotonic()
            if not force and (not self._dirty or now - self._written_at < self.write_interval):
                return
            with self._lock:
                document: dict[str, Any] = {
                    "bookmarks": {k: list(v) for k, v in self.bookmarks.items()},
                    "summary": {k: dict(v) for k, v in self.summary.items()},
                    "journalGeneration": self._generation,
                }
                self._dirty = False
                if self._journal is not None:  # later records go to the next journal
                    self._journal.close()
                    self._journal = None
                covered = self._generation
                self._generation += 1
            write_json_atomically(self.path, document)
            self._written_at = now
            for generation, journal in _journals(self.path):
                if generation <= covered:
                    journal.unlink(missing_ok=True)
