"""``optiply db|accounts|users|clients|tokens ...``: administration from the shell."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from alembic.script import ScriptDirectory

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server.auth import admin, tokens
from optiply.server.storage.migrate import alembic_config

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (webshops).", no_args_is_help=True)
users_app = typer.Typer(help="API users.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
tokens_app = typer.Typer(help="Access and refresh tokens.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL, as_json: JsonOutput = False
) -> None:
    """Apply pending migrations (every command does this first)."""
    with database(database_url):
        pass
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    report(as_json, {"revision": head}, f"Database schema is at revision {head}.")


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option("--name", help="The account's name.")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Create an account."""
    with database(database_url) as engine:
        account = admin.create_account(engine, name=name)
    report(
        as_json,
        {"id": account.id, "uuid": account.uuid, "name": account.name},
        f"Created account {account.id} ({account.name!r}), uuid {account.uuid}.",
    )


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option("--username", help="The login name.")],
    password: Annotated[str, typer.Option("--password", help="The password.")],
    account: Annotated[
        list[int], typer.Option("--account", help="An account the user reaches; repeatable.")
    ],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Space- or comma-separated scopes.")
    ] = "read write delete",
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Create a user reaching the given accounts."""
    names = scopes.replace(",", " ").split()
    with database(database_url) as engine:
        user_id = admin.create_user(
            engine, username=username, password=password, account_ids=account, scopes=names
        )
    account_ids = sorted(set(account))
    granted = tokens.format_scopes(names).split()
    report(
        as_json,
        {"id": user_id, "username": username.strip(), "accounts": account_ids, "scopes": granted},
        f"Created user {user_id} ({username.strip()!r}) with scopes {' '.join(granted)} "
        f"on accounts {', '.join(map(str, account_ids))}.",
    )


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="What the client is for.")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Create an OAuth client; its secret is printed once and stored only hashed."""
    with database(database_url) as engine:
        client = admin.create_client(engine, name=name)
    report(
        as_json,
        {"client_id": client.client_id, "client_secret": client.client_secret},
        f"Created OAuth client {name.strip()!r}. Store the secret now: it is not shown again.",
        f"client_id:     {client.client_id}",
        f"client_secret: {client.client_secret}",
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[
        str, typer.Argument(help="An access or refresh token; '-' reads it from stdin.")
    ],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Revoke an access or refresh token."""
    if token == "-":  # noqa: S105 - the stdin marker, not a secret
        token = sys.stdin.readline().strip()
    with database(database_url) as engine:
        revoked = admin.revoke_token(engine, token=token)
    if not revoked:
        fail("no such token, or it is revoked already")
    report(as_json, {"revoked": True}, "Token revoked.")
