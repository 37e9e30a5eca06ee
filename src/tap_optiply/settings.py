"""The run's settings: a Singer config (and the environment) read into typed ``Settings``.

Every key is declared once, in ``config.SETTINGS``; ``resolve`` reads each by its row. Lookup
order: the key, then its aliases (``""``/``null`` count as absent); then the row's ``env``
variable; then its ``default``. No other module of the tap reads the environment.

Per-stream filters (``stream_filters``) are parsed here, before any request, with the query
parser the server uses (``optiply.query.parse``), so a typo fails the run at once with the
server's own message.

>>> settings = resolve({"access_token": "t", "stream_filters": {
...     "buyOrders": "filter[completed]=null"}}, environ={})
>>> [(f.attribute.name, f.values) for f in settings.filters["buyOrders"].filters]
[('completed', (None,))]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from optiply.client import ConfigurationError, Secret, Token
from optiply.query import ListQuery, QueryError, parse
from optiply.resources import find
from tap_optiply.config import BY_NAME
from tap_optiply.schemas import READABLE


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
    start_date: datetime | None
    max_concurrency: int
    page_size: int
    settle_seconds: float
    filters: Mapping[str, ListQuery] = field(default_factory=dict)


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _read(config: Mapping[str, Any], env: Mapping[str, str], name: str) -> Any:
    setting = BY_NAME[name]
    for key in (setting.name, *setting.aliases):
        if not _missing(config.get(key)):
            return config[key]
    if setting.env is not None and not _missing(env.get(setting.env)):
        return env[setting.env]
    return setting.default


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value).strip()


def _secret(value: Any) -> Secret | None:
    return None if _missing(value) else Secret(str(value))


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if number < 1:
        raise ConfigurationError(f"{name} must be positive")
    return number


def parse_datetime(value: Any, name: str) -> datetime | None:
    """An ISO 8601 date-time (a date alone is its midnight); naive means UTC.

    >>> parse_datetime("2024-05-01", "start_date")
    datetime.datetime(2024, 5, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if _missing(value):
        return None
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be an ISO 8601 date-time, got {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _token(read: Any) -> Token | None:
    access = read("access_token")
    if _missing(access):
        return None
    expires = read("token_expires_at")
    try:
        expires_at = None if _missing(expires) else float(expires)
    except (TypeError, ValueError):
        expires_at = None
    return Token(
        access_token=Secret(str(access)),
        refresh_token=_secret(read("refresh_token")),
        expires_at=expires_at,
    )


def stream_filters(raw: Any) -> dict[str, ListQuery]:
    """``stream_filters``: stream name -> the parsed filters (no sort, no page).

    Raises:
        ConfigurationError: An unknown stream, a parameter other than ``filter[...]``, or a
            filter the server would refuse (the server's message, naming the parameter).
    """
    if _missing(raw):
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError("stream_filters must be an object: stream name -> filters")
    parsed: dict[str, ListQuery] = {}
    for name, given in raw.items():
        spec = find(str(name))
        if spec is None or spec.type not in READABLE:
            raise ConfigurationError(
                f"stream_filters: unknown stream {name!r}; use one of {', '.join(READABLE)}"
            )
        if isinstance(given, str):
            items = parse_qsl(given.lstrip("?"), keep_blank_values=True)
        elif isinstance(given, Mapping):
            items = [
                (str(key), str(item))
                for key, value in given.items()
                for item in (value if isinstance(value, list) else [value])
            ]
        else:
            raise ConfigurationError(f"stream_filters.{name}: a query string or an object")
        for key, _ in items:
            if not key.startswith("filter["):
                raise ConfigurationError(
                    f"stream_filters.{name}: only filter[...] parameters are allowed, got {key!r}"
                )
        try:
            parsed[spec.type] = parse(items, spec)
        except QueryError as error:
            raise ConfigurationError(f"stream_filters.{name}: {error}") from None
    return parsed


def resolve(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a Singer config (and the environment, read now).

    Raises:
        ConfigurationError: No usable credentials, or a malformed value.
    """
    env = os.environ if environ is None else environ

    def read(name: str) -> Any:
        return _read(config, env, name)

    token = _token(read)
    credentials = [read(name) for name in ("client_id", "client_secret", "username", "password")]
    if token is None and any(_missing(value) for value in credentials):
        raise ConfigurationError(
            "give username, password, client_id and client_secret, or an access_token"
        )
    account = read("account_id")
    settle = read("settle_seconds")
    try:
        settle_seconds = float(settle)
    except (TypeError, ValueError):
        raise ConfigurationError(f"settle_seconds must be a number, got {settle!r}") from None
    if settle_seconds < 0:
        raise ConfigurationError("settle_seconds must be 0 or more")
    page_size = _positive_int(read("page_size"), "page_size")
    if page_size > 100:
        raise ConfigurationError("page_size is at most 100 (the API's maximum)")
    return Settings(
        base_url=str(read("optiply_base_url")),
        dashboard_url=str(read("optiply_dashboard_url")),
        client_id=_text(credentials[0]),
        client_secret=_secret(credentials[1]),
        username=_text(credentials[2]),
        password=_secret(credentials[3]),
        token=token,
        account_id=None if _missing(account) else _positive_int(account, "account_id"),
        coupling_id=_text(read("coupling_id")),
        start_date=parse_datetime(read("start_date"), "start_date"),
        max_concurrency=_positive_int(read("max_concurrency"), "max_concurrency"),
        page_size=page_size,
        settle_seconds=settle_seconds,
        filters=stream_filters(config.get("stream_filters")),
    )
