"""What every command shares: the database option, the ``--json`` flag, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from optiply.server.auth.admin import AdminError
from optiply.server.settings import DEFAULT_DATABASE_URL
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import MigrationError, upgrade

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="OPTIPLY_DATABASE_URL",
        show_envvar=True,
        help="SQLite or PostgreSQL URL, e.g. postgresql://user@host/db.",
    ),
]
_BACKENDS = ("sqlite", "postgresql", "postgres")

JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print one JSON object as the last line of stdout.")
]

__all__ = ["DEFAULT_DATABASE_URL", "DatabaseUrl", "JsonOutput", "database", "fail", "report"]


@contextmanager
def database(url: str) -> Iterator[Engine]:
    """An engine on ``url`` with every pending migration applied, disposed afterwards.

    Database and admin errors raised inside the block end the command with one line on stderr.
    """
    try:
        if make_url(url).get_backend_name() not in _BACKENDS:
            fail(f"database {_shown(url)}: only sqlite:// and postgresql:// URLs are supported")
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
    except AdminError as error:
        fail(str(error))
    except (SQLAlchemyError, MigrationError) as error:
        fail(f"database {_shown(url)}: {_reason(error)}")


def fail(message: str) -> NoReturn:
    """End the command: ``message`` as one line on stderr, exit status 1."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


def report(as_json: bool, payload: dict[str, Any], *lines: str) -> None:
    """Print ``payload`` as one JSON line with ``--json``, else the human ``lines``."""
    if as_json:
        typer.echo(json.dumps(payload))
    else:
        for line in lines:
            typer.echo(line)


def _shown(url: str) -> str:
    """The URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparsable URL)"


def _reason(error: Exception) -> str:
    """The first line of the driver's message, without SQLAlchemy's wrapping."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    return lines[0]
