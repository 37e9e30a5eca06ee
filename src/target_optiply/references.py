"""Source id (``externalId``) -> Optiply id, per run and per resource type; injected, no globals.

Seeded, lowest precedence first, from HotGlue id snapshots (``{Stream}_{FLOW}.snapshot.csv``
with ``InputId``/``RemoteId`` columns) and from the previous run's ``target-state.json``; every
record written in this run then overrides. Records that failed in this run are remembered with
their reason, so their dependents are skipped instead of failing with a confusing 400.

>>> refs = References()
>>> refs.remember("products", "SKU-1", 12)
>>> refs.lookup("products", "SKU-1")
(12, 'run')
>>> refs.lookup("products", "SKU-2") is None
True
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optiply.resources import get
from target_optiply.records import BadRecord, Mapped, normalise_external_id, normalise_id
from target_optiply.streams import STREAMS, stream_name

logger = logging.getLogger("target_optiply")


class ParentUnknown(Exception):
    """A parent is not known yet: the record waits for the next flush."""


class ParentFailed(Exception):
    """A parent failed in this run: the record is skipped with the reason."""


class References:
    """The id map of one run.

    Ids are kept as plain ints per type (about 130 bytes an entry: 100,000 records are 13 MB);
    where an id came from is kept only for the seeded ones, which are few or go stale.
    """

    def __init__(self) -> None:
        self._ids: dict[str, dict[str, int]] = {}
        self._seeded: dict[str, dict[str, str]] = {}  # type -> source id -> "state"/"snapshot"
        self._failed: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def remember(self, resource_type: str, external_id: str, optiply_id: int) -> None:
        """Record that ``external_id`` of ``resource_type`` is ``optiply_id`` (this run)."""
        self._set(resource_type, external_id, optiply_id, "run")

    def adopt(self, resource_type: str, external_id: str, optiply_id: int) -> None:
        """Record that the server holds ``external_id`` as ``optiply_id`` (found by remote id)."""
        self._set(resource_type, external_id, optiply_id, "remote id")

    def _set(self, resource_type: str, external_id: str, optiply_id: int, source: str) -> None:
        with self._lock:
            ids = self._ids.get(resource_type)
            if ids is None:
                ids = self._ids[resource_type] = {}
            ids[external_id] = optiply_id
            seeded = self._seeded.get(resource_type)
            if source != "run":
                self._seeded.setdefault(resource_type, {})[external_id] = source
            elif seeded:
                seeded.pop(external_id, None)
            failed = self._failed.get(resource_type)
            if failed:
                failed.pop(external_id, None)

    def forget(self, resource_type: str, external_id: str) -> None:
        """Drop an id (after a delete)."""
        with self._lock:
            self._ids.get(resource_type, {}).pop(external_id, None)
            self._seeded.get(resource_type, {}).pop(external_id, None)

    def lookup(self, resource_type: str, external_id: str) -> tuple[int, str] | None:
        """``(optiply id, where it came from)`` for a source id: ``run``, ``state``,
        ``snapshot`` or ``remote id``; None when unknown."""
        with self._lock:
            found = self._ids.get(resource_type, {}).get(external_id)
            if found is None:
                return None
            return found, self._seeded.get(resource_type, {}).get(external_id, "run")

    def mark_failed(self, resource_type: str, external_id: str, reason: str) -> None:
        """Remember that this record failed in this run (its dependents get skipped)."""
        with self._lock:
            self._failed.setdefault(resource_type, {})[external_id] = reason

    def failure(self, resource_type: str, external_id: str) -> str | None:
        """Why ``external_id`` failed in this run, or None."""
        with self._lock:
            return self._failed.get(resource_type, {}).get(external_id)

    def resolve(self, mapped: Mapped, *, final: bool, snapshot_flow: str | None = None) -> None:
        """Put the Optiply ids of ``mapped``'s parents (``Remote_<attribute>``, the lines'
        ``Remote_productId``) into it; an explicit Optiply id in the record wins.

        Raises:
            ParentUnknown: A parent is not known yet and more input may bring it.
            ParentFailed: A parent failed in this run.
            BadRecord: At the end of the input (``final``), a parent nobody knows; the message
                names where it was looked for (the snapshot of ``snapshot_flow`` too).
        """
        spec = mapped.spec
        for name, source in mapped.remote_refs.items():
            if name in mapped.attributes:
                continue  # an explicit Optiply id wins
            attribute = spec.attribute(name)
            assert attribute is not None and attribute.references is not None
            mapped.attributes[name] = self._parent(
                name, attribute.references, source, final, snapshot_flow
            )
        for index, line in enumerate(mapped.lines or ()):
            if line.product_id is None:
                assert line.remote_product_id is not None
                line.product_id = self._parent(
                    f"line_items/{index}/productId",
                    "products",
                    line.remote_product_id,
                    final,
                    snapshot_flow,
                )

    def _parent(
        self,
        name: str,
        target: str,
        source: str,
        final: bool,
        snapshot_flow: str | None,
    ) -> int:
        found = self.lookup(target, source)
        if found is not None:
            return found[0]
        target_stream = stream_name(get(target))
        reason = self.failure(target, source)
        if reason is not None:
            raise ParentFailed(f"{name}: parent {target_stream} {source} failed ({reason})")
        if not final:
            raise ParentUnknown
        snapshot = f" nor in snapshot {target_stream}_{snapshot_flow}" if snapshot_flow else ""
        remote = name if "/" in name else f"Remote_{name}"
        raise BadRecord(
            f"/{remote}",
            f"{name.rsplit('/', 1)[-1]} unresolved ({remote}={source} not created in this run, "
            f"nor in the previous state{snapshot})",
        )

    def seed_from_state(self, state: Mapping[str, Any]) -> int:
        """Take the ids of the successful records of a previous ``target-state.json``."""
        count = 0
        bookmarks = state.get("bookmarks")
        if not isinstance(bookmarks, dict):
            return 0
        for stream, entries in bookmarks.items():
            row = STREAMS.get(stream)
            if row is None or not isinstance(entries, list):
                continue
            spec = row.spec
            for entry in entries:
                if not isinstance(entry, dict) or not entry.get("success"):
                    continue
                external_id = normalise_external_id(entry.get("externalId"))
                optiply_id = normalise_id(entry.get("id"))
                if external_id and optiply_id and not entry.get("deleted"):
                    self._set(spec.type, external_id, optiply_id, "state")
                    count += 1
                lines = entry.get("lineIds")
                if spec.embedded is not None and isinstance(lines, dict):
                    for line_external, line_id in lines.items():
                        line_optiply = normalise_id(line_id)
                        if line_optiply:
                            self._set(
                                spec.embedded.target, str(line_external), line_optiply, "state"
                            )
        return count

    def seed_from_snapshots(self, directory: Path, flow: str) -> int:
        """Take ``InputId`` -> ``RemoteId`` from the HotGlue snapshot of every stream."""
        count = 0
        for stream, table_row in STREAMS.items():
            spec = table_row.spec
            path = directory / f"{stream}_{flow}.snapshot.csv"
            if not path.is_file():
                continue
            try:
                with path.open(newline="", encoding="utf-8") as handle:
                    for row in csv.DictReader(handle):
                        external_id = normalise_external_id(row.get("InputId"))
                        optiply_id = normalise_id(row.get("RemoteId"))
                        if external_id and optiply_id:
                            self._set(spec.type, external_id, optiply_id, "snapshot")
                            count += 1
            except (OSError, csv.Error) as error:
                logger.warning("snapshot %s unreadable: %s", path.name, type(error).__name__)
        return count
