"""Administration: accounts, users, OAuth clients and token revocation (used by the CLI and tests).

Each function taking an engine is one transaction, so a failure leaves nothing half-written.
Secrets are hashed with Argon2 before the transaction starts, to keep write locks short. The
functions taking a connection are the steps, for callers composing their own transaction
(``demo``).

Withdrawing credentials takes effect at once in every server process: tokens, grants, users
and clients are read from the database on every request, never cached. Each change first
locks the user's or the client's row (the token endpoint locks the same rows before it stores
a grant, ``oauth._confirm``), so a grant racing the change is either refused or revoked by it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from optiply.server.auth import tokens
from optiply.server.auth.passwords import hash_secret
from optiply.server.auth.principal import ALL_SCOPES, Scope
from optiply.server.storage.tables import RESOURCE_TABLES, oauth_clients, user_accounts, users

DEFAULT_SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)

_accounts = RESOURCE_TABLES["accounts"]
_MAX_NAME = 255


class AdminError(Exception):
    """Bad administrative input; the message is one line, fit to show to the operator."""


@dataclass(frozen=True, slots=True)
class Account:
    """A created account."""

    id: int
    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A created OAuth client; the secret exists only here, the database keeps its hash."""

    client_id: str
    client_secret: str

    @classmethod
    def generate(cls) -> ClientCredentials:
        """A new random client id and secret."""
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32))

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret='***')"


def create_account(engine: Engine, *, name: str) -> Account:
    """Create an account named ``name``.

    Raises:
        AdminError: the name is empty or longer than 255 characters.
    """
    name = _checked_name(name, "account name")
    with engine.begin() as connection:
        return insert_account(connection, name=name, now=datetime.now(UTC))


def create_user(
    engine: Engine,
    *,
    username: str,
    password: str,
    account_ids: Sequence[int],
    scopes: Iterable[str] = DEFAULT_SCOPES,
) -> int:
    """Create a user reaching ``account_ids`` with ``scopes``; returns the user's id.

    Raises:
        AdminError: an empty username or password, no account, an unknown account, an unknown
            scope, or a username that is taken. Nothing is written then.
    """
    username = _checked_name(username, "username")
    if not password:
        raise AdminError("the password must not be empty")
    wanted_accounts = sorted(set(account_ids))
    if not wanted_accounts:
        raise AdminError("a user needs at least one account")
    scope = _checked_scopes(scopes)
    password_hash = hash_secret(password)
    try:
        with engine.begin() as connection:
            return insert_user(
                connection,
                username=username,
                password_hash=password_hash,
                account_ids=wanted_accounts,
                scope=scope,
                now=datetime.now(UTC),
            )
    except IntegrityError as error:  # a concurrent insert of the same username
        raise AdminError(f"user {username!r} already exists") from error


MAX_TOKEN_TTL = 10 * 365 * 86400


def create_client(
    engine: Engine, *, name: str, access_token_ttl: int | None = None
) -> ClientCredentials:
    """Create an OAuth client; the returned secret is shown once and stored only hashed.
    ``access_token_ttl`` (seconds) is the lifetime of the access tokens issued through it
    (default: the server's ``OPTIPLY_ACCESS_TOKEN_TTL``), e.g. 30 to exercise refreshes.

    Raises:
        AdminError: the name is empty or longer than 255 characters, or the lifetime is not
            from 1 second to 10 years.
    """
    name = _checked_name(name, "client name")
    if access_token_ttl is not None and not 0 < access_token_ttl <= MAX_TOKEN_TTL:
        raise AdminError(
            f"the access-token lifetime must be from 1 to {MAX_TOKEN_TTL} seconds, "
            f"got {access_token_ttl}"
        )
    credentials = ClientCredentials.generate()
    secret_hash = hash_secret(credentials.client_secret)
    with engine.begin() as connection:
        insert_client(
            connection,
            credentials=credentials,
            secret_hash=secret_hash,
            name=name,
            now=datetime.now(UTC),
            access_token_ttl=access_token_ttl,
        )
    return credentials


