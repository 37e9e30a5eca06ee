"""The demo login: the user ``demo``, its account and the OAuth client "Demo client".

``optiply serve --bootstrap`` creates them on a database without users (``bootstrap_demo``).
Passwords and client secrets are stored hashed, so they are shown once; ``optiply demo login``
(``reset_demo``) gives a working login again at any time by setting a new password and a new
client secret, creating whatever is missing, and issuing a token.

Which rows are the demo login: the user named ``demo``; its first live account (a new "Demo
shop" if it has none); the oldest client named "Demo client" that is not deleted (its client
id is kept).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from optiply.server.auth import admin, tokens
from optiply.server.auth.admin import Account, ClientCredentials
from optiply.server.auth.passwords import hash_secret
from optiply.server.auth.tokens import IssuedTokens
from optiply.server.storage.tables import RESOURCE_TABLES, oauth_clients, user_accounts, users

DEMO_ACCOUNT_NAME = "Demo shop"
DEMO_USERNAME = "demo"
DEMO_CLIENT_NAME = "Demo client"

_accounts = RESOURCE_TABLES["accounts"]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """The demo account, the demo user with its password, and the demo client."""

    account: Account
    username: str
    password: str
    client: ClientCredentials

    def __repr__(self) -> str:
        return (
            f"DemoLogin(account={self.account!r}, username={self.username!r}, "
            f"password='***', client={self.client!r})"
        )


@dataclass(frozen=True, slots=True)
class DemoSession:
    """What ``reset_demo`` did: the login, a token pair for it, and what it had to create."""

    login: DemoLogin
    tokens: IssuedTokens
    created: tuple[str, ...]
    """Any of ``"account"``, ``"user"``, ``"client"``; empty when all three existed."""


def bootstrap_demo(engine: Engine) -> DemoLogin | None:
    """On a database without users, create a demo account, user and client in one transaction.

    Returns:
        The new login with its secrets, or None when the database has users already.
    """
    password = secrets.token_urlsafe(16)
    client = ClientCredentials.generate()
    password_hash, secret_hash = hash_secret(password), hash_secret(client.client_secret)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        if admin.has_users(connection):
            return None
        account = admin.insert_account(connection, name=DEMO_ACCOUNT_NAME, now=now)
        admin.insert_user(
            connection,
            username=DEMO_USERNAME,
            password_hash=password_hash,
            account_ids=[account.id],
            scope=" ".join(admin.DEFAULT_SCOPES),
            now=now,
        )
        admin.insert_client(
            connection, credentials=client, secret_hash=secret_hash, name=DEMO_CLIENT_NAME, now=now
        )
    return DemoLogin(account=account, username=DEMO_USERNAME, password=password, client=client)


def reset_demo(engine: Engine, *, access_ttl: int, refresh_ttl: int) -> DemoSession:
    """A working demo login, in one transaction: new password and client secret, and a token.

    The old password and client secret stop working; tokens issued before stay valid until they
    expire (unlike ``optiply users update --password`` and ``clients rotate-secret``: the demo
    login is for trying things, and a second run should not cut off the first). Whatever of the
    account, user and client is missing is created.

    Raises:
        AdminError: the demo user is disabled (an operator's decision this does not undo).
    """
    password = secrets.token_urlsafe(16)
    fresh = ClientCredentials.generate()
    password_hash, secret_hash = hash_secret(password), hash_secret(fresh.client_secret)
    now = datetime.now(UTC)
    created: list[str] = []
    with engine.begin() as connection:
        user = connection.execute(
            select(users.c.id, users.c.scopes, users.c.disabled_at).where(
                users.c.username == DEMO_USERNAME
            )
        ).one_or_none()
        if user is not None and user.disabled_at is not None:
            raise admin.AdminError(
                f"the demo user {DEMO_USERNAME!r} is disabled; "
                f"`optiply users update {DEMO_USERNAME} --enabled` enables it"
            )
        if user is None:
            account = admin.insert_account(connection, name=DEMO_ACCOUNT_NAME, now=now)
            scopes = " ".join(admin.DEFAULT_SCOPES)
            user_id = admin.insert_user(
                connection,
                username=DEMO_USERNAME,
                password_hash=password_hash,
                account_ids=[account.id],
                scope=scopes,
                now=now,
            )
            created += ["account", "user"]
        else:
            user_id, scopes = user.id, user.scopes
            connection.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            found = _first_account(connection, user_id)
            if found is None:
                found = admin.insert_account(connection, name=DEMO_ACCOUNT_NAME, now=now)
                connection.execute(
                    insert(user_accounts).values(user_id=user_id, account_id=found.id)
                )
                created.append("account")
            account = found
        client, client_pk = _reset_client(connection, fresh, secret_hash, now, created)
        issued = tokens.issue(
            connection,
            user_id=user_id,
            client_pk=client_pk,
            scopes=scopes.split(),
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
            now=now,
        )
    login = DemoLogin(account=account, username=DEMO_USERNAME, password=password, client=client)
    return DemoSession(login=login, tokens=issued, created=tuple(created))


def _first_account(connection: Connection, user_id: int) -> Account | None:
    row = connection.execute(
        select(_accounts.c.id, _accounts.c.uuid, _accounts.c.name)
        .join(user_accounts, user_accounts.c.account_id == _accounts.c.id)
        .where(user_accounts.c.user_id == user_id, _accounts.c.deleted_at.is_(None))
        .order_by(_accounts.c.id)
        .limit(1)
    ).one_or_none()
    return None if row is None else Account(id=row.id, uuid=row.uuid, name=row.name)


def _reset_client(
    connection: Connection,
    fresh: ClientCredentials,
    secret_hash: str,
    now: datetime,
    created: list[str],
) -> tuple[ClientCredentials, int]:
    """The demo client with its new secret, and its primary key; created if missing."""
    row = connection.execute(
        select(oauth_clients.c.id, oauth_clients.c.client_id)
        .where(oauth_clients.c.name == DEMO_CLIENT_NAME, oauth_clients.c.deleted_at.is_(None))
        .order_by(oauth_clients.c.id)
        .limit(1)
    ).one_or_none()
    if row is None:
        created.append("client")
        client_pk = admin.insert_client(
            connection, credentials=fresh, secret_hash=secret_hash, name=DEMO_CLIENT_NAME, now=now
        )
        return fresh, client_pk
    connection.execute(
        update(oauth_clients).where(oauth_clients.c.id == row.id).values(secret_hash=secret_hash)
    )
    return ClientCredentials(row.client_id, fresh.client_secret), row.id
