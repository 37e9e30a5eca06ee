"""The tap's config keys, declared once: one ``Setting`` row per key.

A row gives a key's JSON-schema type, default, whether it is a secret, the keys read for it as
aliases, the environment variable read when the config lacks it, and its description. From this
table come the SDK's ``config_jsonschema`` (so ``--about`` and the README's settings table) and
``settings.resolve`` (lookup, aliases, environment, defaults). The keys of the existing
open-source tap (``client_id``, ``client_secret``, ``username``, ``password``, ``account_id``,
``access_token``, ``token_expires_at``, ``start_date``) keep their names and meaning.

A row with an ``env`` fallback has no default in the schema: the SDK fills schema defaults into
the config, which would hide the environment; ``settings.resolve`` applies it after the env.

>>> BY_NAME["client_id"].aliases, BY_NAME["optiply_base_url"].env
(('clientId',), 'optiply_base_url')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The production hosts: optiply.client's defaults too.
PRODUCTION_BASE_URL = "https://api.optiply.com/v1"
PRODUCTION_DASHBOARD_URL = "https://dashboard.optiply.nl/api"


@dataclass(frozen=True)
class Setting:
    """One config key."""

    name: str
    type: str  # JSON-schema type; "id": an integer or its text
    description: str = ""
    default: Any = None
    secret: bool = False
    aliases: tuple[str, ...] = ()  # other keys read for the same setting
    env: str | None = None  # read when the config lacks the key
    minimum: int | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("client_id", "string", "The OAuth client id.", aliases=("clientId",)),
    Setting(
        "client_secret",
        "string",
        "The OAuth client secret.",
        secret=True,
        aliases=("clientSecret",),
    ),
    Setting("username", "string", "The Optiply user."),
    Setting("password", "string", "The user's password.", secret=True),
    Setting("account_id", "id", "Sent as ?accountId= on every request.", aliases=("accountId",)),
    Setting("coupling_id", "id", "Sent as ?couplingId= on every request.", aliases=("couplingId",)),
    Setting("access_token", "string", "A token to start with.", secret=True),
    Setting("refresh_token", "string", "The token's refresh token.", secret=True),
    Setting(
        "token_expires_at",
        "number",
        "When access_token expires, in epoch seconds.",
        aliases=("expires_in",),
    ),
    Setting(
        "start_date",
        "string",
        "Incremental streams without a bookmark read rows updated at or after this "
        "date-time (ISO 8601); all rows when unset.",
    ),
    Setting(
        "optiply_base_url",
        "string",
        f"API base; else env optiply_base_url; else {PRODUCTION_BASE_URL}.",
        default=PRODUCTION_BASE_URL,
        env="optiply_base_url",
    ),
    Setting(
        "optiply_dashboard_url",
        "string",
        f"Auth base; else env optiply_dashboard_url; else {PRODUCTION_DASHBOARD_URL}.",
        default=PRODUCTION_DASHBOARD_URL,
        env="optiply_dashboard_url",
    ),
    Setting(
        "stream_filters",
        "object",
        "Per stream (e.g. buyOrders), extra filters in the API's own grammar, as a query "
        "string ('filter[completed]=null') or an object of filter parameters; checked "
        "before the first request.",
    ),
    Setting(
        "max_concurrency",
        "integer",
        "Streams read at the same time (each a page ahead of its output).",
        default=4,
        minimum=1,
    ),
    Setting(
        "page_size",
        "integer",
        "Rows per request (the API's maximum is 100).",
        default=100,
        minimum=1,
    ),
    Setting(
        "settle_seconds",
        "number",
        "Bookmarks never move past the sync's start minus this many seconds, so a write "
        "committed late (or a small clock difference) is read by the next sync; rows in "
        "that window may be emitted twice.",
        default=60,
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def _property(setting: Setting) -> dict[str, Any]:
    """One key's JSON schema, in the shape ``singer_sdk.typing`` writes."""
    if setting.type == "id":
        schema: dict[str, Any] = {"type": ["integer", "string", "null"]}
    elif setting.type == "object":
        schema = {"type": ["object", "null"], "properties": {}, "additionalProperties": True}
    else:
        schema = {"type": [setting.type, "null"]}
    if setting.default is not None and setting.env is None:
        schema["default"] = setting.default
    if setting.minimum is not None:
        schema["minimum"] = setting.minimum
    if setting.secret:
        schema["secret"] = True
        schema["writeOnly"] = True
    if setting.description:
        schema["description"] = setting.description
    return schema


def config_jsonschema() -> dict[str, Any]:
    """The tap's config schema (``Tap.config_jsonschema``), from ``SETTINGS``."""
    return {
        "type": "object",
        "properties": {s.name: _property(s) for s in SETTINGS},
        "$schema": "https://json-schema.org/draft/2020-12/schema",
    }
