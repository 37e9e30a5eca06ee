"""The sandbox's controls: an account's fault rules and settings, and what the sandbox page
shows (a timeline, row counts), as schemas and paths.

Input rules as ``sandbox.limits.checked_settings`` enforces them; the tests hold the schemas to
that function. The bounds of ``sandbox.limits`` and ``http.sandbox`` are repeated here (they
import SQLAlchemy and Starlette) and compared by the tests.
"""

from __future__ import annotations

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.resources import REGISTRY
from optiply.server.http.openapi.common import (
    INT64,
    Schema,
    json_response,
    object_schema,
    schema_ref,
)
from optiply.server.http.openapi.patterns import RENDERED_DATETIME
from optiply.server.http.openapi.responses import RESPONSE_NAMES
from optiply.server.http.openapi.sandbox_data import data_schemas
from optiply.server.http.openapi.sandbox_faults import RULE_NOTE, fault_rule, rule_request

_MIN_RATE = 0.01  # sandbox.limits: requests per second
_MAX_RATE = 100_000  # sandbox.limits: requests per second
_MAX_BURST = 100_000
_COMPAT_MODES = ("strict", "production")
_MAX_MINUTES = 24 * 60  # http.sandbox: the timeline's span
_MAX_STEP = 3600


def _settings() -> Schema:
    properties: Schema = {
        "accountId": {**INT64, "minimum": 1},
        "rateLimit": {
            "type": ["number", "null"],
            "minimum": _MIN_RATE,
            "maximum": _MAX_RATE,
            "description": "Requests per second per access token; null: no limit.",
        },
        "burst": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": _MAX_BURST,
            "description": "Requests allowed at once: as set, or the rate rounded up; null "
            "exactly when there is no limit.",
        },
        "compat": {
            "type": "string",
            "enum": list(_COMPAT_MODES),
            "description": "strict: input the hosted API fails on answers 400 with a pointer; "
            "production: it answers 500, as the hosted API does.",
        },
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _settings_request() -> Schema:
    return {
        "type": "object",
        "description": "The settings to change; those left out stay as they are. A rate limit "
        "is kept per account and access token (GCRA, shared by every worker); over it, a /v1 "
        "request answers 429 RATE_LIMITED with Retry-After. Unknown members are refused (400 "
        "with `source.pointer` at the member).",
        "properties": {
            "rateLimit": {
                "type": ["number", "null"],
                "anyOf": [
                    {"type": "null"},
                    {"const": 0},
                    {"type": "number", "minimum": _MIN_RATE, "maximum": _MAX_RATE},
                ],
                "description": f"Requests per second per access token, from {_MIN_RATE} to "
                f"{_MAX_RATE}; 0 or null turns the limit off (and the burst with it).",
            },
            "burst": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": _MAX_BURST,
                "description": "Requests allowed at once (default: the rate rounded up). Null "
                "when the limit is turned off in the same body; a burst for an account left "
                "without a limit is refused (400 at /burst).",
            },
            "compat": {"type": "string", "enum": list(_COMPAT_MODES)},
        },
        "additionalProperties": False,
        "if": {"properties": {"rateLimit": {"enum": [0, None]}}, "required": ["rateLimit"]},
        "then": {"properties": {"burst": {"type": "null"}}},
    }


def sandbox_schemas() -> dict[str, Schema]:
    return {
        "FaultRuleRequest": rule_request(),
        "FaultRule": fault_rule(),
        "SandboxSettingsRequest": _settings_request(),
        "SandboxSettings": _settings(),
        **data_schemas(),
    }


_CONTROL_PROBLEMS = [
    "ACCOUNT_REQUIRED: the user reaches several accounts and no accountId says which",
    "INVALID_QUERY: a malformed query parameter (source.parameter names it)",
]
_BODY_PROBLEMS = [
    "INVALID_VALUE: a member is unknown or wrong (source.pointer names it, such as /status)",
    "INVALID_DOCUMENT: the body is no JSON object",
]


def _control(
    operation_id: str,
    summary: str,
    *,
    scope: str,
    responses: Schema,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    problems: tuple[str, ...] = (),
    description: str = "",
) -> Schema:
    """An operation on one account's sandbox controls (or what the sandbox page shows)."""
    account = {
        "name": "accountId",
        "in": "query",
        "description": "The account: needed when the user reaches several (400 "
        "ACCOUNT_REQUIRED without it); 403 ACCOUNT_FORBIDDEN for one it cannot reach.",
        "schema": {**INT64, "minimum": 1},
    }
    errors = {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}}
    bad_request = "; ".join([*problems, *(_BODY_PROBLEMS if body else []), *_CONTROL_PROBLEMS])
    if body is not None:  # 413 and 415 too: the body is read before the token
        bad_request += ". The body is read before the token: a bad one answers so even without"
    codes = ["401", "403", *(["413", "415"] if body is not None else [])]
    codes += ["503"] if scope == "write" else []  # a busy database
    operation: Schema = {
        "tags": ["sandbox"],
        "operationId": operation_id,
        "summary": summary,
        "security": [{"oauth2": [scope]}],
        "parameters": [*(parameters or []), account],
        "responses": {
            **responses,
            "400": {"description": f"Bad input. {bad_request}.", "content": errors},
            **{code: {"$ref": f"#/components/responses/{RESPONSE_NAMES[code]}"} for code in codes},
        },
    }
    if description:
        operation["description"] = description
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "description": f"As {JSON} (or {MEDIA_TYPE}).",
            "content": {JSON: {"schema": schema_ref(body)}},
        }
    return operation