@dataclass(frozen=True, slots=True)
class UpdatedUser:
    """A user as ``update_user`` left it, and how many of its grants that revoked."""

    id: int
    username: str
    scopes: tuple[str, ...]
    disabled: bool
    revoked_grants: int


def update_user(
    engine: Engine,
    *,
    username: str,
    password: str | None = None,
    disabled: bool | None = None,
    scopes: Iterable[str] | None = None,
) -> UpdatedUser:
    """Change a user's password, disabled state or scopes, in one transaction.

    A new password and disabling revoke every grant (token) of the user: whoever had the old
    password, or the user's tokens, loses them. Enabling again revives none. New scopes apply
    to existing tokens at once, narrowed (a token never gets more than it was granted).

    Raises:
        AdminError: nothing to change, an unknown user, an empty password or bad scopes.
            Nothing is written then.
    """
    if password is None and disabled is None and scopes is None:
        raise AdminError("nothing to change: give --password, --disabled, --enabled or --scopes")
    if password is not None and not password:
        raise AdminError("the password must not be empty")
    changes: dict[str, object] = {}
    if scopes is not None:
        changes["scopes"] = _checked_scopes(scopes)
    if password is not None:
        changes["password_hash"] = hash_secret(password)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = _locked_user(connection, username)
        if disabled is True and row.disabled_at is None:
            changes["disabled_at"] = now
        elif disabled is False:
            changes["disabled_at"] = None
        if changes:
            connection.execute(update(users).where(users.c.id == row.id).values(**changes))
        revoked = 0
        if password is not None or disabled is True:
            revoked = tokens.revoke_grants(connection, user_id=row.id, now=now)
    scope = str(changes.get("scopes", row.scopes))
    return UpdatedUser(
        id=row.id,
        username=username,
        scopes=tuple(scope.split()),
        disabled=bool(disabled) if disabled is not None else row.disabled_at is not None,
        revoked_grants=revoked,
    )


def rotate_client_secret(engine: Engine, *, client_id: str) -> tuple[ClientCredentials, int]:
    """Give a client a new secret and revoke every grant (token) made through it: a leaked
    secret means leaked tokens may exist. Returns the new credentials (the secret exists only
    there, the database keeps its hash) and how many grants were revoked.

    Raises:
        AdminError: the client does not exist (or is deleted).
    """
    credentials = ClientCredentials(client_id, secrets.token_urlsafe(32))
    secret_hash = hash_secret(credentials.client_secret)
    with engine.begin() as connection:
        client_pk = _locked_client(connection, client_id)
        connection.execute(
            update(oauth_clients)
            .where(oauth_clients.c.id == client_pk)
            .values(secret_hash=secret_hash)
        )
        revoked = tokens.revoke_grants(connection, client_pk=client_pk)
    return credentials, revoked


def delete_client(engine: Engine, *, client_id: str) -> int:
    """Delete a client: the token endpoint treats its id as unknown from now on, and every
    grant (token) made through it is revoked; how many grants were.

    The row stays, marked deleted (its tokens refer to it), and its secret is forgotten.

    Raises:
        AdminError: the client does not exist (or is deleted already).
    """
    now = datetime.now(UTC)
    with engine.begin() as connection:
        client_pk = _locked_client(connection, client_id)
        connection.execute(
            update(oauth_clients)
            .where(oauth_clients.c.id == client_pk)
            .values(deleted_at=now, secret_hash=_NO_SECRET)
        )
        return tokens.revoke_grants(connection, client_pk=client_pk, now=now)


def revoke_token(engine: Engine, *, token: str) -> bool:
    """Revoke a token's grant: the refresh token and every access token of it (RFC 7009 §2.1,
    whichever of them is given); False when the token is unknown or its grant already revoked.
    """
    with engine.begin() as connection:
        return tokens.revoke(connection, token=token)


def revoke_user_tokens(engine: Engine, *, username: str) -> int:
    """Revoke every grant (token) of a user; how many were live.

    Raises:
        AdminError: the user does not exist.
    """
    with engine.begin() as connection:
        row = _locked_user(connection, username)
        return tokens.revoke_grants(connection, user_id=row.id)


