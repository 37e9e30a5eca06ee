"""Server settings, read from ``OPTIPLY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./optiply.db"


class Settings(BaseSettings):
    """Everything a server process needs; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="OPTIPLY_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    access_token_ttl: int = Field(default=86400, gt=0, description="Access-token lifetime (s).")
    refresh_token_ttl: int = Field(
        default=30 * 86400, gt=0, description="Refresh-token lifetime (s)."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL for absolute links (e.g. https://api.example.com); "
        "default: taken from each request's Host header.",
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per request (method, path, query with secret values "
        "hidden, status, milliseconds) to the optiply.access logger; off adds nothing to a "
        "request.",
    )
    journal: bool = Field(
        default=True,
        description="Record every /v1 and /api/auth request in the sandbox_requests table "
        "(secrets hidden); off installs nothing.",
    )
    read_ahead: bool = Field(
        default=True,
        description="After a list page with a next link, make that next page while the "
        "process is idle, for the client's next request (never stale: keyed by the accounts' "
        "data versions); off installs nothing.",
    )
    journal_size: int = Field(
        default=10_000, gt=0, description="Journal rows kept per account (the newest)."
    )
    extensions: bool = Field(
        default=True,
        description="Offer this server's extensions (Idempotency-Key, filter[remoteId], "
        "filter[deletedAt], atomic operations; docs/extensions.md) and advertise them; off, "
        "the server behaves exactly like v1.",
    )
    idempotency_ttl: int = Field(
        default=86400, gt=0, description="How long an Idempotency-Key's answer is kept (s)."
    )
