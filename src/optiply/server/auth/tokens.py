"""Opaque bearer tokens: issue, refresh, authenticate and revoke.

A token is 256 random bits (``secrets.token_urlsafe(32)``) handed to the client once. The
database keeps only its sha256, so a copied ``oauth_tokens`` table grants nothing, and every
server process sees every token. Access and refresh tokens share the table, told apart by
``kind``. Nothing here logs; no error message carries any part of a token.

Every token belongs to a grant (``oauth_grants``): a password grant makes one, with an access
and a refresh token; a refresh grant adds an access token to the refresh token's grant.
Revocation is the grant's (RFC 7009 §2.1: revoking either token revokes the whole grant), and
``authenticate`` reads it with the token in the same query, so it holds at once in every
server process, also for an access token minted by a refresh grant racing the revocation.
There is no cache of tokens or principals anywhere: each request reads them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import Connection, bindparam, delete, exists, insert, select, update

from optiply.server.auth.principal import Principal, Scope
from optiply.server.storage.tables import (
    RESOURCE_TABLES,
    oauth_clients,
    oauth_grants,
    oauth_tokens,
    user_accounts,
    users,
)

accounts = RESOURCE_TABLES["accounts"]

_SCOPE_VALUES = frozenset(scope.value for scope in Scope)


class TokenKind(StrEnum):
    """What a stored token is good for."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """The answer of a successful grant; ``repr`` hides the tokens."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str

    def __repr__(self) -> str:
        return (
            f"IssuedTokens(access_token='***', refresh_token='***', "
            f"expires_in={self.expires_in}, scope={self.scope!r})"
        )


class AuthError(Exception):
    """An OAuth2 failure, Spring style: ``{"error": ..., "error_description": ...}``.

    Attributes:
        status: the HTTP status (400, 401, 403 or 429).
        error: the OAuth2 error code, e.g. ``invalid_token``.
        description: a human sentence; never contains a token or a secret.
        hint: our own plain-words explanation, sent as an extra ``hint`` member (RFC 6749
            §5.2 allows extension parameters) where Spring's sentence says little; a fixed
            text that never contains anything from the request.
    """

    def __init__(self, status: int, error: str, description: str, hint: str | None = None) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.hint = hint

    def body(self) -> dict[str, str]:
        """The JSON body Spring's OAuth2 endpoints answer with, plus ``hint`` when there is one.

        >>> AuthError(400, "invalid_grant", "Bad credentials", hint="wrong password").body()
        {'error': 'invalid_grant', 'error_description': 'Bad credentials', 'hint': 'wrong password'}
        """
        body = {"error": self.error, "error_description": self.description}
        if self.hint is not None:
            body["hint"] = self.hint
        return body

    @property
    def www_authenticate(self) -> str:
        """The ``WWW-Authenticate`` value a resource server sends with this error.

        >>> AuthError(401, "invalid_token", "Expired").www_authenticate
        'Bearer realm="oauth2-resource", error="invalid_token", error_description="Expired"'
        """
        return (
            f'Bearer realm="oauth2-resource", error="{self.error}", '
            f'error_description="{self.description}"'
        )


def format_scopes(scopes: Iterable[str]) -> str:
    """Known scopes, space-separated, in canonical order; unknown names are dropped.

    >>> format_scopes(["delete", "read", "bogus"])
    'read delete'
    """
    wanted = set(scopes)
    return " ".join(scope.value for scope in Scope if scope.value in wanted)


@lru_cache(maxsize=64)  # a handful of distinct lists; two are parsed on every request
def parse_scopes(text: str) -> frozenset[Scope]:
    """The known scopes of a space-separated list; unknown names are dropped."""
    return frozenset(Scope(name) for name in text.split() if name in _SCOPE_VALUES)


UNKNOWN_SCOPE_HINT = "unknown scope name: the scopes are read, write and delete, space-separated"
NOT_HELD_HINT = "the user holds none of the requested scopes"
WIDER_SCOPE_HINT = "a refresh grant may not ask for a scope the original grant did not give"


def requested_scopes(text: str | None) -> frozenset[Scope] | None:
    """The ``scope`` parameter of a token request (RFC 6749 §3.3); None when absent or blank.

    >>> sorted(requested_scopes("write  read"))
    [<Scope.READ: 'read'>, <Scope.WRITE: 'write'>]

    Raises:
        AuthError: 400 ``invalid_scope`` for a name that is not a scope (RFC 6749 §5.2).
    """
    names = (text or "").split()
    if not names:
        return None
    if any(name not in _SCOPE_VALUES for name in names):
        raise AuthError(400, "invalid_scope", "Invalid scope", hint=UNKNOWN_SCOPE_HINT)
    return frozenset(Scope(name) for name in names)


