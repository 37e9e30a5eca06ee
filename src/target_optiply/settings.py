"""The run's settings, resolved once from the config (all §2.1 keys and aliases) and the env.

Hosts come from the config keys ``optiply_base_url``/``optiply_dashboard_url``, else from the
environment variables of the same names (read now, at run time), else the production hosts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optiply.client import ConfigurationError, Token
from optiply.client.auth import DEFAULT_DASHBOARD_URL
from optiply.client.client import DEFAULT_BASE_URL
from optiply.client.secrets import Secret
from target_optiply.records import match_stream, stream_name

CREDENTIAL_GROUPS = ("importCredentials", "apiCredentials")
DELETE_POLICIES = ("soft", "hard")
PATCH_404_POLICIES = ("create", "fail")
# Per-type defaults (integrator-needs §2.2 step 5 and §2.5).
SOFT_DELETE: dict[str, dict[str, Any]] = {
    "products": {"status": "disabled"},
    "supplierProducts": {"status": "disabled"},
    "suppliers": {"ignored": True},
}
RECREATE_ON_PATCH_404 = frozenset({"supplierProducts"})


@dataclass(frozen=True)
class StreamOptions:
    """Per-stream switches (``stream_options.<Stream>`` in the config)."""

    send_remote_id: bool = True
    send_remote_data_synced_to_date: bool = True
    delete_mode: str = "soft"  # soft where a soft delete exists, else DELETE
    on_patch_not_found: str | None = None  # "create" or "fail"; per-type default when None
    lookup_by: str | None = None  # an attribute to find existing rows by on first runs


@dataclass(frozen=True)
class Settings:
    """Everything the run needs from the config, typed."""

    base_url: str
    dashboard_url: str
    client_id: str | None
    client_secret: Secret | None
    username: str | None
    password: Secret | None
    token: Token | None
    account_id: int | None
    coupling_id: str | None
    state_path: Path | None
    previous_state_path: Path | None
    token_file: Path | None
    dry_run: bool
    dry_run_path: Path | None
    max_record_failures: int | None
    fail_on_first_error: bool
    max_consecutive_transient_failures: int
    systemic_failure_records: int  # 0: off
    systemic_failure_share: float  # 0: off
    fail_on_unknown_stream: bool
    max_concurrency: int
    max_requests_per_second: float | None
    state_write_interval: float
    emit_state_message: bool
    snapshot_dir: Path | None
    flow: str | None
    job_id: str | None  # HotGlue's JOB_ID: logged, and kept in the state file
    output_mapped_records: bool  # OUTPUT_MAPPED_RECORD: log each record's API-bound body
    streams: Mapping[str, StreamOptions] = field(default_factory=dict)
    default_stream: StreamOptions = field(default_factory=StreamOptions)

    def stream(self, name: str) -> StreamOptions:
        """The options of stream ``name``."""
        return self.streams.get(name, self.default_stream)


def _first(config: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = config.get(key)
        if value not in (None, ""):
            return value
    for group in CREDENTIAL_GROUPS:
        nested = config.get(group)
        if isinstance(nested, Mapping):
            for key in keys:
                value = nested.get(key)
                if value not in (None, ""):
                    return value
    return None


def _secret(value: Any) -> Secret | None:
    return None if value is None else Secret(str(value))


def _int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ConfigurationError(f"{name} must be positive")
    return number


def _non_negative_int(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise ConfigurationError(f"{name} must be 0 (off) or more")
    return number


def _share(value: Any) -> float:
    try:
        share = float(0 if value in (None, "") else value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"systemic_failure_share must be a number, got {value!r}"
        ) from None
    if not 0 <= share <= 1:
        raise ConfigurationError("systemic_failure_share must be between 0 (off) and 1")
    return share


def _path(value: Any) -> Path | None:
    return None if value in (None, "") else Path(str(value))


def _token(config: Mapping[str, Any]) -> Token | None:
    access = _first(config, "access_token")
    if access is None:
        return None
    expires = _first(config, "expires_in", "token_expires_at")
    expires_at: float | None = None
    if expires is not None:
        try:
            expires_at = float(expires)
        except (TypeError, ValueError):
            expires_at = None
    refresh = _first(config, "refresh_token")
    return Token(
        access_token=Secret(str(access)),
        refresh_token=_secret(refresh),
        expires_at=expires_at,
    )


def _options(raw: Any, base: StreamOptions) -> StreamOptions:
    if not isinstance(raw, Mapping):
        return base
    values = {
        "send_remote_id": bool(raw.get("send_remote_id", base.send_remote_id)),
        "send_remote_data_synced_to_date": bool(
            raw.get("send_remote_data_synced_to_date", base.send_remote_data_synced_to_date)
        ),
        "delete_mode": str(raw.get("delete_mode", base.delete_mode)),
        "on_patch_not_found": raw.get("on_patch_not_found", base.on_patch_not_found),
        "lookup_by": raw.get("lookup_by", base.lookup_by),
    }
    if values["delete_mode"] not in DELETE_POLICIES:
        raise ConfigurationError(f"delete_mode must be one of {', '.join(DELETE_POLICIES)}")
    if values["on_patch_not_found"] not in (None, *PATCH_404_POLICIES):
        raise ConfigurationError(
            f"on_patch_not_found must be one of {', '.join(PATCH_404_POLICIES)}"
        )
    return StreamOptions(**values)


def _snapshot_dir(config: Mapping[str, Any], env: Mapping[str, str]) -> Path | None:
    """``snapshot_dir``, else ``SNAPSHOT_DIR``, else HotGlue's ``$ROOT_DIR/snapshots``."""
    explicit = config.get("snapshot_dir") or env.get("SNAPSHOT_DIR")
    if explicit:
        return Path(str(explicit))
    root = env.get("ROOT_DIR")
    return Path(root) / "snapshots" if root else None


