"""Administration: accounts, users, OAuth clients and token revocation (used by the CLI and tests).

Each function taking an engine is one transaction, so a failure leaves nothing half-written.
Secrets are hashed with Argon2 before the transaction starts, to keep write locks short. The
functions taking a connection are the steps, for callers composing their own transaction
(``demo``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, exists, insert, select
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


def create_client(engine: Engine, *, name: str) -> ClientCredentials:
    """Create an OAuth client; the returned secret is shown once and stored only hashed.

    Raises:
        AdminError: the name is empty or longer than 255 characters.
    """
    name = _checked_name(name, "client name")
    credentials = ClientCredentials.generate()
    secret_hash = hash_secret(credentials.client_secret)
    with engine.begin() as connection:
        insert_client(
            connection,
            credentials=credentials,
            secret_hash=secret_hash,
            name=name,
            now=datetime.now(UTC),
        )
    return credentials


def revoke_token(engine: Engine, *, token: str) -> bool:
    """Revoke an access or refresh token; False when it is unknown or already revoked."""
    with engine.begin() as connection:
        return tokens.revoke(connection, token=token)


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
) -> int:
    """Insert an OAuth client whose secret hashes to ``secret_hash``; returns its primary key."""
    client_pk: int = connection.execute(
        insert(oauth_clients)
        .values(client_id=credentials.client_id, secret_hash=secret_hash, name=name, created_at=now)
        .returning(oauth_clients.c.id)
    ).scalar_one()
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
