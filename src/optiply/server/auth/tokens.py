"""Opaque bearer tokens: issue, refresh, authenticate and revoke.

A token is 256 random bits (``secrets.token_urlsafe(32)``) handed to the client once. The
database keeps only its sha256, so a copied ``oauth_tokens`` table grants nothing, and every
server process sees every token. Access and refresh tokens share the table, told apart by
``kind``. Nothing here logs; no error message carries any part of a token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from optiply.server.auth.principal import Principal, Scope
from optiply.server.storage.tables import RESOURCE_TABLES, oauth_tokens, user_accounts, users

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
        status: the HTTP status (400, 401 or 403).
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


def parse_scopes(text: str) -> frozenset[Scope]:
    """The known scopes of a space-separated list; unknown names are dropped."""
    return frozenset(Scope(name) for name in text.split() if name in _SCOPE_VALUES)


def digest(token: str) -> str:
    """The stored form of a token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


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
    """Store a new access and refresh token pair for a user and client (Q2: always fresh).

    Also deletes the user's expired tokens, so the table does not grow without bound.
    """
    scope = format_scopes(scopes)
    access_token, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    connection.execute(
        delete(oauth_tokens).where(
            oauth_tokens.c.user_id == user_id, oauth_tokens.c.expires_at <= now
        )
    )
    connection.execute(
        insert(oauth_tokens),
        [
            _row(access_token, TokenKind.ACCESS, user_id, client_pk, scope, now, access_ttl),
            _row(refresh_token, TokenKind.REFRESH, user_id, client_pk, scope, now, refresh_ttl),
        ],
    )
    return IssuedTokens(access_token, refresh_token, access_ttl, scope)


_REFRESH_LOOKUP = (
    select(
        oauth_tokens.c.user_id,
        oauth_tokens.c.client_pk,
        oauth_tokens.c.scopes,
        oauth_tokens.c.expires_at,
        oauth_tokens.c.revoked_at,
        users.c.scopes.label("user_scopes"),
    )
    .join(users, users.c.id == oauth_tokens.c.user_id)
    .where(
        oauth_tokens.c.token_hash == bindparam("token_hash"),
        oauth_tokens.c.kind == TokenKind.REFRESH.value,
    )
)


def refresh(
    connection: Connection, *, refresh_token: str, client_pk: int, access_ttl: int, now: datetime
) -> IssuedTokens:
    """A new access token for a refresh token; the refresh token itself is kept (Q1).

    The new token's scopes are the refresh token's, narrowed to what the user still holds.

    Raises:
        AuthError: 400 ``invalid_grant`` for an unknown, revoked or expired refresh token, or
            one issued to another client.
    """
    row = connection.execute(_REFRESH_LOOKUP, {"token_hash": digest(refresh_token)}).one_or_none()
    if row is None or row.client_pk != client_pk or row.revoked_at is not None:
        raise AuthError(400, "invalid_grant", "Invalid refresh token")
    if row.expires_at <= now:
        raise AuthError(400, "invalid_grant", "Refresh token expired")
    scope = format_scopes(parse_scopes(row.scopes) & parse_scopes(row.user_scopes))
    access_token = secrets.token_urlsafe(32)
    connection.execute(
        insert(oauth_tokens),
        [_row(access_token, TokenKind.ACCESS, row.user_id, client_pk, scope, now, access_ttl)],
    )
    return IssuedTokens(access_token, refresh_token, access_ttl, scope)


# One indexed query per request: the token by primary key, its user, the user's accounts.
_AUTHENTICATE = (
    select(
        oauth_tokens.c.user_id,
        oauth_tokens.c.kind,
        oauth_tokens.c.scopes,
        oauth_tokens.c.expires_at,
        oauth_tokens.c.revoked_at,
        users.c.scopes.label("user_scopes"),
        user_accounts.c.account_id,
        accounts.c.data_version,
    )
    .select_from(
        oauth_tokens.join(users, users.c.id == oauth_tokens.c.user_id)
        .outerjoin(user_accounts, user_accounts.c.user_id == oauth_tokens.c.user_id)
        .outerjoin(accounts, accounts.c.id == user_accounts.c.account_id)
    )
    .where(oauth_tokens.c.token_hash == bindparam("token_hash"))
    .order_by(user_accounts.c.account_id)
)


def authenticate(connection: Connection, authorization: str | None, *, now: datetime) -> Principal:
    """The caller behind an ``Authorization: Bearer <token>`` header (scheme case-insensitive).

    The principal's scopes are the token's, narrowed to what the user still holds; its
    accounts are the user's, ascending.

    Raises:
        AuthError: 401 ``unauthorized`` without a bearer token; 401 ``invalid_token`` for an
            unknown, revoked, expired or refresh token.
    """
    token = _bearer_token(authorization)
    rows = connection.execute(_AUTHENTICATE, {"token_hash": digest(token)}).all()
    if not rows or rows[0].kind != TokenKind.ACCESS or rows[0].revoked_at is not None:
        raise AuthError(401, "invalid_token", "Invalid access token")
    first = rows[0]
    if first.expires_at <= now:
        raise AuthError(401, "invalid_token", "Access token expired")
    return Principal(
        user_id=first.user_id,
        scopes=parse_scopes(first.scopes) & parse_scopes(first.user_scopes),
        account_ids=tuple(row.account_id for row in rows if row.account_id is not None),
        account_versions=tuple(row.data_version for row in rows if row.account_id is not None),
    )


def revoke(connection: Connection, *, token: str, now: datetime | None = None) -> bool:
    """Revoke an access or refresh token; False when it is unknown or already revoked.

    Access tokens issued from a revoked refresh token stay valid until they expire.
    """
    result = connection.execute(
        update(oauth_tokens)
        .where(oauth_tokens.c.token_hash == digest(token), oauth_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return result.rowcount == 1


def _bearer_token(authorization: str | None) -> str:
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
    user_id: int,
    client_pk: int,
    scope: str,
    now: datetime,
    ttl: int,
) -> dict[str, object]:
    return {
        "token_hash": digest(token),
        "kind": kind.value,
        "user_id": user_id,
        "client_pk": client_pk,
        "scopes": scope,
        "expires_at": now + timedelta(seconds=ttl),
        "revoked_at": None,
        "created_at": now,
    }
