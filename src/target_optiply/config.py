"""The target's config keys, declared once: one ``Setting`` row per key.

A row gives a key's type, default, whether it is a secret, the keys that are aliases of it
(read for it; an alias the schema documents also has a row of its own, "Alias of ..."), the
environment variable read when the config lacks it, and its description. From this table come
the SDK's ``config_jsonschema`` (``config_jsonschema()``; so ``--about`` and the README's
settings table) and ``settings.resolve`` (lookup, aliases, environment, defaults).

A row with an ``env`` fallback has no default in the schema: the SDK fills schema defaults into
the config, which would hide the environment; ``settings.resolve`` applies it after the env.

>>> BY_NAME["client_id"].aliases, BY_NAME["flow"].env, BY_NAME["max_concurrency"].default
(('clientId',), 'FLOW', 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CREDENTIAL_GROUPS = ("importCredentials", "apiCredentials")
# The production hosts: optiply.client's defaults (tests/target_optiply/test_settings.py).
PRODUCTION_BASE_URL = "https://api.optiply.com/v1"
PRODUCTION_DASHBOARD_URL = "https://dashboard.optiply.nl/api"


@dataclass(frozen=True)
class Setting:
    """One config key."""

    name: str
    type: str  # JSON-schema type: string, integer, number, boolean, object; "id": int or text
    description: str = ""
    default: Any = None
    secret: bool = False
    aliases: tuple[str, ...] = ()  # other keys for the same setting, listed after it
    env: str | None = None  # read when the config lacks the key
    nested: bool = False  # also read under importCredentials/apiCredentials
    enum: tuple[str, ...] = ()
    properties: tuple[Setting, ...] = ()  # of an object
    open: bool = False  # an object: more keys allowed


def _alias(name: str, of: Setting) -> Setting:
    """The schema's row for an alias (``of.aliases`` makes it read)."""
    return Setting(name, of.type, f"Alias of {of.name}.", secret=of.secret)


# Per stream (``stream_options.<Stream>``), and their defaults for every stream at top level.
SEND_REMOTE_ID = Setting(
    "send_remote_id",
    "boolean",
    "Send externalId as remoteId where the type has it.",
    default=True,
)
SEND_REMOTE_DATA_SYNCED_TO_DATE = Setting(
    "send_remote_data_synced_to_date",
    "boolean",
    "Send remoteDataSyncedToDate=now where the type has it.",
    default=True,
)
STREAM_SETTINGS: tuple[Setting, ...] = (
    SEND_REMOTE_ID,
    SEND_REMOTE_DATA_SYNCED_TO_DATE,
    # soft where the type has a soft delete (streams.py), else DELETE
    Setting("delete_mode", "string", default="soft", enum=("soft", "hard")),
    # None: the type's own rule (streams.py: recreate_on_404)
    Setting("on_patch_not_found", "string", enum=("create", "fail")),
    Setting("lookup_by", "string"),  # an attribute to find existing rows by on first runs
)

_USERNAME = Setting("username", "string", "The Optiply user.", nested=True)
_PASSWORD = Setting("password", "string", "The user's password.", secret=True, nested=True)
_CLIENT_ID = Setting(
    "client_id", "string", "The OAuth client id.", aliases=("clientId",), nested=True
)
_CLIENT_SECRET = Setting(
    "client_secret",
    "string",
    "The OAuth client secret.",
    secret=True,
    aliases=("clientSecret",),
    nested=True,
)
_CREDENTIALS = (
    _USERNAME,
    _PASSWORD,
    _CLIENT_ID,
    _CLIENT_SECRET,
    _alias("clientId", _CLIENT_ID),
    _alias("clientSecret", _CLIENT_SECRET),
)
_ACCOUNT_ID = Setting(
    "account_id",
    "id",
    "Sent as ?accountId= on every request.",
    aliases=("accountId",),
    nested=True,
)
_COUPLING_ID = Setting(
    "coupling_id",
    "id",
    "Sent as ?couplingId= on every request.",
    aliases=("couplingId",),
    nested=True,
)
_EXPIRES_IN = Setting(
    "expires_in",
    "number",
    "When access_token expires, in epoch seconds (HotGlue's meaning).",
    aliases=("token_expires_at",),
    nested=True,
)

