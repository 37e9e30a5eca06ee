"""Fault rules: which rule matches a request, and whether this match fires.

A rule matches a method (or any) and a path glob (``/v1/products*``). Each match is counted in
the database, so the n-th match is the n-th across every worker; whether it fires depends only
on that ordinal: ``every`` fires every N-th match, ``probability`` a seeded draw per ordinal
(the same seed gives the same sequence, on any worker, in any run), neither fires every match;
``times`` caps how often it fires: ``times=2`` alone fails exactly the next two matches,
``every=3, times=1`` only the third.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any


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
        >>> [Rule(1, 1, Action.DROP, every=3, times=1).fires(n) for n in range(1, 7)]
        [False, False, True, False, False, False]
        """
        if self.every is not None:
            if ordinal % self.every:
                return False
            return self.times is None or ordinal // self.every <= self.times
        if self.probability is not None:
            return self._draw(ordinal, "fire") < self.probability
        return self.times is None or ordinal <= self.times

    def fired(self, matched: int) -> int:
        """How many of the first ``matched`` matches fired.

        >>> Rule(1, 1, Action.DROP, every=3).fired(10), Rule(1, 1, Action.DROP, times=2).fired(10)
        (3, 2)
        """
        if self.probability is None:
            fired = matched // self.every if self.every is not None else matched
            return fired if self.times is None else min(fired, self.times)
        return sum(1 for ordinal in range(1, min(matched, 100_000) + 1) if self.fires(ordinal))

    def delay_ms(self, ordinal: int) -> float:
        """The latency of the ``ordinal``-th firing: fixed plus a seeded jitter in [0, jitter]."""
        return self.latency_ms + (self._draw(ordinal, "jitter") * self.jitter_ms)

    def _draw(self, ordinal: int, purpose: str) -> float:
        return random.Random(f"{self.seed}:{ordinal}:{purpose}").random()  # noqa: S311


# --- a rule from input (the HTTP API's JSON members, the CLI's options) ------------------------

METHODS = ("GET", "POST", "PATCH", "DELETE")
MAX_MS = 600_000
MAX_HANG_S = 3600.0
DEFAULT_RETRY_AFTER = 1
DEFAULT_HANG_S = 30.0

MEMBERS = {  # JSON member → column
    "action": "action",
    "method": "method",
    "path": "path",
    "status": "status",
    "retryAfter": "retry_after",
    "latencyMs": "latency_ms",
    "jitterMs": "jitter_ms",
    "hangS": "hang_s",
    "dropAfterCommit": "drop_after_commit",
    "times": "times",
    "every": "every",
    "probability": "probability",
    "seed": "seed",
}
OWN_MEMBERS = {  # members that go with one action only
    "status": Action.STATUS,
    "retryAfter": Action.STATUS,
    "latencyMs": Action.LATENCY,
    "jitterMs": Action.LATENCY,
    "hangS": Action.HANG,
    "dropAfterCommit": Action.COMMIT_THEN_FAIL,
}
NEEDED = {Action.STATUS: "status", Action.LATENCY: "latencyMs"}  # what an action requires


class InputError(ValueError):
    """Bad sandbox input (a rule, a setting): the JSON member at fault, and why (one line)."""

    def __init__(self, member: str, message: str) -> None:
        super().__init__(message)
        self.member = member
        self.message = message


def checked_rule(values: Mapping[str, Any]) -> dict[str, Any]:
    """The column values of a rule from JSON-style input (``MEMBERS``), every member checked.

    >>> checked_rule({"action": "status", "status": 503, "path": "/v1/products*", "times": 1})[
    ...     "retry_after"]
    1

    Raises:
        InputError: naming the member.
    """
    for member in values:
        if member not in MEMBERS:
            raise InputError(member, f"unknown member {member!r}; known: {', '.join(MEMBERS)}")
    given = {member: value for member, value in values.items() if value is not None}
    text = given.get("action")
    choices = ", ".join(action.value for action in Action)
    if not isinstance(text, str) or not text.isascii() or text.lower() not in set(Action):
        raise InputError("action", f"action must be one of {choices}, got {text!r}")
    action = Action(text.lower())
    for member, owner in OWN_MEMBERS.items():
        if member in given and action is not owner:
            raise InputError(member, f"{member} goes with the {owner} action, not {action}")
    method = given.get("method")
    if method is not None and (
        not isinstance(method, str) or not method.isascii() or method.upper() not in METHODS
    ):
        raise InputError("method", f"method must be one of {', '.join(METHODS)}: {method!r}")
    path = given.get("path", "*")
    if not isinstance(path, str) or not (path == "*" or path.startswith("/")):
        raise InputError("path", f"path must be a glob starting with / (or *): {path!r}")
    if len(path) > 2000 or "\x00" in path:
        raise InputError("path", "path must be at most 2000 characters, without NUL")
    row: dict[str, Any] = {
        "action": action.value,
        "method": None if method is None else method.upper(),
        "path": path,
        "status": None,
        "retry_after": None,
        "latency_ms": 0,
        "jitter_ms": 0,
        "hang_s": DEFAULT_HANG_S,
        "drop_after_commit": False,
        "times": None,
        "every": None,
        "probability": None,
        "seed": _integer(given, "seed", -(2**63), 2**63 - 1) or 0,
    }
    if action is Action.STATUS:
        status = _integer(given, "status", 400, 599)
        if status is None:
            raise InputError("status", "the status action needs a status from 400 to 599")
        row["status"] = status
        retry_after = _integer(given, "retryAfter", 0, 86_400)
        if retry_after is None and status in (429, 503):
            retry_after = DEFAULT_RETRY_AFTER
        row["retry_after"] = retry_after
    elif action is Action.LATENCY:
        latency = _integer(given, "latencyMs", 1, MAX_MS)
        if latency is None:
            raise InputError("latencyMs", f"the latency action needs latencyMs (1 to {MAX_MS})")
        row["latency_ms"] = latency
        row["jitter_ms"] = _integer(given, "jitterMs", 0, MAX_MS) or 0
    elif action is Action.HANG:
        hang = given.get("hangS", DEFAULT_HANG_S)
        if (
            isinstance(hang, bool)
            or not isinstance(hang, int | float)
            or not 0 < hang <= MAX_HANG_S
        ):
            raise InputError("hangS", f"hangS must be a number of seconds in (0, {MAX_HANG_S:g}]")
        row["hang_s"] = float(hang)
    elif action is Action.COMMIT_THEN_FAIL:
        drop = given.get("dropAfterCommit", False)
        if not isinstance(drop, bool):
            raise InputError("dropAfterCommit", "dropAfterCommit must be true or false")
        row["drop_after_commit"] = drop
    if "probability" in given and ("times" in given or "every" in given):
        other = "times" if "times" in given else "every"
        raise InputError(other, f"{other} does not go with probability")
    row["times"] = _integer(given, "times", 1, 1_000_000_000)
    row["every"] = _integer(given, "every", 1, 1_000_000_000)
    if "probability" in given:
        probability = given["probability"]
        valid = isinstance(probability, int | float) and not isinstance(probability, bool)
        if not valid or not 0 < probability <= 1:
            raise InputError("probability", f"probability must be in (0, 1]: {probability!r}")
        row["probability"] = float(probability)
    return row


def _integer(values: Mapping[str, Any], member: str, low: int, high: int) -> int | None:
    value = values.get(member)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(member, f"{member} must be an integer from {low} to {high}: {value!r}")
    return value