def _flag(value: Any) -> bool:
    """A switch from the config or an environment variable (``"0"``/``"false"`` are off)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def resolve(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a Singer config (and the environment, read now).

    Raises:
        ConfigurationError: No usable credentials, or a malformed value.
    """
    env = os.environ if environ is None else environ
    base_url = str(
        config.get("optiply_base_url") or env.get("optiply_base_url") or DEFAULT_BASE_URL
    )
    dashboard_url = str(
        config.get("optiply_dashboard_url")
        or env.get("optiply_dashboard_url")
        or DEFAULT_DASHBOARD_URL
    )
    client_id = _first(config, "client_id", "clientId")
    token = _token(config)
    settings_password = _first(config, "password")
    username = _first(config, "username")
    client_secret = _first(config, "client_secret", "clientSecret")
    dry_run = bool(config.get("dry_run", False))
    has_password = None not in (client_id, client_secret, username, settings_password)
    if not dry_run and token is None and not has_password:
        raise ConfigurationError(
            "give username, password, client_id and client_secret (top level or under "
            "importCredentials/apiCredentials), or an access_token"
        )
    default_stream = _options(config, StreamOptions())
    raw_streams = config.get("stream_options") or {}
    streams: dict[str, StreamOptions] = {}
    if isinstance(raw_streams, Mapping):
        for name, raw in raw_streams.items():
            spec = match_stream(str(name))
            if spec is None:
                raise ConfigurationError(f"stream_options: unknown stream {name!r}")
            streams[stream_name(spec)] = _options(raw, default_stream)
    state_path = _path(config.get("target_state_path", "target-state.json"))
    dry_run_path = _path(config.get("dry_run_path") or config.get("record_requests_path"))
    if dry_run and dry_run_path is None:
        dry_run_path = Path("target-requests.jsonl")
    max_failures = config.get("max_record_failures")
    return Settings(
        base_url=base_url,
        dashboard_url=dashboard_url,
        client_id=None if client_id is None else str(client_id),
        client_secret=_secret(client_secret),
        username=None if username is None else str(username),
        password=_secret(settings_password),
        token=token,
        account_id=_int(_first(config, "account_id", "accountId"), "account_id"),
        coupling_id=None
        if _first(config, "coupling_id", "couplingId") is None
        else str(_first(config, "coupling_id", "couplingId")).strip(),
        state_path=state_path,
        previous_state_path=_path(config.get("previous_state_path")),
        token_file=_path(config.get("token_file")),
        dry_run=dry_run,
        dry_run_path=dry_run_path,
        max_record_failures=None if max_failures is None else int(max_failures),
        fail_on_first_error=bool(config.get("fail_on_first_error", False)),
        max_consecutive_transient_failures=int(
            config.get("max_consecutive_transient_failures") or 20
        ),
        systemic_failure_records=_non_negative_int(
            config.get("systemic_failure_records", 100), "systemic_failure_records"
        ),
        systemic_failure_share=_share(config.get("systemic_failure_share", 0.5)),
        fail_on_unknown_stream=bool(config.get("fail_on_unknown_stream", False)),
        max_concurrency=int(config.get("max_concurrency") or 8),
        max_requests_per_second=(
            float(config["max_requests_per_second"])
            if config.get("max_requests_per_second")
            else None
        ),
        state_write_interval=float(
            1.0 if config.get("state_write_interval") is None else config["state_write_interval"]
        ),
        emit_state_message=bool(config.get("emit_state_message", True)),
        snapshot_dir=_snapshot_dir(config, env),
        flow=str(config.get("flow") or env.get("FLOW") or "") or None,
        job_id=str(config.get("job_id") or env.get("JOB_ID") or "") or None,
        output_mapped_records=_flag(
            config.get("output_mapped_record", env.get("OUTPUT_MAPPED_RECORD"))
        ),
        streams=streams,
        default_stream=default_stream,
    )
