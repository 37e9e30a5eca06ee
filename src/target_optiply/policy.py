"""The error policy (integrator-needs §2.7): what a failure means for the record and the job.

- Record-level (``RecordError``: 400/404/409/422, a ``BadRecord``, an unresolved reference):
  the record fails with a readable reason, the job goes on, its dependents are skipped.
- Transient (``RetriableError`` after the client's own retries): the record fails; too many in
  a row (``max_consecutive_transient``) is systemic.
- Systemic (``FatalError``: 401 after one refresh, 403, other 5xx): stop the job cleanly.

``max_record_failures`` and ``fail_on_first_error`` turn record failures into a job stop too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from optiply.client import FatalError, RetriableError


class JobAborted(Exception):
    """The job must stop: state is flushed and the process exits non-zero."""


@dataclass
class ErrorPolicy:
    """Counts failures and decides when the job must stop."""

    max_record_failures: int | None = None  # None: no limit
    fail_on_first_error: bool = False
    max_consecutive_transient: int = 20
    failures: int = 0
    consecutive_transient: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self) -> None:
        """A request went through: the transient streak ends."""
        with self._lock:
            self.consecutive_transient = 0

    def record_failed(self, error: BaseException | None = None) -> None:
        """Count a failed record; raise ``JobAborted`` when the job must stop."""
        if isinstance(error, FatalError):
            raise JobAborted(f"systemic failure: {error}") from error
        with self._lock:
            self.failures += 1
            if isinstance(error, RetriableError):
                self.consecutive_transient += 1
                if self.consecutive_transient >= self.max_consecutive_transient:
                    raise JobAborted(
                        f"{self.consecutive_transient} transient failures in a row; last: {error}"
                    )
            if self.fail_on_first_error:
                raise JobAborted(f"a record failed and fail_on_first_error is set: {error}")
            if self.max_record_failures is not None and self.failures > self.max_record_failures:
                raise JobAborted(
                    f"{self.failures} records failed, more than max_record_failures="
                    f"{self.max_record_failures}"
                )
