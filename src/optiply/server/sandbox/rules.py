"""Fault rules: which rule matches a request, and whether this match fires.

A rule matches a method (or any) and a path glob (``/v1/products*``). Each match is counted in
the database, so the n-th match is the n-th across every worker; whether it fires depends only
on that ordinal: ``times`` fires the first N, ``every`` every N-th, ``probability`` a seeded
draw per ordinal (the same seed gives the same sequence, on any worker, in any run), and a rule
with none of them fires on every match.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase


class Action(StrEnum):
    """What a firing rule does to the request."""

    STATUS = "status"  # answer an error status (JSON:API body; Retry-After on 429/503)
    LATENCY = "latency"  # handle the request, then answer late (fixed, plus seeded jitter)
    HANG = "hang"  # hold the request unanswered (up to hang_s), then drop the connection
    DROP = "drop"  # close the connection without an answer
    BROKEN = "broken"  # a status line and part of the body, then close
    COMMIT_THEN_FAIL = "commit-then-fail"  # handle and commit, then answer 500 (or drop)
    EXPIRED_TOKEN = "expired-token"  # noqa: S105 - answer 401 as an expired token would


BEFORE = frozenset({Action.STATUS, Action.HANG, Action.DROP, Action.BROKEN, Action.EXPIRED_TOKEN})
"""Actions that stop the request before it is handled: nothing is written."""


@dataclass(frozen=True)
class Rule:
    """One fault rule of an account."""

    id: int
    account_id: int
    action: Action
    path: str = "*"
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    jitter_ms: int = 0
    hang_s: float = 30.0
    drop_after_commit: bool = False  # commit-then-fail: drop instead of answering 500
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    seed: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is a match (to be counted); methods compare case-insensitively.

        >>> posts = Rule(1, 1, Action.DROP, path="/v1/products*", method="POST")
        >>> posts.matches("post", "/v1/products")
        True
        >>> Rule(1, 1, Action.DROP, path="/v1/products*").matches("GET", "/v1/suppliers")
        False
        """
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatchcase(path, self.path)

    def fires(self, ordinal: int) -> bool:
        """Whether the ``ordinal``-th match (from 1, across workers) fires.

        >>> [Rule(1, 1, Action.DROP, every=3).fires(n) for n in range(1, 7)]
        [False, False, True, False, False, True]
        >>> [Rule(1, 1, Action.DROP, times=2).fires(n) for n in range(1, 5)]
        [True, True, False, False]
        """
        if self.times is not None and ordinal > self.times:
            return False
        if self.every is not None and ordinal % self.every:
            return False
        if self.probability is not None:
            return self._draw(ordinal, "fire") < self.probability
        return True

    def exhausted(self, ordinal: int) -> bool:
        """Whether no later match can fire (a ``times`` rule past its count)."""
        return self.times is not None and ordinal >= self.times

    def delay_ms(self, ordinal: int) -> float:
        """The latency of the ``ordinal``-th firing: fixed plus a seeded jitter in [0, jitter]."""
        return self.latency_ms + (self._draw(ordinal, "jitter") * self.jitter_ms)

    def _draw(self, ordinal: int, purpose: str) -> float:
        return random.Random(f"{self.seed}:{self.id}:{ordinal}:{purpose}").random()  # noqa: S311