def revoke_client_tokens(engine: Engine, *, client_id: str) -> int:
    """Revoke every grant (token) made through a client; how many were live.

    Raises:
        AdminError: the client does not exist (or is deleted).
    """
    with engine.begin() as connection:
        client_pk = _locked_client(connection, client_id)
        return tokens.revoke_grants(connection, client_pk=client_pk)


def has_users(connection: Connection) -> bool:
    """Whether the database has any user."""
    return bool(connection.scalar(select(exists().select_from(users))))


def insert_account(connection: Connection, *, name: str, now: datetime) -> Account:
    """Insert an account (``name`` already checked)."""
    account_uuid = str(uuid.uuid4())
    account_id = connection.execute(
        insert(_accounts)
        .values(uuid=account_uuid, name=name, created_at=now, updated_at=now)
        .returning(_accounts.c.id)
    ).scalar_one()
    return Account(id=account_id, uuid=account_uuid, name=name)


def insert_user(
    connection: Connection,
    *,
    username: str,
    password_hash: str,
    account_ids: list[int],
    scope: str,
    now: datetime,
) -> int:
    """Insert a user reaching ``account_ids``; returns its id.

    Raises:
        AdminError: the username is taken or an account does not exist.
    """
    if connection.scalar(select(exists().where(users.c.username == username))):
        raise AdminError(f"user {username!r} already exists")
    found = set(
        connection.scalars(
            select(_accounts.c.id).where(
                _accounts.c.id.in_(account_ids), _accounts.c.deleted_at.is_(None)
            )
        )
    )
    for account_id in account_ids:
        if account_id not in found:
            raise AdminError(f"account {account_id} does not exist")
    user_id: int = connection.execute(
        insert(users)
        .values(username=username, password_hash=password_hash, scopes=scope, created_at=now)
        .returning(users.c.id)
    ).scalar_one()
    connection.execute(
        insert(user_accounts),
        [{"user_id": user_id, "account_id": account_id} for account_id in account_ids],
    )
    return user_id


def insert_client(
    connection: Connection,
    *,
    credentials: ClientCredentials,
    secret_hash: str,
    name: str,
    now: datetime,
    access_token_ttl: int | None = None,
) -> int:
    """Insert an OAuth client whose secret hashes to ``secret_hash``; returns its primary key."""
    client_pk: int = connection.execute(
        insert(oauth_clients)
        .values(
            client_id=credentials.client_id,
            secret_hash=secret_hash,
            name=name,
            created_at=now,
            access_token_ttl=access_token_ttl,
        )
        .returning(oauth_clients.c.id)
    ).scalar_one()
    return client_pk


# Not a PHC string: verifying anything against it fails, as for a wrong secret.
_NO_SECRET = "!deleted"  # noqa: S105 - a marker, not a secret


def _locked_user(connection: Connection, username: str) -> Any:
    """The user's row (id, scopes, disabled_at), locked for the rest of the transaction."""
    row = connection.execute(
        select(users.c.id, users.c.scopes, users.c.disabled_at)
        .where(users.c.username == username)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise AdminError(f"user {username!r} does not exist")
    return row


def _locked_client(connection: Connection, client_id: str) -> int:
    """The primary key of a live client, its row locked for the rest of the transaction."""
    client_pk: int | None = connection.scalar(
        select(oauth_clients.c.id)
        .where(oauth_clients.c.client_id == client_id, oauth_clients.c.deleted_at.is_(None))
        .with_for_update()
    )
    if client_pk is None:
        raise AdminError(f"client {client_id!r} does not exist")
    return client_pk


def _checked_name(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise AdminError(f"the {what} must not be empty")
    if len(value) > _MAX_NAME:
        raise AdminError(f"the {what} is longer than {_MAX_NAME} characters")
    return value


def _checked_scopes(scopes: Iterable[str]) -> str:
    names = [scopes] if isinstance(scopes, str) else list(scopes)
    names = [part for name in names for part in name.split()]
    unknown = sorted(set(names) - ALL_SCOPES)
    if unknown:
        allowed = ", ".join(scope.value for scope in Scope)
        raise AdminError(f"unknown scope {unknown[0]!r} (allowed: {allowed})")
    if not names:
        raise AdminError("a user needs at least one scope")
    return tokens.format_scopes(names)
