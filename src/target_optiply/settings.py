"""The run's settings: a Singer config (and the environment) read into typed ``Settings``.

Every key is declared once, in ``config.SETTINGS``; ``resolve`` reads each by its row. Lookup
order: the key, then its aliases (``""``/``null`` count as absent), under
``importCredentials``/``apiCredentials`` too when the row is ``nested``; then the row's ``env``
variable; then its ``default``. No other module reads the environment: HotGlue's ``ROOT_DIR``
(the snapshot folder's default) and ``STREAM_TOTAL_<Stream>`` (``#n/total``) are read here.

>>> resolve({"access_token": "t", "clientId": "etl", "max_concurrency": 2}, environ={}).client_id
'etl'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optiply.client import ConfigurationError, Secret, Token
from target_optiply.config import BY_NAME, CREDENTIAL_GROUPS, STREAM_SETTINGS
from target_optiply.streams import STREAMS, match_stream


@dataclass(frozen=True)
class StreamOptions:
    """Per-stream switches (``stream_options.<Stream>``; the top level gives their defaults).

    ``on_patch_not_found`` None: the type's own rule (``streams``).
    """

    send_remote_id: bool
    send_remote_data_synced_to_date: bool
    delete_mode: str
    on_patch_not_found: str | None
    lookup_by: str | None


def _stream_defaults() -> StreamOptions:
    return StreamOptions(**{s.name: s.default for s in STREAM_SETTINGS})


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
    max_retries: int
    bulk: str  # auto, on, off: atomic batches (target_optiply.bulk)
    max_requests_per_second: float | None
    state_write_interval: float
    emit_state_message: bool
    snapshot_dir: Path | None
    flow: str | None
    job_id: str | None  # HotGlue's JOB_ID: logged, and kept in the state file
    output_mapped_records: bool  # OUTPUT_MAPPED_RECORD: log each record's API-bound body
    streams: Mapping[str, StreamOptions] = field(default_factory=dict)
    stream_totals: Mapping[str, str] = field(default_factory=dict)  # STREAM_TOTAL_<Stream>
    default_stream: StreamOptions = field(default_factory=_stream_defaults)

    def stream(self, name: str) -> StreamOptions:
        """The options of stream ``name``."""
        return self.streams.get(name, self.default_stream)


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _read(config: Mapping[str, Any], env: Mapping[str, str], name: str) -> Any:
    """The raw value of setting ``name`` (see the module's lookup order)."""
    setting = BY_NAME[name]
    keys = (setting.name, *setting.aliases)
    for key in keys:
        if not _missing(config.get(key)):
            return config[key]
    if setting.nested:
        for group in CREDENTIAL_GROUPS:
            nested = config.get(group)
            if isinstance(nested, Mapping):
                for key in keys:
                    if not _missing(nested.get(key)):
                        return nested[key]
    if setting.env is not None and not _missing(env.get(setting.env)):
        return env[setting.env]
    if setting.name in config and not setting.env:  # an explicit null or ""
        return config[setting.name]
    return setting.default


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _secret(value: Any) -> Secret | None:
    return None if _missing(value) else Secret(str(value))


def _path(value: Any) -> Path | None:
    return None if _missing(value) else Path(str(value))


def _positive_int(value: Any, name: str) -> int | None:
    if _missing(value):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ConfigurationError(f"{name} must be positive")
    return number


def _non_negative_int(value: Any, name: str) -> int:
    if _missing(value):
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
        share = float(0 if _missing(value) else value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"systemic_failure_share must be a number, got {value!r}"
        ) from None
    if not 0 <= share <= 1:
        raise ConfigurationError("systemic_failure_share must be between 0 (off) and 1")
    return share


def _choice(value: Any, name: str) -> str:
    """One of the values a setting allows (its default when absent).

    >>> _choice(None, "bulk"), _choice("OFF", "bulk")
    ('auto', 'off')
    """
    setting = BY_NAME[name]
    text = setting.default if _missing(value) else str(value).strip().lower()
    if text not in setting.enum:
        raise ConfigurationError(f"{name} must be one of {', '.join(setting.enum)}, got {value!r}")
    return str(text)


def _flag(value: Any) -> bool:
    """A switch from the config or an environment variable (``"0"``/``"false"`` are off)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _token(read: Callable[[str], Any]) -> Token | None:
    access = read("access_token")
    if _missing(access):
        return None
    expires = read("expires_in")
    expires_at: float | None = None
    if not _missing(expires):
        try:
            expires_at = float(expires)
        except (TypeError, ValueError):
            expires_at = None
    return Token(
        access_token=Secret(str(access)),
        refresh_token=_secret(read("refresh_token")),
        expires_at=expires_at,
    )


def _options(raw: Any, base: StreamOptions) -> StreamOptions:
    if not isinstance(raw, Mapping):
        return base
    values = {s.name: raw.get(s.name, getattr(base, s.name)) for s in STREAM_SETTINGS}
    for setting in STREAM_SETTINGS:
        value = values[setting.name]
        if setting.type == "boolean":
            values[setting.name] = bool(value)
        elif setting.enum:
            if setting.default is not None:
                value = values[setting.name] = str(value)
            if value not in (*setting.enum, setting.default):
                raise ConfigurationError(f"{setting.name} must be one of {', '.join(setting.enum)}")
    return StreamOptions(**values)


def _snapshot_dir(read: Callable[[str], Any], env: Mapping[str, str]) -> Path | None:
    """``snapshot_dir``, else ``SNAPSHOT_DIR``, else HotGlue's ``$ROOT_DIR/snapshots``."""
    explicit = read("snapshot_dir")
    if explicit:
        return Path(str(explicit))
    root = env.get("ROOT_DIR")
    return Path(root) / "snapshots" if root else None


def _stream_totals(env: Mapping[str, str]) -> dict[str, str]:
    """HotGlue's ``STREAM_TOTAL_<Stream>`` (or upper case): the record count of a stream, for
    the ``#n/total`` of each record's log line."""
    totals = {}
    for name in STREAMS:
        total = env.get(f"STREAM_TOTAL_{name}") or env.get(f"STREAM_TOTAL_{name.upper()}")
        if total:
            totals[name] = total
    return totals


def resolve(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a Singer config (and the environment, read now).

    Raises:
        ConfigurationError: No usable credentials, or a malformed value.
    """
    env = os.environ if environ is None else environ

    def read(name: str) -> Any:
        return _read(config, env, name)

    token = _token(read)
    dry_run = bool(read("dry_run"))
    credentials = [read(name) for name in ("client_id", "client_secret", "username", "password")]
    if not dry_run and token is None and any(_missing(value) for value in credentials):
        raise ConfigurationError(
            "give username, password, client_id and client_secret (top level or under "
            "importCredentials/apiCredentials), or an access_token"
        )
    default_stream = _options(config, _stream_defaults())
    raw_streams = config.get("stream_options") or {}
    streams: dict[str, StreamOptions] = {}
    if isinstance(raw_streams, Mapping):
        for name, raw in raw_streams.items():
            stream = match_stream(str(name))
            if stream is None:
                raise ConfigurationError(f"stream_options: unknown stream {name!r}")
            streams[stream.name] = _options(raw, default_stream)
    dry_run_path = _path(read("dry_run_path"))
    if dry_run and dry_run_path is None:
        dry_run_path = Path("target-requests.jsonl")
    max_failures = read("max_record_failures")
    coupling_id = read("coupling_id")
    rate = read("max_requests_per_second")
    interval = read("state_write_interval")
    return Settings(
        base_url=str(read("optiply_base_url")),
        dashboard_url=str(read("optiply_dashboard_url")),
        client_id=_text(credentials[0]),
        client_secret=_secret(credentials[1]),
        username=_text(credentials[2]),
        password=_secret(credentials[3]),
        token=token,
        account_id=_positive_int(read("account_id"), "account_id"),
        coupling_id=None if _missing(coupling_id) else str(coupling_id).strip(),
        state_path=_path(read("target_state_path")),
        previous_state_path=_path(read("previous_state_path")),
        token_file=_path(read("token_file")),
        dry_run=dry_run,
        dry_run_path=dry_run_path,
        max_record_failures=None if max_failures is None else int(max_failures),
        fail_on_first_error=bool(read("fail_on_first_error")),
        max_consecutive_transient_failures=int(
            read("max_consecutive_transient_failures")
            or _default("max_consecutive_transient_failures")
        ),
        systemic_failure_records=_non_negative_int(
            read("systemic_failure_records"), "systemic_failure_records"
        ),
        systemic_failure_share=_share(read("systemic_failure_share")),
        fail_on_unknown_stream=bool(read("fail_on_unknown_stream")),
        max_concurrency=int(read("max_concurrency") or _default("max_concurrency")),
        max_retries=_non_negative_int(
            _default("max_retries") if _missing(read("max_retries")) else read("max_retries"),
            "max_retries",
        ),
        bulk=_choice(read("bulk"), "bulk"),
        max_requests_per_second=float(rate) if rate else None,
        state_write_interval=float(
            _default("state_write_interval") if interval is None else interval
        ),
        emit_state_message=bool(read("emit_state_message")),
        snapshot_dir=_snapshot_dir(read, env),
        flow=_text(read("flow")),
        job_id=_text(read("job_id")),
        output_mapped_records=_flag(read("output_mapped_record")),
        streams=streams,
        stream_totals=_stream_totals(env),
        default_stream=default_stream,
    )


def _default(name: str) -> Any:
    return BY_NAME[name].default