def granted_scopes(requested: frozenset[Scope] | None, held: frozenset[Scope]) -> str:
    """What a grant gives: the requested scopes the user holds (all it holds when none asked).

    Raises:
        AuthError: 400 ``invalid_scope`` when that leaves nothing.
    """
    granted = held if requested is None else requested & held
    if not granted:
        raise AuthError(400, "invalid_scope", "Invalid scope", hint=NOT_HELD_HINT)
    return format_scopes(granted)


def digest(token: str) -> str:
    """The stored form of a token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


_DELETE_EXPIRED = (
    delete(oauth_tokens)
    .where(
        oauth_tokens.c.user_id == bindparam("user_id"),
        oauth_tokens.c.expires_at <= bindparam("now"),
    )
    .returning(oauth_tokens.c.grant_id)
)
_INSERT_GRANT = insert(oauth_grants).returning(oauth_grants.c.id)


def issue(
    connection: Connection,
    *,
    user_id: int,
    client_pk: int,
    scopes: Iterable[str],
    access_ttl: int,
    refresh_ttl: int,
    now: datetime,
) -> IssuedTokens:
    """Store a new grant with an access and a refresh token for a user and client (Q2: always
    fresh); ``scopes`` are the grant's, and a refresh grant never gives more.

    Also deletes the user's expired tokens and the grants left without tokens, so the tables
    do not grow without bound.
    """
    scope = format_scopes(scopes)
    access_token, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expired = connection.scalars(_DELETE_EXPIRED, {"user_id": user_id, "now": now}).all()
    if expired:  # the grants those tokens leave empty
        connection.execute(
            delete(oauth_grants).where(
                oauth_grants.c.id.in_(sorted(set(expired))),
                ~exists().where(oauth_tokens.c.grant_id == oauth_grants.c.id),
            )
        )
    grant_id: int = connection.execute(
        _INSERT_GRANT,
        {"user_id": user_id, "client_pk": client_pk, "created_at": now, "revoked_at": None},
    ).scalar_one()
    connection.execute(
        insert(oauth_tokens),
        [
            _row(
                access_token, TokenKind.ACCESS, grant_id, user_id, client_pk, scope, now, access_ttl
            ),
            _row(
                refresh_token,
                TokenKind.REFRESH,
                grant_id,
                user_id,
                client_pk,
                scope,
                now,
                refresh_ttl,
            ),
        ],
    )
    return IssuedTokens(access_token, refresh_token, access_ttl, scope)


_REFRESH_LOOKUP = (
    select(
        oauth_tokens.c.grant_id,
        oauth_tokens.c.user_id,
        oauth_tokens.c.client_pk,
        oauth_tokens.c.scopes,
        oauth_tokens.c.expires_at,
        oauth_grants.c.revoked_at,
        users.c.scopes.label("user_scopes"),
        users.c.disabled_at,
    )
    .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
    .join(users, users.c.id == oauth_tokens.c.user_id)
    .where(
        oauth_tokens.c.token_hash == bindparam("token_hash"),
        oauth_tokens.c.kind == TokenKind.REFRESH.value,
    )
)


def refresh(
    connection: Connection,
    *,
    refresh_token: str,
    client_pk: int,
    access_ttl: int,
    now: datetime,
    scope: str | None = None,
) -> IssuedTokens:
    """A new access token of the refresh token's grant; the refresh token itself is kept (Q1).

    The new token's scopes are ``scope`` (default: the original grant's), narrowed to what
    the user still holds.

    Raises:
        AuthError: 400 ``invalid_grant`` for an unknown, revoked or expired refresh token, one
            issued to another client, or one of a disabled user; 400 ``invalid_scope`` for an
            unknown scope name, one beyond the original grant, or when nothing is left.
    """
    requested = requested_scopes(scope)
    row = connection.execute(_REFRESH_LOOKUP, {"token_hash": digest(refresh_token)}).one_or_none()
    if row is None or row.client_pk != client_pk or row.revoked_at is not None:
        raise AuthError(400, "invalid_grant", "Invalid refresh token")
    if row.disabled_at is not None:
        raise AuthError(400, "invalid_grant", "User is disabled", hint=DISABLED_HINT)
    if row.expires_at <= now:
        raise AuthError(400, "invalid_grant", "Refresh token expired")
    original = parse_scopes(row.scopes)
    if requested is not None and not requested <= original:
        raise AuthError(400, "invalid_scope", "Invalid scope", hint=WIDER_SCOPE_HINT)
    granted = granted_scopes(requested or original, parse_scopes(row.user_scopes))
    access_token = secrets.token_urlsafe(32)
    connection.execute(
        insert(oauth_tokens),
        [
            _row(
                access_token,
                TokenKind.ACCESS,
                row.grant_id,
                row.user_id,
                client_pk,
                granted,
                now,
                access_ttl,
            )
        ],
    )
    return IssuedTokens(access_token, refresh_token, access_ttl, granted)


DISABLED_HINT = "this user is disabled; an operator can enable it again"

# One indexed query per request: the token by primary key, its grant, its user, the user's
# accounts.
_AUTHENTICATE = (
    select(
        oauth_tokens.c.user_id,
        oauth_tokens.c.kind,
        oauth_tokens.c.scopes,
        oauth_tokens.c.expires_at,
        oauth_grants.c.revoked_at,
        users.c.scopes.label("user_scopes"),
        users.c.disabled_at,
        user_accounts.c.account_id,
        accounts.c.data_version,
        users.c.username,
        oauth_clients.c.client_id,
    )
    .select_from(
        oauth_tokens.join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
        .join(users, users.c.id == oauth_tokens.c.user_id)
        .join(oauth_clients, oauth_clients.c.id == oauth_tokens.c.client_pk)
        .outerjoin(user_accounts, user_accounts.c.user_id == oauth_tokens.c.user_id)
        .outerjoin(accounts, accounts.c.id == user_accounts.c.account_id)
    )
    .where(oauth_tokens.c.token_hash == bindparam("token_hash"))
    .order_by(user_accounts.c.account_id)
)


def authenticate(connection: Connection, authorization: str | None, *, now: datetime) -> Principal:
    """The caller behind an ``Authorization: Bearer <token>`` header (scheme case-insensitive).

    The principal's scopes are the token's, narrowed to what the user holds now; its accounts
    are the user's, ascending.

    Raises:
        AuthError: 401 ``unauthorized`` without a bearer token; 401 ``invalid_token`` for an
            unknown, revoked, expired or refresh token, or a disabled user's.
    """
    token = bearer_token(authorization)
    rows = connection.execute(_AUTHENTICATE, {"token_hash": digest(token)}).all()
    if not rows or rows[0].kind != TokenKind.ACCESS or rows[0].revoked_at is not None:
        raise AuthError(401, "invalid_token", "Invalid access token")
    first = rows[0]
    if first.disabled_at is not None:
        raise AuthError(401, "invalid_token", "Invalid access token")
    if first.expires_at <= now:
        raise AuthError(401, "invalid_token", "Access token expired")
    return Principal(
        user_id=first.user_id,
        scopes=parse_scopes(first.scopes) & parse_scopes(first.user_scopes),
        account_ids=tuple(row.account_id for row in rows if row.account_id is not None),
        account_versions=tuple(row.data_version for row in rows if row.account_id is not None),
        username=first.username,
        client_id=first.client_id,
    )


def revoke(connection: Connection, *, token: str, now: datetime | None = None) -> bool:
    """Revoke the grant of an access or refresh token: its refresh token and every access token
    issued from it, including those a refresh grant mints later; False when the token is
    unknown or its grant is revoked already."""
    grant_id = connection.scalar(
        select(oauth_tokens.c.grant_id).where(oauth_tokens.c.token_hash == digest(token))
    )
    if grant_id is None:
        return False
    result = connection.execute(
        update(oauth_grants)
        .where(oauth_grants.c.id == grant_id, oauth_grants.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return result.rowcount == 1


def revoke_grants(
    connection: Connection,
    *,
    user_id: int | None = None,
    client_pk: int | None = None,
    now: datetime | None = None,
) -> int:
    """Revoke every live grant of a user or of a client (either, not both); how many."""
    assert (user_id is None) != (client_pk is None)
    column = oauth_grants.c.user_id if user_id is not None else oauth_grants.c.client_pk
    result = connection.execute(
        update(oauth_grants)
        .where(column == (user_id if user_id is not None else client_pk))
        .where(oauth_grants.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return result.rowcount


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header (401 ``unauthorized`` without one)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(
            401, "unauthorized", "Full authentication is required to access this resource"
        )
    return token


def _row(
    token: str,
    kind: TokenKind,
    grant_id: int,
    user_id: int,
    client_pk: int,
    scope: str,
    now: datetime,
    ttl: int,
) -> dict[str, object]:
    return {
        "token_hash": digest(token),
        "kind": kind.value,
        "grant_id": grant_id,
        "user_id": user_id,
        "client_pk": client_pk,
        "scopes": scope,
        "expires_at": now + timedelta(seconds=ttl),
        "created_at": now,
    }
