"""The sandbox's fault rules: a rule as input (one branch per action) and as stored.

Input rules as ``sandbox.rules.checked_rule`` enforces them; tests/server/http/test_openapi.py
(at every bound) and tests/server/sandbox/test_faults_fuzz.py (Hypothesis, and the live server)
hold the schemas to that function.
"""

from __future__ import annotations

import copy

from optiply.server.http.openapi.common import INT64, Schema, allow_null
from optiply.server.http.openapi.patterns import RENDERED_DATETIME, anchored, any_case
from optiply.server.sandbox.rules import (
    DEFAULT_HANG_S,
    DEFAULT_RETRY_AFTER,
    MAX_HANG_S,
    MAX_MS,
    METHODS,
    NEEDED,
    OWN_MEMBERS,
    Action,
)

_MAX_TIMES = 1_000_000_000  # times and every
_MAX_RETRY_AFTER = 86_400
_MAX_PATH = 2000

_ACTIONS = {
    Action.STATUS: "Answers `status` (400 to 599) with a JSON:API error document (code "
    "SANDBOX_FAULT) instead of handling the request: nothing is written. `Retry-After` carries "
    f"`retryAfter` seconds when set, and always on 429 and 503 (default {DEFAULT_RETRY_AFTER}).",
    Action.LATENCY: "Handles the request, then holds its answer `latencyMs` milliseconds plus a "
    "seeded jitter from 0 to `jitterMs`, and sends it unchanged.",
    Action.HANG: "Holds the request unanswered and unhandled until the client gives up or "
    f"`hangS` seconds pass (default {DEFAULT_HANG_S:g}), then closes the connection without an "
    "answer: nothing is written.",
    Action.DROP: "Closes the connection without an answer: nothing is handled or written.",
    Action.BROKEN: "Sends a 200 status line promising a 4096-byte JSON:API body, the first bytes "
    "of it, then closes the connection: nothing is handled or written.",
    Action.COMMIT_THEN_FAIL: "Handles the request and commits what it writes, then answers 500 "
    "INTERNAL_ERROR, or with `dropAfterCommit` closes the connection without an answer: the "
    "ambiguous failure, where a retry may write twice.",
    Action.EXPIRED_TOKEN: "Answers 401 `invalid_token` (Access token expired, with "
    "`WWW-Authenticate`), as a real expiry does: nothing is handled.",
}
RULE_NOTE = """\
A fault rule of the account: what to do (`action`) to which of its `/v1` requests (`method`, a \
`path` glob) and how often. Every authenticated request a rule matches counts as a match, in the \
database, so the n-th match is the n-th across every worker; whether a match fires depends on \
its ordinal only: `every` fires every n-th match, `times` fires at most n times (with `every`: \
the first n of those), `probability` a draw seeded by `seed` and the ordinal (the same seed gives \
the same sequence in any run), none of them every match. When several rules match, each counts, \
and the oldest that fires decides. Rules act on `/v1` only (not on `/sandbox`, the token \
endpoint or `/health`), after the account's rate limit, and apply on every worker within a \
second. Under a server other than uvicorn, the actions that close the connection answer 500 \
instead.\
"""
_RULE_INPUT_NOTE = """\
A member left out or null takes its default; one that belongs to another action is refused \
unless null, as are unknown members (400 with `source.pointer` at the member). Integers must be \
JSON integers (5.0 is refused). `probability` goes with neither `times` nor `every`.\
"""


