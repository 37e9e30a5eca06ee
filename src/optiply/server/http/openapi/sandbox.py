"""The sandbox's paths: the request journal's endpoints, and with them the controls'
(``sandbox_controls``) and the account's data (``sandbox_data``)."""

from __future__ import annotations

import copy

from optiply.jsonapi.media import JSON
from optiply.server.http.openapi.common import INT64, Schema, json_response, object_schema
from optiply.server.http.openapi.responses import RESPONSE_NAMES
from optiply.server.http.openapi.sandbox_controls import control_paths
from optiply.server.http.openapi.sandbox_data import data_paths

_ACCOUNT: Schema = {
    "name": "accountId",
    "in": "query",
    "description": "Only this account's requests (403 when the token cannot reach it); "
    "default: every account of the token's user, and its own token requests.",
    "schema": {**INT64, "minimum": 1},
}
_JOURNAL_FILTERS: list[Schema] = [
    {
        "name": "method",
        "in": "query",
        "description": "Only requests of this HTTP method (case-insensitive).",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{1,16}$"},
    },
    {
        "name": "status",
        "in": "query",
        "description": "Only this status (503) or status class (4xx).",
        "schema": {"type": "string", "pattern": "^([1-5][xX][xX]|[1-5][0-9][0-9])$"},
    },
    {
        "name": "path",
        "in": "query",
        "description": "Only paths with this prefix, or matching this glob (* and ?).",
        "schema": {"type": "string", "pattern": "^/[^\\x00]*$", "maxLength": 2000},
    },
    {
        "name": "after",
        "in": "query",
        "description": "Only requests with a greater id (to poll for new ones).",
        "schema": {**INT64, "minimum": 0},
    },
    {
        "name": "since",
        "in": "query",
        "description": "Only requests at or after this time: ISO 8601, or an age such as 30s, "
        "5m, 2h, 1d.",
        "schema": {"type": "string"},
    },
]
_LIMIT: Schema = {
    "name": "limit",
    "in": "query",
    "description": "The newest N matching requests (default 100), listed oldest first.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
}
_BODIES: Schema = {
    "name": "bodies",
    "in": "query",
    "description": "false for summaries: each request without requestHeaders, requestBody and "
    "responseBody (GET /sandbox/requests/{id} has them).",
    "schema": {"type": "string", "enum": ["true", "false"], "default": "true"},
}


_HEAVY = ("requestHeaders", "requestBody", "responseBody")  # left out of summaries


def _journal_entry(*, whole: bool) -> Schema:
    text, flag = {"type": "string"}, {"type": "boolean"}
    nullable_text = {"type": ["string", "null"]}
    properties: Schema = {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "accountId": {"type": ["integer", "null"]},
        "accountIds": {"type": "array", "items": {"type": "integer"}},
        "method": text,
        "path": text,
        "resource": text,
        "query": {**text, "description": "As sent, secret values as ***."},
        "status": {"type": "integer"},
        "durationMs": {"type": "number"},
        "clientId": nullable_text,
        "username": nullable_text,
        "requestHeaders": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Lower-case names; Authorization and Cookie values as ***.",
        },
        "requestBody": {**text, "description": "The first 64 KiB, secrets as ***."},
        "requestTruncated": flag,
        "responseBody": {**text, "description": "The first 64 KiB, secrets as ***."},
        "responseTruncated": flag,
        "errorCode": {
            **nullable_text,
            "description": "JSON:API errors[0].code, or the OAuth error, of a 4xx or 5xx.",
        },
        "fault": {"type": ["integer", "null"], "description": "The fault rule that fired."},
    }
    required = sorted(name for name in properties if whole or name not in _HEAVY)
    return {"type": "object", "properties": properties, "required": required}


def _sandbox_get(
    operation_id: str,
    summary: str,
    parameters: list[Schema],
    ok: Schema,
    errors: tuple[str, ...] = ("400", "401", "403"),
) -> Schema:
    responses = {
        code: {"$ref": f"#/components/responses/{RESPONSE_NAMES[code]}"} for code in errors
    }
    return {
        "get": {
            "tags": ["sandbox"],
            "operationId": operation_id,
            "summary": summary,
            "security": [{"oauth2": ["read"]}],
            "parameters": copy.deepcopy(parameters),  # each document its own objects
            "responses": copy.deepcopy({"200": ok, **responses}),
        }
    }


def sandbox_paths() -> dict[str, Schema]:
    entry = _journal_entry(whole=False)
    listing = object_schema({"requests": {"type": "array", "items": entry}}, required=["requests"])
    one = object_schema({"request": _journal_entry(whole=True)}, required=["request"])
    request_id: Schema = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The request's id in the journal.",
        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    }
    form = {
        "name": "format",
        "in": "query",
        "description": "jsonl for JSON Lines (as Accept: application/x-ndjson does).",
        "schema": {"type": "string", "enum": ["json", "jsonl"]},
    }
    listed = {
        "description": "The newest matching requests, oldest first.",
        "content": {
            JSON: {"schema": listing},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
    count = object_schema({"count": {"type": "integer", "minimum": 0}}, required=["count"])
    cell = object_schema(
        {
            "resource": {"type": "string"},
            "status": {"type": "integer"},
            "count": {"type": "integer"},
        },
        required=["resource", "status", "count"],
    )
    stats = object_schema({"stats": {"type": "array", "items": cell}}, required=["stats"])
    return {
        "/sandbox/requests": _sandbox_get(
            "listJournalRequests",
            "The request journal: the newest requests, oldest first",
            [*_JOURNAL_FILTERS, _LIMIT, form, _BODIES],
            listed,
        ),
        "/sandbox/requests/{id}": _sandbox_get(
            "getJournalRequest",
            "One journal request, whole (headers and bodies)",
            [request_id, _ACCOUNT],
            json_response("The request.", one),
            ("400", "401", "403", "404"),
        ),
        "/sandbox/requests/count": _sandbox_get(
            "countJournalRequests",
            "How many journal requests match (to assert 'exactly three POSTs')",
            _JOURNAL_FILTERS,
            json_response("The number of matching requests.", count),
        ),
        "/sandbox/stats": _sandbox_get(
            "journalStats",
            "Journal requests counted per resource and status",
            _JOURNAL_FILTERS,
            json_response("Counts per resource and status, by resource then status.", stats),
        ),
        **control_paths(),
        **data_paths(),
    }
