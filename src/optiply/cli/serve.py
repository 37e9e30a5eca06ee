"""``optiply serve``: run the API server with uvicorn, optionally creating a demo login first."""

from __future__ import annotations

import os
import shlex
from typing import Annotated

import typer
import uvicorn

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, database
from optiply.server.auth import admin

TOKEN_PATH = "/api/auth/oauth/token"  # noqa: S105 - a URL path


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="On a database without users, create a demo account, user and client, "
            "and print their credentials.",
        ),
    ] = False,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Serve the Optiply API v1 and the OAuth2 token endpoint."""
    with database(database_url) as engine:
        demo = admin.bootstrap_demo(engine) if bootstrap else None
        if bootstrap and demo is None:
            typer.echo("The database has users already: no demo login created.")
    if demo is not None:
        for line in demo_instructions(demo, f"http://{_reachable(host)}:{port}"):
            typer.echo(line)
    os.environ["OPTIPLY_DATABASE_URL"] = database_url  # read by app_factory in each worker
    uvicorn.run(
        "optiply.server.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
        access_log=False,
    )


def demo_instructions(demo: admin.DemoLogin, base_url: str) -> list[str]:
    """The lines ``--bootstrap`` prints: credentials and two ready-to-paste curl commands."""
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
            "Authorization: Bearer ACCESS_TOKEN",
            "-H",
            "Accept: application/vnd.api+json",
            f"{base_url}/v1/products",
        ]
    )
    return [
        f"Created the demo account {demo.account.name!r} (id {demo.account.id}), "
        f"user {demo.username!r} and an OAuth client. These secrets are shown only now:",
        f"  username:      {demo.username}",
        f"  password:      {demo.password}",
        f"  client_id:     {demo.client.client_id}",
        f"  client_secret: {demo.client.client_secret}",
        "Fetch a token:",
        f"  {token}",
        "Then list the products, with ACCESS_TOKEN replaced by the token's access_token:",
        f"  {products}",
    ]


def _reachable(host: str) -> str:
    """The host to put in URLs: a wildcard bind is reached through loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