def _rule_input_members() -> dict[str, Schema]:
    """The members of a rule as input, each given (not null); ``action`` is per branch."""

    def integer(low: int, high: int, description: str) -> Schema:
        return {"type": "integer", "minimum": low, "maximum": high, "description": description}

    return {
        "method": {
            "type": "string",
            "pattern": anchored(any_case(list(METHODS))),
            "description": f"Only requests of this method ({', '.join(METHODS)}, any case); "
            "by default any method.",
        },
        "path": {
            "anyOf": [
                {"const": "*"},
                {"type": "string", "pattern": r"^/[^\x00]*$", "maxLength": _MAX_PATH},
            ],
            "default": "*",
            "description": "A glob (`*`, `?`, `[...]`, case-sensitive) the request path must "
            f"match whole, such as `/v1/products*`; `*` matches every path. At most {_MAX_PATH} "
            "characters, no NUL.",
        },
        "status": integer(400, 599, "The status to answer."),
        "retryAfter": integer(
            0,
            _MAX_RETRY_AFTER,
            "Seconds for `Retry-After`; default "
            f"{DEFAULT_RETRY_AFTER} on 429 and 503, none on other statuses.",
        ),
        "latencyMs": integer(1, MAX_MS, "The fixed delay, in milliseconds."),
        "jitterMs": {
            **integer(0, MAX_MS, "At most this much more, seeded per match (default 0)."),
            "default": 0,
        },
        "hangS": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_HANG_S,
            "default": DEFAULT_HANG_S,
            "description": "Seconds to hold the request before closing the connection.",
        },
        "dropAfterCommit": {
            "type": "boolean",
            "default": False,
            "description": "Close the connection after the commit instead of answering 500.",
        },
        "times": integer(1, _MAX_TIMES, "Fire at most this many times."),
        "every": integer(1, _MAX_TIMES, "Fire on every n-th match only."),
        "probability": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Fire on a match with this probability, drawn from `seed` and the "
            "match's ordinal.",
        },
        "seed": {**INT64, "default": 0, "description": "Seeds `probability` and the jitter."},
    }


def _or_null(schema: Schema) -> Schema:
    schema = copy.deepcopy(schema)
    if "type" in schema:
        allow_null(schema)
    else:
        schema["anyOf"].append({"type": "null"})
    return schema


def _rule_branch(action: Action, members: dict[str, Schema]) -> Schema:
    needed = NEEDED.get(action)
    properties: Schema = {
        "action": {
            "type": "string",
            "pattern": anchored(any_case([action.value])),
            "description": f"`{action.value}` (any case): {_ACTIONS[action]}",
        }
    }
    for name, schema in members.items():
        owner = OWN_MEMBERS.get(name, action)
        if owner is not action:
            properties[name] = {
                "type": "null",
                "description": f"Goes with the {owner.value} action: only null here.",
            }
        else:
            properties[name] = copy.deepcopy(schema) if name == needed else _or_null(schema)
    return {
        "title": action.value,
        "type": "object",
        "properties": properties,
        "required": ["action"] if needed is None else ["action", needed],
        "additionalProperties": False,
    }


def rule_request() -> Schema:
    members = _rule_input_members()
    return {
        "type": "object",
        "description": f"{RULE_NOTE}\n\n{_RULE_INPUT_NOTE}",
        "oneOf": [_rule_branch(action, members) for action in Action],
        "not": {
            "anyOf": [
                {
                    "required": ["probability", other],
                    "properties": {"probability": _given(), other: _given()},
                }
                for other in ("times", "every")
            ]
        },
    }


def _given() -> Schema:
    return {"not": {"type": "null"}}


def fault_rule() -> Schema:
    nullable_count = {"type": ["integer", "null"], "minimum": 1, "maximum": _MAX_TIMES}
    positive = {**INT64, "minimum": 1}
    counter = {"type": "integer", "minimum": 0}
    properties: Schema = {
        "id": {**positive, "description": "The rule's id: DELETE /sandbox/faults/{id}."},
        "accountId": positive,
        "action": {"type": "string", "enum": [action.value for action in Action]},
        "method": {"type": ["string", "null"], "enum": [*METHODS, None]},
        "path": {"type": "string", "maxLength": _MAX_PATH},
        "status": {"type": ["integer", "null"], "minimum": 400, "maximum": 599},
        "retryAfter": {"type": ["integer", "null"], "minimum": 0, "maximum": _MAX_RETRY_AFTER},
        "latencyMs": {"type": "integer", "minimum": 0, "maximum": MAX_MS},
        "jitterMs": {"type": "integer", "minimum": 0, "maximum": MAX_MS},
        "hangS": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_HANG_S},
        "dropAfterCommit": {"type": "boolean"},
        "times": nullable_count,
        "every": copy.deepcopy(nullable_count),
        "probability": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
        "seed": dict(INT64),
        "matched": {**counter, "description": "How many requests matched, across workers."},
        "fired": {
            **counter,
            "description": "How many of the matches fired (with a probability: among the "
            "first 100,000).",
        },
        "createdAt": {"type": "string", "format": "date-time", "pattern": RENDERED_DATETIME},
    }
    return {
        "type": "object",
        "description": "A fault rule as stored, with its counts: every member, defaults "
        "filled in (the members of other actions: status and retryAfter null, latencyMs and "
        f"jitterMs 0, hangS {DEFAULT_HANG_S:g}, dropAfterCommit false).",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
