"""``optiply requests``: the sandbox's request journal of an account, read from the database.

The filters are those of ``GET /sandbox/requests`` (``storage.journal.parse_filter``): the same
words, the same meaning.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail
from optiply.server.storage import journal

POLL_SECONDS = 0.5


def requests(
    account: Annotated[int, typer.Option("--account", help="The account whose requests to show.")],
    limit: Annotated[
        int, typer.Option("--limit", help="The newest N requests (printed oldest first).")
    ] = journal.DEFAULT_LIMIT,
    status: Annotated[
        str | None, typer.Option("--status", help="A status (503) or a class (4xx).")
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="An HTTP method.")] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="A path prefix, or a glob with * and ?.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="An ISO 8601 time, or an age such as 30s, 5m, 2h, 1d."),
    ] = None,
    count: Annotated[
        bool, typer.Option("--count", help="Print how many requests match (no limit).")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep showing new requests until Ctrl-C.")
    ] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per request.")] = False,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Show the request journal of an account (what reached the server, secrets hidden)."""
    texts = {
        "method": method,
        "status": status,
        "path": path,
        "since": since,
        "limit": str(limit),
    }
    try:
        wanted = journal.parse_filter({k: v for k, v in texts.items() if v is not None})
    except journal.JournalQueryError as error:
        fail(f"--{error.parameter}: {error.message}")
    if count and follow:
        fail("--count and --follow go separately")
    visible = journal.Visible((account,))
    with database(database_url) as engine:
        with engine.connect() as connection:
            if not journal.account_exists(connection, account):
                fail(f"no account {account}")
            if count:
                number = journal.count_requests(connection, visible, wanted)
                typer.echo(json.dumps({"count": number}) if as_json else str(number))
                return
            rows = journal.select_requests(connection, visible, wanted)
        if not follow:
            _print(rows, jsonl)
            return
        try:
            _follow(engine, visible, wanted, rows, jsonl)
        except KeyboardInterrupt:
            pass


def _print(rows: list[dict[str, Any]], jsonl: bool) -> None:
    if jsonl:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    Console().print(_table(rows))


def _follow(
    engine: Engine,
    visible: journal.Visible,
    wanted: journal.JournalFilter,
    rows: list[dict[str, Any]],
    jsonl: bool,
) -> None:
    """Poll for newer rows every half second; JSON Lines as they come, else a live table."""
    last = rows[-1]["id"] if rows else (wanted.after or 0)
    newer = journal.JournalFilter(
        method=wanted.method,
        status=wanted.status,
        path=wanted.path,
        since=wanted.since,
        limit=journal.MAX_LIMIT,
    )

    def poll() -> list[dict[str, Any]]:
        nonlocal last
        with engine.connect() as connection:
            found = journal.select_requests(
                connection,
                visible,
                dataclasses.replace(newer, after=last),
            )
        if found:
            last = found[-1]["id"]
        return found

    if jsonl:
        _print(rows, jsonl=True)
        while True:
            time.sleep(POLL_SECONDS)
            _print(poll(), jsonl=True)
    shown = list(rows)
    with Live(_table(shown), refresh_per_second=4) as live:
        while True:
            time.sleep(POLL_SECONDS)
            found = poll()
            if found:
                shown = (shown + found)[-wanted.limit :]
                live.update(_table(shown))


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "at", "method", "path", "query", "status", "ms", "user", "error", "fault")
    for row in rows:
        status = row["status"]
        style = "red" if status >= 500 else "yellow" if status >= 400 else "green"
        table.add_row(
            str(row["id"]),
            row["at"][11:23],
            Text(row["method"]),
            Text(row["path"]),
            Text(row["query"]),
            Text(str(status), style=style),
            f"{row['durationMs']:.1f}",
            Text(row["username"] or ""),
            Text(row["errorCode"] or ""),
            "" if row["fault"] is None else str(row["fault"]),
        )
    return table