SETTINGS: tuple[Setting, ...] = (
    *_CREDENTIALS,
    Setting(
        "importCredentials",
        "object",
        "HotGlue tenant-config shape: the credentials nested.",
        properties=_CREDENTIALS,
        open=True,
    ),
    Setting(
        "apiCredentials", "object", "As importCredentials.", properties=_CREDENTIALS, open=True
    ),
    _ACCOUNT_ID,
    _alias("accountId", _ACCOUNT_ID),
    _COUPLING_ID,
    _alias("couplingId", _COUPLING_ID),
    Setting("access_token", "string", "A token to start with.", secret=True, nested=True),
    Setting("refresh_token", "string", "The token's refresh token.", secret=True, nested=True),
    _EXPIRES_IN,
    _alias("token_expires_at", _EXPIRES_IN),
    Setting(
        "token_file",
        "string",
        "When set, refreshed tokens are written into this JSON file (atomically); never otherwise.",
    ),
    Setting("start_date", "string", "Accepted, unused."),
    Setting("hotglue_metadata", "object", "Accepted, unused.", open=True),
    Setting(
        "optiply_base_url",
        "string",
        "API base; else env optiply_base_url; else https://api.optiply.com/v1.",
        default=PRODUCTION_BASE_URL,
        env="optiply_base_url",
    ),
    Setting(
        "optiply_dashboard_url",
        "string",
        "Auth base; else env optiply_dashboard_url; else https://dashboard.optiply.nl/api.",
        default=PRODUCTION_DASHBOARD_URL,
        env="optiply_dashboard_url",
    ),
    Setting(
        "target_state_path",
        "string",
        "Bookmarks (the Optiply id per record) and summary. Each record goes at once to a "
        "journal beside it; the file is assembled from the journals at every batch, at the "
        "end, and every state_write_interval seconds.",
        default="target-state.json",
    ),
    Setting(
        "previous_state_path",
        "string",
        "A previous run's state: ids to reuse, unchanged records to skip. Defaults to "
        "target_state_path when that file exists.",
    ),
    Setting(
        "max_record_failures",
        "integer",
        "Stop the job (exit 1, state written) once more records than this failed.",
    ),
    Setting(
        "fail_on_first_error",
        "boolean",
        "Stop the job at the first record that fails.",
        default=False,
    ),
    Setting(
        "systemic_failure_records",
        "integer",
        "Stop the job (exit 1) when the first this-many records of a stream all failed for "
        "the same reason; 0 turns this off.",
        default=100,
    ),
    Setting(
        "systemic_failure_share",
        "number",
        "Exit 1 at the end when every record of a stream failed, or (10 records or more) more "
        "than this share of them failed for the same reason; 0 turns this off.",
        default=0.5,
    ),
    Setting(
        "max_consecutive_transient_failures",
        "integer",
        "Stop the job after this many records in a row failed on a transient error "
        "(timeouts, resets, 429/5xx after the client's retries).",
        default=20,
    ),
    Setting(
        "fail_on_unknown_stream",
        "boolean",
        "Stop the job (exit 1) on a stream that matches no Optiply resource instead of "
        "warning once and skipping it.",
        default=False,
    ),
    Setting("dry_run", "boolean", "Send nothing.", default=False),
    Setting(
        "dry_run_path",
        "string",
        "JSONL file of intended requests (dry_run); default target-requests.jsonl.",
        aliases=("record_requests_path",),  # an older name, not in the schema
    ),
    Setting(
        "max_concurrency",
        "integer",
        "Requests in flight at once (records of the same externalId stay in order; parents "
        "are written before children; 1 = one by one).",
        default=8,
    ),
    Setting(
        "max_retries",
        "integer",
        "Times a request that failed on a transient error (a timeout, a reset, 429/5xx) is "
        "sent again, with exponential backoff, before its record fails; 0 = never.",
        default=4,
    ),
    Setting(
        "bulk",
        "string",
        "Write up to 100 records per request as atomic operations: auto (when the server "
        "offers them, as this project's server does; the hosted API does not), on, off.",
        default="auto",
        enum=("auto", "on", "off"),
    ),
    Setting(
        "max_requests_per_second",
        "number",
        "Client-side limit on API requests per second (default: none).",
    ),
    Setting(
        "emit_state_message",
        "boolean",
        "Print the state document on stdout at the end.",
        default=True,
    ),
    Setting(
        "state_write_interval",
        "number",
        "Least seconds between rewrites of the state file during a batch (spaced further as "
        "the file grows).",
        default=1.0,
    ),
    Setting(
        "snapshot_dir",
        "string",
        "Else env SNAPSHOT_DIR; else $ROOT_DIR/snapshots when ROOT_DIR is set.",
        env="SNAPSHOT_DIR",
    ),
    Setting("flow", "string", "Else env FLOW.", env="FLOW"),
    Setting(
        "job_id",
        "string",
        "Else env JOB_ID: logged at start and kept in the state file as jobId.",
        env="JOB_ID",
    ),
    Setting(
        "output_mapped_record",
        "boolean",
        "Else env OUTPUT_MAPPED_RECORD: log each record's body as sent (INFO).",
        env="OUTPUT_MAPPED_RECORD",
    ),
    SEND_REMOTE_ID,
    SEND_REMOTE_DATA_SYNCED_TO_DATE,
    Setting(
        "stream_options",
        "object",
        "Per stream (e.g. SupplierProducts): send_remote_id, send_remote_data_synced_to_date, "
        "delete_mode (soft|hard), on_patch_not_found (create|fail), lookup_by (an attribute).",
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def _property(setting: Setting, *, bare: bool = False) -> dict[str, Any]:
    """One key's JSON schema, in the shape ``singer_sdk.typing`` writes (``bare``: type and
    allowed values only)."""
    if setting.type == "object":
        schema: dict[str, Any] = {"type": ["object", "null"]}
        if setting.name == "stream_options":
            schema["properties"] = {}
            schema["additionalProperties"] = {
                "type": "object",
                "properties": {s.name: _property(s, bare=True) for s in STREAM_SETTINGS},
                "additionalProperties": True,
            }
        else:
            schema["properties"] = {s.name: _property(s) for s in setting.properties}
            if setting.open:
                schema["additionalProperties"] = True
    elif setting.type == "id":
        schema = {"type": ["integer", "string", "null"]}
    else:
        schema = {"type": [setting.type, "null"]}
    if setting.enum:
        schema["enum"] = list(setting.enum)
    if bare:
        return schema
    if setting.default is not None and setting.env is None:
        schema["default"] = setting.default
    if setting.secret:
        schema["secret"] = True
        schema["writeOnly"] = True
    if setting.description:
        schema["description"] = setting.description
    return schema


def config_jsonschema() -> dict[str, Any]:
    """The target's config schema (``Target.config_jsonschema``), from ``SETTINGS``."""
    return {
        "type": "object",
        "properties": {s.name: _property(s) for s in SETTINGS},
        "$schema": "https://json-schema.org/draft/2020-12/schema",
    }