def control_paths() -> dict[str, Schema]:
    rule = object_schema({"fault": schema_ref("FaultRule")}, required=["fault"])
    rules = object_schema(
        {"faults": {"type": "array", "items": schema_ref("FaultRule")}}, required=["faults"]
    )
    cleared = object_schema({"cleared": {"type": "integer", "minimum": 0}}, required=["cleared"])
    settings = object_schema({"settings": schema_ref("SandboxSettings")}, required=["settings"])
    counts = {name: {"type": "integer", "minimum": 0} for name in ("2xx", "3xx", "4xx", "5xx")}
    counts["other"] = {
        "type": "integer",
        "minimum": 0,
        "description": "Requests with no answer (a dropped connection: status 0) or a 1xx.",
    }
    bucket = object_schema(
        {
            "at": {"type": "string", "format": "date-time", "pattern": RENDERED_DATETIME},
            **counts,
        },
        required=["at", *counts],
    )
    timeline = object_schema(
        {
            "step": {"type": "integer", "minimum": 1, "maximum": _MAX_STEP},
            "buckets": {"type": "array", "items": bucket},
        },
        required=["step", "buckets"],
    )
    types = [spec.type for spec in REGISTRY]
    rows = object_schema(
        {
            "rows": {
                "type": "object",
                "properties": {name: {"type": "integer", "minimum": 0} for name in types},
                "required": types,
                "additionalProperties": False,
            }
        },
        required=["rows"],
    )

    def bounded(name: str, high: int, default: int, description: str) -> Schema:
        schema = {"type": "integer", "minimum": 1, "maximum": high, "default": default}
        return {"name": name, "in": "query", "description": description, "schema": schema}

    rule_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "A rule id (at most 18 digits); anything else answers 400 INVALID_ID, "
        "an id that is no rule of the account 404.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
    }
    return {
        "/sandbox/faults": {
            "get": _control(
                "listFaultRules",
                "An account's fault rules, oldest first, with their counts",
                scope="read",
                responses={"200": json_response("The account's rules.", rules)},
            ),
            "post": _control(
                "addFaultRule",
                "Add a fault rule to an account",
                scope="write",
                body="FaultRuleRequest",
                responses={"201": json_response("The rule, as stored.", rule)},
                description=RULE_NOTE,
            ),
            "delete": _control(
                "clearFaultRules",
                "Delete every fault rule of an account",
                scope="write",
                responses={"200": json_response("How many rules were deleted.", cleared)},
            ),
        },
        "/sandbox/faults/{id}": {
            "delete": _control(
                "deleteFaultRule",
                "Delete one fault rule of an account",
                scope="write",
                parameters=[rule_id],
                responses={
                    "204": {"description": "Deleted: it stops at once."},
                    "404": {
                        "description": "No such rule in the account (NOT_FOUND).",
                        "content": {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}},
                    },
                },
                problems=("INVALID_ID: the id is not a number of at most 18 digits",),
            ),
        },
        "/sandbox/settings": {
            "get": _control(
                "getSandboxSettings",
                "An account's sandbox settings: rate limit and compat mode",
                scope="read",
                responses={"200": json_response("The account's settings.", settings)},
            ),
            "patch": _control(
                "updateSandboxSettings",
                "Change some of an account's sandbox settings",
                scope="write",
                body="SandboxSettingsRequest",
                responses={
                    "200": json_response("The account's settings after the change.", settings)
                },
            ),
        },
        "/sandbox/timeline": {
            "get": _control(
                "sandboxTimeline",
                "An account's journal counted per step and status class",
                scope="read",
                parameters=[
                    bounded("minutes", _MAX_MINUTES, 15, "How far back, in minutes."),
                    bounded(
                        "step",
                        _MAX_STEP,
                        10,
                        "The width of a bucket, in seconds; at most 1440 buckets "
                        "(minutes × 60 / step), else 400.",
                    ),
                ],
                responses={
                    "200": json_response(
                        "Buckets oldest first, from `minutes` ago (floored to a step) to now, "
                        "every step present (empty ones with zeros).",
                        timeline,
                    )
                },
            ),
        },
        "/sandbox/rows": {
            "get": _control(
                "sandboxRows",
                "Live (not deleted) rows per resource type in an account",
                scope="read",
                responses={"200": json_response("Row counts per resource type.", rows)},
            ),
        },
    }
