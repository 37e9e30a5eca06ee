"""max_requests_per_second: calls are spaced across threads; no limit by default."""

from __future__ import annotations

import threading

from target_optiply.settings import resolve
from target_optiply.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:  # the clock stands still: waits add up
        with self.lock:
            sleeps.append(round(seconds, 6))


sleeps: list[float] = []


def test_calls_are_spaced_by_the_rate_across_threads():
    sleeps.clear()
    clock = FakeClock()
    throttle = Throttle(10, clock=clock, sleep=clock.sleep)

    threads = [threading.Thread(target=throttle.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # the first call goes at once; the others wait 0.1 s more each, whichever thread they are
    assert sorted(sleeps) == [0.1, 0.2, 0.3, 0.4]


def test_no_rate_means_no_waiting():
    waited: list[float] = []
    throttle = Throttle(None, sleep=waited.append)
    for _ in range(100):
        throttle.wait()
    assert waited == []


def test_the_config_key_reaches_the_settings():
    assert resolve({"access_token": "t"}, environ={}).max_requests_per_second is None
    settings = resolve({"access_token": "t", "max_requests_per_second": "5"}, environ={})
    assert settings.max_requests_per_second == 5.0
