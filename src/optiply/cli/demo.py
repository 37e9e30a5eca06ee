"""``optiply demo ...``: a login to try the API with (and, later, demo data)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server.auth.demo import DEMO_USERNAME, DemoLogin, reset_demo
from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

demo_app = typer.Typer(help="A demo login to try the API with.", no_args_is_help=True)

BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="OPTIPLY_PUBLIC_URL",
        show_envvar=True,
        help="Where the server is reached, for the printed URLs and curl commands.",
    ),
]


@demo_app.command("login")
def demo_login(
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Print a working demo login: a new password and client secret, a token, curl commands.

    Passwords and secrets are stored hashed, so the demo user's password and the demo client's
    secret are replaced (the old ones stop working; the client id stays). The demo account,
    user and client are created when missing. The server need not be running.
    """
    try:
        settings = Settings(database_url=database_url)
    except ValidationError as error:
        fail(f"settings: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}")
    with database(database_url) as engine:
        session = reset_demo(
            engine, access_ttl=settings.access_token_ttl, refresh_ttl=settings.refresh_token_ttl
        )
    demo, issued = session.login, session.tokens
    base_url = base_url.rstrip("/")
    if session.created:
        *first, last = session.created
        made = f"{', '.join(first)} and {last}" if first else last
        headline = f"Created the demo {made}. The demo login:"
    else:
        headline = "The demo login, with a new password and client secret (the old ones are void):"
    report(
        as_json,
        {
            "username": demo.username,
            "password": demo.password,
            "client_id": demo.client.client_id,
            "client_secret": demo.client.client_secret,
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
            "account_id": demo.account.id,
            "account_name": demo.account.name,
            "created": list(session.created),
            "api_url": f"{base_url}/v1",
            "token_url": f"{base_url}{TOKEN_PATH}",
        },
        *demo_instructions(demo, base_url, headline=headline, access_token=issued.access_token),
    )


def demo_instructions(
    demo: DemoLogin, base_url: str, *, headline: str, access_token: str | None = None
) -> list[str]:
    """Credentials and two ready-to-paste curl commands: fetch a token, list the products.

    With ``access_token`` the second command carries it; else a placeholder to replace.
    """
    token = shlex.join(
        [
            "curl",
            "-s",
            "-u",
            f"{demo.client.client_id}:{demo.client.client_secret}",
            "-d",
            "grant_type=password",
            "-d",
            f"username={demo.username}",
            "-d",
            f"password={demo.password}",
            f"{base_url}{TOKEN_PATH}",
        ]
    )
    products = shlex.join(
        [
            "curl",
            "-s",
            "-H",
            f"Authorization: Bearer {access_token or 'ACCESS_TOKEN'}",
            "-H",
            "Accept: application/vnd.api+json",
            f"{base_url}/v1/products",
        ]
    )
    lines = [
        headline,
        f"  account:       {demo.account.name} (id {demo.account.id})",
        f"  username:      {demo.username}",
        f"  password:      {demo.password}",
        f"  client_id:     {demo.client.client_id}",
        f"  client_secret: {demo.client.client_secret}",
    ]
    if access_token is not None:
        lines.append(f"  access_token:  {access_token}")
    lines += ["Fetch a token:", f"  {token}"]
    if access_token is not None:
        lines.append("List the products with the access token above:")
    else:
        lines.append("Then list the products, with the token's access_token for ACCESS_TOKEN:")
    lines.append(f"  {products}")
    return lines


def login_hints(database_url: str) -> list[str]:
    """What ``serve --bootstrap`` prints when the database has users: commands to get a login."""
    command = optiply_command()
    url, password_hidden = shell_database_url(database_url)
    where = f"--database-url {shlex.quote(url)}"
    lines = [
        "The database has users already: no demo login created. To get a login, run",
        f"  {command} demo login {where}",
        f"  (a new password and client secret for the demo user {DEMO_USERNAME!r}, and a token)",
        "or create your own account, user and client:",
        f"  {command} accounts create --name 'My shop' {where}",
        f"  {command} users create --username alice --password 'CHOOSE-A-PASSWORD' "
        f"--account ACCOUNT_ID {where}",
        f"  {command} clients create --name my-etl {where}",
    ]
    if password_hidden:
        lines.append("  (*** stands for the database password)")
    return lines


def optiply_command() -> str:
    """How to run this ``optiply`` from a shell: ``scripts/optiply`` in a checkout's .venv."""
    prefix = Path(sys.prefix)
    wrapper = prefix.parent / "scripts" / "optiply"
    if prefix.name != ".venv" or not wrapper.is_file():
        return "optiply"
    try:
        return shlex.quote(str(wrapper.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(wrapper))


def shell_database_url(url: str) -> tuple[str, bool]:
    """``url`` to show in a command: a relative SQLite path made absolute, a password as ``***``.

    Returns the URL and whether a password was hidden.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url, False
    changed = False
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not database.startswith("file:") and not Path(database).is_absolute():
            parsed = parsed.set(database=str(Path(database).resolve()))
            changed = True
    if parsed.password is not None:
        return parsed.render_as_string(hide_password=True), True
    return (parsed.render_as_string(hide_password=False) if changed else url), False
