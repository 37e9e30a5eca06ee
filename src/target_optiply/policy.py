"""The error policy (integrator-needs §2.7): what a failure means for the record and the job.

- Record-level (``RecordError``: 400/404/409/422, a ``BadRecord``, an unresolved reference):
  the record fails with a readable reason, the job goes on, its dependents are skipped.
- Transient (``RetriableError`` after the client's own retries): the record fails; too many in
  a row (``max_consecutive_transient``) is systemic.
- Systemic (``FatalError``: 401 after one refresh, 403, other 5xx): stop the job cleanly.

``max_record_failures`` and ``fail_on_first_error`` turn record failures into a job stop too.

A stream whose records fail for one reason is systemic as well (a field the whole source
sends in a shape the API refuses), so it never ends quietly with exit 0:

- the first ``systemic_failure_records`` records of a stream (default 100) all failed for the
  same reason: the job stops at once;
- at the end of the input, a stream in which every record failed, or (with at least
  ``SHARE_MINIMUM`` records) more than ``systemic_failure_share`` of them (default half) failed
  for the same reason: the job exits non-zero after writing everything else.

The message names the stream, the field (or status) and the reason. A reason is the culprit
of the failure: the field path of an invalid record, the status and pointer of an API error.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from optiply.client import FatalError, RetriableError


class JobAborted(Exception):
    """The job must stop: state is flushed and the process exits non-zero."""


SHARE_MINIMUM = 10  # records a stream needs before the share rule applies


@dataclass
class Failure:
    """Why a record failed: ``key`` groups failures of one cause (``invalid /stockLevel``),
    ``detail`` is one full message of it."""

    key: str
    detail: str
    error: BaseException | None = None


def failure_key(detail: str) -> str:
    """A detail with its numbers taken out, for failures that name no field.

    >>> failure_key("404: Product 123 was deleted in Optiply")
    '404: Product # was deleted in Optiply'
    """
    return re.sub(r"(?<=\D)\d+", "#", detail)


@dataclass
class _Tally:
    records: int = 0  # records that succeeded or failed (skipped ones are not counted)
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    details: dict[str, str] = field(default_factory=dict)

    def top(self) -> tuple[str, int]:
        key, count = self.reasons.most_common(1)[0]
        return self.details[key], count


@dataclass
class ErrorPolicy:
    """Counts failures and decides when the job must stop."""

    max_record_failures: int | None = None  # None: no limit
    fail_on_first_error: bool = False
    max_consecutive_transient: int = 20
    systemic_failure_records: int = 100  # 0: off
    systemic_failure_share: float = 0.5  # 0: off
    failures: int = 0
    consecutive_transient: int = 0
    _streams: dict[str, _Tally] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self, stream: str) -> None:
        """A record of ``stream`` went through: the transient streak ends."""
        with self._lock:
            self.consecutive_transient = 0
            self._tally(stream).records += 1

    def record_failed(self, stream: str, failure: Failure) -> None:
        """Count a failed record; raise ``JobAborted`` when the job must stop."""
        error = failure.error
        if isinstance(error, FatalError):
            raise JobAborted(f"systemic failure: {error}") from error
        with self._lock:
            self.failures += 1
            tally = self._tally(stream)
            tally.records += 1
            tally.failed += 1
            tally.reasons[failure.key] += 1
            tally.details[failure.key] = failure.detail
            if isinstance(error, RetriableError):
                self.consecutive_transient += 1
                if self.consecutive_transient >= self.max_consecutive_transient:
                    raise JobAborted(
                        f"{self.consecutive_transient} transient failures in a row; last: {error}"
                    )
            if self.fail_on_first_error:
                raise JobAborted(
                    f"a record failed and fail_on_first_error is set: {error or failure.detail}"
                )
            if self.max_record_failures is not None and self.failures > self.max_record_failures:
                raise JobAborted(
                    f"{self.failures} records failed, more than max_record_failures="
                    f"{self.max_record_failures}"
                )
            first = self.systemic_failure_records
            if first and tally.records == first and tally.reasons[failure.key] == first:
                raise JobAborted(
                    f"{stream}: the first {first} records all failed for the same reason, "
                    f"{failure.detail} (systemic_failure_records={first})"
                )

    def verdict(self) -> str | None:
        """At the end of the input: why the run must exit non-zero, or None."""
        share = self.systemic_failure_share
        if not share:
            return None
        with self._lock:
            for stream, tally in self._streams.items():
                if not tally.failed:
                    continue
                detail, count = tally.top()
                if tally.failed == tally.records:
                    return (
                        f"{stream}: every record failed ({tally.failed}); "
                        f"{count} of them for this reason: {detail}"
                    )
                if tally.records >= SHARE_MINIMUM and count > share * tally.records:
                    return (
                        f"{stream}: {count} of {tally.records} records failed for the same "
                        f"reason, {detail} (more than systemic_failure_share={share:g})"
                    )
        return None

    def _tally(self, stream: str) -> _Tally:
        tally = self._streams.get(stream)
        if tally is None:
            tally = self._streams[stream] = _Tally()
        return tally
