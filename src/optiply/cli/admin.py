"""``optiply db|accounts|users|clients|tokens ...``: administration from the shell."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server.auth import admin, tokens
from optiply.server.storage.migrate import head_revision

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (webshops).", no_args_is_help=True)
users_app = typer.Typer(help="API users.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth clients.", no_args_is_help=True)
tokens_app = typer.Typer(help="Access and refresh tokens.", no_args_is_help=True)

# Tokens and client ids are random url-safe strings: about one in 64 starts with "-". Click would
# read such an argument as options; with this setting an argument that is no known option is
# taken as it is ("--" before it works too). These commands have no short options, so no
# letter of such a value can be mistaken for one.
_RAW_VALUES = {"ignore_unknown_options": True}


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL, as_json: JsonOutput = False
) -> None:
    """Apply pending migrations (every command does this first)."""
    with database(database_url):
        pass
    head = head_revision()
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


@users_app.command("update", context_settings=_RAW_VALUES)
def users_update(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    password: Annotated[
        str | None,
        typer.Option("--password", help="A new password; revokes every token of the user."),
    ] = None,
    disabled: Annotated[
        bool | None,
        typer.Option(
            "--disabled/--enabled",
            help="Disable the user (its tokens stop working, no new ones are issued) "
            "or enable it again (no revoked token comes back).",
        ),
    ] = None,
    scopes: Annotated[
        str | None,
        typer.Option(
            "--scopes",
            help="Space- or comma-separated scopes; existing tokens are narrowed at once.",
        ),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Change a user's password, scopes, or whether it is disabled; effective at once."""
    names = None if scopes is None else scopes.replace(",", " ").split()
    with database(database_url) as engine:
        user = admin.update_user(
            engine, username=username, password=password, disabled=disabled, scopes=names
        )
    state = "disabled" if user.disabled else "enabled"
    report(
        as_json,
        {
            "id": user.id,
            "username": user.username,
            "scopes": list(user.scopes),
            "disabled": user.disabled,
            "revoked_grants": user.revoked_grants,
        },
        f"Updated user {user.id} ({user.username!r}): {state}, scopes {' '.join(user.scopes)}.",
        *_revoked_lines(user.revoked_grants),
    )


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="What the client is for.")],
    access_token_ttl: Annotated[
        int | None,
        typer.Option(
            "--access-token-ttl",
            help="Lifetime of the access tokens issued through this client, in seconds "
            "(e.g. 30 to exercise refreshes); default: the server's.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Create an OAuth client; its secret is printed once and stored only hashed."""
    with database(database_url) as engine:
        client = admin.create_client(engine, name=name, access_token_ttl=access_token_ttl)
    report(
        as_json,
        {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "access_token_ttl": access_token_ttl,
        },
        f"Created OAuth client {name.strip()!r}. Store the secret now: it is not shown again.",
        f"client_id:     {client.client_id}",
        f"client_secret: {client.client_secret}",
    )


@clients_app.command("rotate-secret", context_settings=_RAW_VALUES)
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Give a client a new secret, printed once; the old one and the client's tokens stop
    working at once."""
    with database(database_url) as engine:
        client, revoked = admin.rotate_client_secret(engine, client_id=client_id)
    report(
        as_json,
        {"client_id": client.client_id, "client_secret": client.client_secret},
        "New secret for the OAuth client. Store it now: it is not shown again. "
        "The old secret no longer works.",
        f"client_id:     {client.client_id}",
        f"client_secret: {client.client_secret}",
        *_revoked_lines(revoked),
    )


@clients_app.command("delete", context_settings=_RAW_VALUES)
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="The client's id.")],
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Delete a client: its tokens stop working and its id is unknown from now on."""
    with database(database_url) as engine:
        revoked = admin.delete_client(engine, client_id=client_id)
    report(
        as_json,
        {"client_id": client_id, "deleted": True, "revoked_grants": revoked},
        f"Deleted the OAuth client {client_id}.",
        *_revoked_lines(revoked),
    )


@tokens_app.command("revoke", context_settings=_RAW_VALUES)
def tokens_revoke(
    token: Annotated[
        str | None,
        typer.Argument(
            help="An access or refresh token ('-' reads it from stdin); one starting with '-' "
            "works as it is, or after '--'.",
            show_default=False,
        ),
    ] = None,
    token_option: Annotated[
        str | None, typer.Option("--token", help="The token, as an option.", show_default=False)
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Revoke every token of this user.", show_default=False),
    ] = None,
    client: Annotated[
        str | None,
        typer.Option(
            "--client", help="Revoke every token made through this client.", show_default=False
        ),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Revoke a token's grant (its refresh token and every access token issued from it), or
    every token of a user or of a client; effective at once."""
    given = [value for value in (token, token_option, user, client) if value is not None]
    if len(given) != 1:
        fail("give exactly one of TOKEN, --token, --user or --client")
    if user is not None:
        with database(database_url) as engine:
            revoked = admin.revoke_user_tokens(engine, username=user)
        report(
            as_json, {"username": user, "revoked_grants": revoked}, *_revoked_lines(revoked, True)
        )
        return
    if client is not None:
        with database(database_url) as engine:
            revoked = admin.revoke_client_tokens(engine, client_id=client)
        report(
            as_json,
            {"client_id": client, "revoked_grants": revoked},
            *_revoked_lines(revoked, True),
        )
        return
    value = given[0]
    if value == "-":  # the stdin marker
        value = sys.stdin.readline().strip()
    with database(database_url) as engine:
        revoked_token = admin.revoke_token(engine, token=value)
    if not revoked_token:
        fail("no such token, or it is revoked already")
    report(
        as_json,
        {"revoked": True},
        "Token revoked, with its grant: the refresh token and every access token issued from it.",
    )


def _revoked_lines(grants: int, always: bool = False) -> list[str]:
    """The human line saying how many grants a change revoked."""
    if grants == 0:
        return ["No live tokens to revoke."] if always else []
    noun = "grant" if grants == 1 else "grants"
    return [f"Revoked {grants} {noun}: their access and refresh tokens stop working now."]
