"""Who is calling: the user behind a bearer token, its scopes and the accounts it reaches."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
