"""What came of each record, kept and told: its state entry, its log line, the error policy,
and the per-stream figures of the summary table (requests, busy time)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from target_optiply.policy import ErrorPolicy
from target_optiply.state import Outcome, TargetState
from target_optiply.upsert import Result

logger = logging.getLogger("target_optiply")


class Report:
    """The bookkeeping of one run; thread-safe."""

    def __init__(
        self,
        state: TargetState,
        policy: ErrorPolicy,
        *,
        totals: Mapping[str, str] | None = None,
    ) -> None:
        """Args:
        totals: ``stream -> total`` (HotGlue's ``STREAM_TOTAL_<Stream>``) for ``#n/total``.
        """
        self.state = state
        self.policy = policy
        self._totals = totals or {}
        self._counters = threading.Lock()  # _seen, _in_flight, state.requests, state.elapsed
        self._seen: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}  # records of a stream under way
        self._busy_since: dict[str, float] = {}  # since when a stream has had one under way

    def request(self, stream: str) -> None:
        """A request for a record of ``stream`` is about to be sent."""
        with self._counters:
            self.state.requests[stream] = self.state.requests.get(stream, 0) + 1

    def started(self, stream: str) -> float:
        """A record of ``stream`` starts: its clock starts when none of its records is under
        way (the stream's busy time is the union of its records' times, whatever the number
        of threads)."""
        now = time.perf_counter()
        with self._counters:
            if not self._in_flight.get(stream):
                self._busy_since[stream] = now
            self._in_flight[stream] = self._in_flight.get(stream, 0) + 1
        return now

    def stopped(self, stream: str) -> None:
        """A record of ``stream`` is done: the stream's busy time grows when it was the last."""
        now = time.perf_counter()
        with self._counters:
            self._in_flight[stream] -= 1
            if not self._in_flight[stream]:
                self.state.elapsed[stream] = self.state.elapsed.get(stream, 0.0) + (
                    now - self._busy_since[stream]
                )

    def record(self, stream: str, result: Result, started: float) -> None:
        """A record of ``stream`` is done: its state entry, its log line, the error policy.

        Raises:
            JobAborted: The error policy stops the job.
        """
        self.state.add(stream, entry(result), result.outcome)
        self.stopped(stream)
        with self._counters:
            number = self._seen[stream] = self._seen.get(stream, 0) + 1
        logger.info(
            "%s #%d/%s %s externalId=%s -> %s id=%s %.0f ms%s",
            stream,
            number,
            self._totals.get(stream, "?"),
            result.request,
            result.external_id,
            result.outcome.value,
            result.optiply_id,
            (time.perf_counter() - started) * 1000,
            f" ({result.error or result.note})" if (result.error or result.note) else "",
        )
        if result.outcome is Outcome.FAILED:
            assert result.failure is not None
            self.policy.record_failed(stream, result.failure)
        elif result.outcome is not Outcome.SKIPPED:
            self.policy.succeeded(stream)

    def log_summary(self) -> None:
        """One table of counts per stream, and requests per second."""
        summary = {stream: dict(counts) for stream, counts in self.state.summary.items()}
        if not summary:
            return
        logger.info(
            "%-20s %8s %8s %8s %8s %8s %9s %7s",
            "stream",
            "success",
            "updated",
            "existing",
            "failed",
            "skipped",
            "requests",
            "req/s",
        )
        for stream, counts in summary.items():
            requests = self.state.requests.get(stream, 0)
            elapsed = self.state.elapsed.get(stream, 0.0)
            logger.info(
                "%-20s %8d %8d %8d %8d %8d %9d %7.1f",
                stream,
                counts.get("success", 0),
                counts.get("updated", 0),
                counts.get("existing", 0),
                counts.get("fail", 0),
                counts.get("skipped", 0),
                requests,
                requests / elapsed if elapsed > 0 else 0.0,
            )


def entry(result: Result) -> dict[str, Any]:
    """A record's bookmark in ``target-state.json`` (``outcome`` is added by the state)."""
    entry: dict[str, Any] = {"hash": result.digest, "success": not result.bad}
    if result.optiply_id is not None:
        entry["id"] = str(result.optiply_id)
    if result.external_id is not None:
        entry["externalId"] = result.external_id
    if result.error:
        entry["error"] = result.error
    if result.note:
        entry["note"] = result.note
    if result.outcome is Outcome.SKIPPED:
        entry["skipped"] = True
    if result.deleted:
        entry["deleted"] = True
    if result.line_ids:
        entry["lineIds"] = result.line_ids
    return entry
