"""Who is calling: the user behind a bearer token, its scopes and the accounts it reaches.

Also the OAuth2 vocabulary the rest of the server (and the OpenAPI document) shares: the scopes,
which methods need which, and where tokens are issued. No framework imports: the OpenAPI
module stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

TOKEN_PATH = "/api/auth/oauth/token"  # noqa: S105 - a URL path
"""Where the token endpoint is mounted (the "dashboard URL" is the server's ``/api``)."""


class Scope(StrEnum):
    """OAuth2 scopes (Q3): GET needs read, POST/PATCH write, DELETE delete."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"


ALL_SCOPES = frozenset(Scope)

METHOD_SCOPES = {
    "GET": Scope.READ,
    "HEAD": Scope.READ,
    "POST": Scope.WRITE,
    "PATCH": Scope.WRITE,
    "DELETE": Scope.DELETE,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    scopes: frozenset[Scope]
    account_ids: tuple[int, ...]  # ascending
    account_versions: tuple[int, ...] = ()  # each account's data_version, as account_ids
    username: str | None = None  # for the request journal; never a secret
    client_id: str | None = None  # the OAuth client the token was issued through
