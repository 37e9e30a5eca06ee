"""Rate limits and the compat mode: an account's settings from input, and the 429.

A rate limit is a number of requests per second per access token, with a burst, kept per
account; ``storage.sandbox.take`` enforces it with one GCRA cell per (account, token) in the
database, so every worker sharing it counts against the same cell. The compat mode says how an
account answers input the hosted API fails on: ``strict`` (400 with a pointer, the default) or
``production`` (500, as the hosted API does: reference §3.3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from optiply.server.sandbox.rules import InputError
from optiply.server.storage.sandbox import Compat

MIN_RATE = 0.01  # one request per 100 s: slower is no limit anyone tests with
MAX_RATE = 100_000.0
MAX_BURST = 100_000
MEMBERS = {"rateLimit": "rate_limit", "burst": "burst", "compat": "compat"}
COMPAT_MODES = (Compat.STRICT, Compat.PRODUCTION)


class RateLimited(Exception):
    """A request over its account's rate limit; ``retry_after`` in whole seconds (≥ 1)."""

    def __init__(self, wait: float, limit: float) -> None:
        super().__init__(f"rate limit of {limit:g} requests per second exceeded")
        self.retry_after = max(1, math.ceil(wait))
        self.limit = limit


def checked_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of the settings given (``rateLimit``, ``burst``, ``compat``); a rate limit
    of 0 or null turns the limit off.

    >>> checked_settings({"rateLimit": 5, "burst": 10})
    {'rate_limit': 5.0, 'burst': 10}
    >>> checked_settings({"rateLimit": 0})
    {'rate_limit': None, 'burst': None}

    Raises:
        InputError: naming the member.
    """
    changes: dict[str, Any] = {}
    for member, value in values.items():
        if member not in MEMBERS:
            raise InputError(member, f"unknown member {member!r}; known: {', '.join(MEMBERS)}")
        if member == "rateLimit":
            if value is None or (_number(value) and value == 0):
                changes.update(rate_limit=None, burst=None)
            elif not _number(value) or not MIN_RATE <= value <= MAX_RATE:
                raise InputError(
                    member,
                    f"rateLimit must be a number of requests per second from {MIN_RATE:g} to "
                    f"{MAX_RATE:g}, or 0 to turn the limit off; got {value!r}",
                )
            else:
                changes["rate_limit"] = float(value)
        elif member == "burst":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BURST
            ):
                raise InputError(
                    member, f"burst must be an integer from 1 to {MAX_BURST}: {value!r}"
                )
            changes["burst"] = value
        else:
            if value not in COMPAT_MODES:
                raise InputError(member, f"compat must be strict or production, got {value!r}")
            changes["compat"] = value
    if "rate_limit" in changes and changes["rate_limit"] is None:
        if values.get("burst") is not None:
            raise InputError("burst", "a burst needs a rate limit (rateLimit above 0)")
        changes["burst"] = None
    return changes


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
