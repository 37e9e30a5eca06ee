"""The shared error responses (``components.responses``) and the names they go by."""

from __future__ import annotations

from optiply.jsonapi.media import JSON, MEDIA_TYPE
from optiply.server.http.openapi.common import Schema, schema_ref

RESPONSE_NAMES = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "405": "MethodNotAllowed",
    "409": "Conflict",
    "413": "PayloadTooLarge",
    "415": "UnsupportedMediaType",
    "429": "TooManyRequests",
    "503": "ServiceUnavailable",
}


def error_responses() -> dict[str, Schema]:
    errors = {MEDIA_TYPE: {"schema": schema_ref("ErrorDocument")}}
    oauth = {JSON: {"schema": schema_ref("OAuthError")}}
    text = {"schema": {"type": "string"}}
    return {
        "BadRequest": {"description": "Invalid body, value or query parameter.", "content": errors},
        "Unauthorized": {
            "description": "Missing, invalid or expired access token (OAuth2 body).",
            "headers": {"WWW-Authenticate": {**text, "required": True}},
            "content": oauth,
        },
        "Forbidden": {
            "description": "The token lacks the scope (OAuth2 body, insufficient_scope) or "
            "cannot reach the account (JSON:API body, ACCOUNT_FORBIDDEN).",
            "content": {**oauth, **errors},
        },
        "NotFound": {"description": "Unknown or deleted id (or referenced id).", "content": errors},
        "MethodNotAllowed": {
            "description": "The method is not supported on this path.",
            "headers": {"Allow": text},
            "content": errors,
        },
        "Conflict": {"description": "The unique pair already exists.", "content": errors},
        "PayloadTooLarge": {"description": "The body is over 16 MiB.", "content": errors},
        "UnsupportedMediaType": {
            "description": f"The body is sent neither as {MEDIA_TYPE} nor as {JSON}.",
            "content": errors,
        },
        "TooManyRequests": {
            "description": "Over the account's sandbox rate limit (RATE_LIMITED, per access "
            "token: /sandbox/settings); nothing was done: send the request again after "
            "Retry-After seconds. A sandbox fault rule of status 429 answers so too "
            "(SANDBOX_FAULT).",
            "headers": {"Retry-After": _retry_after()},
            "content": errors,
        },
        "ServiceUnavailable": {
            "description": "The database is busy (a lock timeout, deadlock or serialization "
            "failure); nothing was written: send the request again after Retry-After seconds. "
            "A sandbox fault rule of status 503 answers so too (SANDBOX_FAULT).",
            "headers": {"Retry-After": _retry_after()},
            "content": errors,
        },
    }


def _retry_after() -> Schema:
    return {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
