"""``optiply serve``: run the API server with uvicorn, optionally creating a demo login first."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, database
from optiply.cli.demo import demo_instructions, login_hints, optiply_command
from optiply.server.auth.demo import bootstrap_demo


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="On a database without users, create a demo account, user and client, "
            "and print their credentials; else print how to get a login.",
        ),
    ] = False,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            envvar="OPTIPLY_ACCESS_LOG",
            show_envvar=True,
            help="Log one line per request on stderr (secret query values hidden).",
        ),
    ] = False,
    journal: Annotated[
        bool,
        typer.Option(
            "--journal/--no-journal",
            envvar="OPTIPLY_JOURNAL",
            show_envvar=True,
            help="Record every /v1 and /api/auth request (secrets hidden) for `optiply "
            "requests` and GET /sandbox/requests.",
        ),
    ] = True,
    journal_size: Annotated[
        int,
        typer.Option(
            "--journal-size",
            min=1,
            envvar="OPTIPLY_JOURNAL_SIZE",
            show_envvar=True,
            help="Journal rows kept per account (the newest).",
        ),
    ] = 10_000,
    read_ahead: Annotated[
        bool,
        typer.Option(
            "--read-ahead/--no-read-ahead",
            envvar="OPTIPLY_READ_AHEAD",
            show_envvar=True,
            help="After a list page with a next link, make the next page while idle, for "
            "the client's next request (never stale).",
        ),
    ] = True,
    extensions: Annotated[
        bool,
        typer.Option(
            "--extensions/--no-extensions",
            envvar="OPTIPLY_EXTENSIONS",
            show_envvar=True,
            help="Offer Idempotency-Key, filter[remoteId], filter[deletedAt] and atomic "
            "operations (docs/extensions.md); "
            "--no-extensions behaves exactly like the hosted API v1.",
        ),
    ] = True,
    idempotency_ttl: Annotated[
        int,
        typer.Option(
            "--idempotency-ttl",
            min=1,
            envvar="OPTIPLY_IDEMPOTENCY_TTL",
            show_envvar=True,
            help="Seconds an Idempotency-Key's answer is kept (replayed).",
        ),
    ] = 86400,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """Serve the Optiply API v1 and the OAuth2 token endpoint."""
    with database(database_url) as engine:
        demo = bootstrap_demo(engine) if bootstrap else None
    if bootstrap and demo is None:
        for line in login_hints(database_url):
            typer.echo(line)
    if demo is not None:
        headline = (
            f"Created the demo account {demo.account.name!r} (id {demo.account.id}), "
            f"user {demo.username!r} and an OAuth client. These secrets are shown only now "
            f"(`{optiply_command()} demo login` makes new ones):"
        )
        base_url = f"http://{_reachable(host)}:{port}"
        for line in demo_instructions(demo, base_url, headline=headline):
            typer.echo(line)
    # Read by app_factory in each worker process.
    os.environ["OPTIPLY_DATABASE_URL"] = database_url
    os.environ["OPTIPLY_ACCESS_LOG"] = "true" if access_log else "false"
    os.environ["OPTIPLY_JOURNAL"] = "true" if journal else "false"
    os.environ["OPTIPLY_JOURNAL_SIZE"] = str(journal_size)
    os.environ["OPTIPLY_READ_AHEAD"] = "true" if read_ahead else "false"
    os.environ["OPTIPLY_EXTENSIONS"] = "true" if extensions else "false"
    os.environ["OPTIPLY_IDEMPOTENCY_TTL"] = str(idempotency_ttl)
    uvicorn.run(
        "optiply.server.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
        # uvicorn's access log prints query strings as sent, token-endpoint passwords included;
        # ours (--access-log) hides them.
        access_log=False,
    )


def _reachable(host: str) -> str:
    """The host to put in URLs: a wildcard bind is reached through loopback."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
