"""``max_requests_per_second``: a client-side limit shared by every thread of the writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Spaces calls at least ``1 / rate`` seconds apart across threads; no limit without a rate.

    >>> clock = iter([0.0, 0.0, 0.0]).__next__
    >>> waits = []
    >>> throttle = Throttle(4, clock=clock, sleep=waits.append)
    >>> throttle.wait(); throttle.wait(); throttle.wait()
    >>> waits
    [0.25, 0.5]
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this call may go out."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)
