"""An account's data over the sandbox: reset, snapshot download and restore, date shift, as
schemas and paths (``http.sandbox_data`` serves them; docs/sandbox.md, "Reset, snapshots and
date shift").

Input rules as ``http.sandbox_data.reset_scope`` and ``shift_days`` enforce them; the upload
limit of ``http.sandbox_data`` is repeated here (that module imports Starlette) and compared by
the tests.
"""

from __future__ import annotations

import copy

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.resources import REGISTRY
from optiply.server.http.openapi.common import (
    INT64,
    Schema,
    json_response,
    object_schema,
    schema_ref,
)
from optiply.server.http.openapi.responses import RESPONSE_NAMES

SNAPSHOT_MEDIA_TYPE = "application/zstd"
MAX_SNAPSHOT = 1 << 30  # http.sandbox_data: bytes of an uploaded snapshot
_DATA_TYPES = [spec.type for spec in REGISTRY if spec.type != "accounts"]
_ERRORS = {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}}
_ACCOUNT_PROBLEMS = (
    "ACCOUNT_REQUIRED: the user reaches several accounts and no accountId says which",
    "INVALID_QUERY: a malformed query parameter (source.parameter names it)",
)


def _per_type(description: str, *, every: bool) -> Schema:
    counts = {name: {"type": "integer", "minimum": 0} for name in _DATA_TYPES}
    schema: Schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": counts,
    }
    if every:
        schema["required"] = list(counts)
    return schema


def data_schemas() -> dict[str, Schema]:
    """The request and answer bodies of the data endpoints (fresh objects on every call)."""
    return copy.deepcopy(_data_schemas())


