"""``target-state.json``: per-record bookmarks and a per-stream summary, written atomically.

The shape is HotGlue's (integrator-needs §2.1)::

    {"bookmarks": {"Products": [{"hash": "…", "success": true, "id": "123",
                                 "externalId": "SKU-1"}]},
     "summary": {"Products": {"success": 1, "fail": 0, "existing": 0, "updated": 0}}}

The file is rewritten (temp file + rename) after every record, so a crash keeps what succeeded.
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


class TargetState:
    """The state of this run; ``path`` None keeps it in memory only."""

    def __init__(self, path: Path | None, *, write_interval: float = 0.0) -> None:
        self.path = path
        self.write_interval = write_interval
        self.bookmarks: dict[str, list[dict[str, Any]]] = {}
        self.summary: dict[str, dict[str, int]] = {}
        self.requests: dict[str, int] = {}
        self.elapsed: dict[str, float] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._written_at = 0.0
        self._dirty = False

    def add(self, stream: str, entry: dict[str, Any], outcome: Outcome) -> None:
        """Append one record's bookmark, count it, and write the file."""
        with self._lock:
            self.bookmarks.setdefault(stream, []).append(entry)
            counts = self.counts(stream)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
            self._dirty = True
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
                document = {
                    "bookmarks": {k: list(v) for k, v in self.bookmarks.items()},
                    "summary": {k: dict(v) for k, v in self.summary.items()},
                }
                self._dirty = False
            write_json_atomically(self.path, document)
            self._written_at = now