def _data_schemas() -> dict[str, Schema]:
    source = object_schema(
        {
            "id": {**INT64, "minimum": 1},
            "uuid": {"type": "string"},
            "name": {"type": ["string", "null"]},
        },
        required=["id", "uuid", "name"],
    )
    return {
        "SandboxResetRequest": {
            "type": "object",
            "description": "What to delete: without members (or without a body) all the "
            "account's data; with couplingId the rows whose remoteIdMap has that key, with "
            "createdFromPublicApi: true the rows created through the API, with both the rows "
            "that are both. Rows below a deleted row go with it, as the API's DELETE cascades; "
            "a deleted row that other rows still point at is soft-deleted instead "
            "(keptAsDeleted). Unknown members are refused (400 with source.pointer).",
            "properties": {
                "couplingId": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "pattern": "\\S",
                    "description": "A remoteIdMap key: a couplingId, or publicApi for writes "
                    "without one; null: any.",
                },
                "createdFromPublicApi": {"type": "boolean", "default": False},
            },
            "additionalProperties": False,
        },
        "SandboxReset": {
            "type": "object",
            "properties": {
                "accountId": {**INT64, "minimum": 1},
                "deleted": _per_type(
                    "Rows deleted per type (rows deleted through the API before included).",
                    every=True,
                ),
                "keptAsDeleted": _per_type(
                    "Rows soft-deleted instead, per type: rows outside the reset point at them.",
                    every=False,
                ),
            },
            "required": ["accountId", "deleted", "keptAsDeleted"],
            "additionalProperties": False,
        },
        "SandboxRestore": {
            "type": "object",
            "properties": {
                "accountId": {**INT64, "minimum": 1},
                "source": source,
                "savedAt": {"type": "string", "format": "date-time"},
                "optiplyVersion": {"type": "string"},
                "rows": _per_type(
                    "Rows restored per type (of the types in the file).", every=False
                ),
            },
            "required": ["accountId", "source", "savedAt", "optiplyVersion", "rows"],
            "additionalProperties": False,
        },
        "SandboxShiftRequest": {
            "type": "object",
            "description": "days, or toToday: true (not both). Unknown members are refused "
            "(400 with source.pointer).",
            "properties": {
                "days": {
                    "type": "integer",
                    "description": "Whole days to move every date-time by (negative: back).",
                },
                "toToday": {
                    "type": "boolean",
                    "description": "Move them so the newest live sell order's placed falls on "
                    "today (UTC); 400 at /toToday for an account without sell orders.",
                },
            },
            "oneOf": [
                {"required": ["days"], "properties": {"toToday": {"const": False}}},
                {
                    "required": ["toToday"],
                    "properties": {"toToday": {"const": True}},
                    "not": {"required": ["days"]},
                },
            ],
            "additionalProperties": False,
        },
        "SandboxShift": {
            "type": "object",
            "properties": {
                "accountId": {**INT64, "minimum": 1},
                "days": {"type": "integer"},
                "rows": _per_type("Rows whose date-times moved, per type.", every=True),
            },
            "required": ["accountId", "days", "rows"],
            "additionalProperties": False,
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    *,
    scope: str,
    ok: Schema,
    problems: tuple[str, ...],
    body: Schema | None = None,
    extra: tuple[str, ...] = (),
    description: str = "",
) -> Schema:
    account = {
        "name": "accountId",
        "in": "query",
        "description": "The account: needed when the user reaches several (400 "
        "ACCOUNT_REQUIRED without it); 403 ACCOUNT_FORBIDDEN for one it cannot reach.",
        "schema": {**INT64, "minimum": 1},
    }
    codes = ["401", "403", *(["503"] if scope != "read" else []), *extra]
    responses: Schema = {
        "200": ok,
        "400": {
            "description": f"Bad input. {'; '.join([*problems, *_ACCOUNT_PROBLEMS])}.",
            "content": _ERRORS,
        },
        **{code: {"$ref": f"#/components/responses/{RESPONSE_NAMES[code]}"} for code in codes},
    }
    operation: Schema = {
        "tags": ["sandbox"],
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "security": [{"oauth2": [scope]}],
        "parameters": [account],
        "responses": dict(sorted(responses.items())),
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def data_paths() -> dict[str, Schema]:
    """``/sandbox/reset``, ``/sandbox/snapshot`` and ``/sandbox/shift-dates`` (fresh objects
    on every call: a document shares nothing with another)."""
    return copy.deepcopy(_data_paths())


def _data_paths() -> dict[str, Schema]:
    binary: Schema = {"schema": {"type": "string", "format": "binary"}}
    json_body = [
        "INVALID_VALUE: a member is unknown or wrong (source.pointer names it, such as /days)",
        "INVALID_DOCUMENT: the body is no JSON object",
    ]
    snapshot_body = {
        "required": True,
        "description": "A snapshot file, as GET /sandbox/snapshot or `optiply snapshot save` "
        f"writes it (at most {MAX_SNAPSHOT} bytes).",
        "content": {SNAPSHOT_MEDIA_TYPE: binary, "application/octet-stream": binary},
    }
    restore = _operation(
        "restoreSandboxSnapshot",
        "Replace the account's data with a snapshot",
        scope="delete",
        ok=json_response(
            "What was restored, and from where.",
            object_schema({"restored": schema_ref("SandboxRestore")}, required=["restored"]),
        ),
        problems=(
            'INVALID_DOCUMENT at source.pointer "": the file is no snapshot, of a newer format, '
            "cut short or altered, or its rows point at another account's; nothing was restored",
        ),
        body=snapshot_body,
        extra=("409", "415"),
        description="One transaction: the rows come back with their ids, uuids, timestamps "
        "and remoteIdMaps. Into another account only where those ids and uuids are free (409 "
        "CONFLICT otherwise). A bad file changes nothing.",
    )
    restore["responses"]["413"] = {
        "description": f"The snapshot is over {MAX_SNAPSHOT} bytes; nothing was restored.",
        "content": _ERRORS,
    }
    return {
        "/sandbox/reset": {
            "post": _operation(
                "resetSandboxAccount",
                "Delete the account's data, or what one coupling or the API created",
                scope="delete",
                ok=json_response(
                    "What was deleted.",
                    object_schema({"reset": schema_ref("SandboxReset")}, required=["reset"]),
                ),
                problems=tuple(json_body),
                body={
                    "required": False,
                    "description": f"As {JSON} (or {MEDIA_TYPE}); no body deletes everything.",
                    "content": {JSON: {"schema": schema_ref("SandboxResetRequest")}},
                },
                extra=("413", "415"),
                description="One transaction: the account's row, users, clients, tokens, "
                "journal and sandbox controls stay. The account's data version goes up, so no "
                "stale count or row is served.",
            ),
        },
        "/sandbox/snapshot": {
            "get": _operation(
                "downloadSandboxSnapshot",
                "The account's data as a snapshot file",
                scope="read",
                ok={
                    "description": "zstd-compressed JSON Lines: a header, a line per row, a "
                    "trailer with a SHA-256 (docs/sandbox.md); from one consistent read.",
                    "headers": {
                        "Content-Disposition": {
                            "required": True,
                            "schema": {"type": "string", "pattern": "^attachment; filename="},
                        }
                    },
                    "content": {SNAPSHOT_MEDIA_TYPE: binary},
                },
                problems=(),
            ),
            "put": restore,
        },
        "/sandbox/shift-dates": {
            "post": _operation(
                "shiftSandboxDates",
                "Move every date-time of the account's data by whole days",
                scope="write",
                ok=json_response(
                    "How far, and how many rows.",
                    object_schema({"shifted": schema_ref("SandboxShift")}, required=["shifted"]),
                ),
                problems=(
                    *json_body,
                    "INVALID_VALUE at /days or /toToday: a shift out of the years 1 to 9999, "
                    "or toToday for an account without sell orders",
                ),
                body={
                    "required": True,
                    "description": f"As {JSON} (or {MEDIA_TYPE}).",
                    "content": {JSON: {"schema": schema_ref("SandboxShiftRequest")}},
                },
                extra=("413", "415"),
                description="Every date-time attribute of every resource, and the deletion "
                "time of deleted rows, in one transaction.",
            ),
        },
    }
