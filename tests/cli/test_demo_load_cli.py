"""``optiply demo load`` as a real subprocess, on SQLite and (when configured) PostgreSQL:
``--json`` prints one object as the last line, progress bars only on a terminal, bad input
one line on stderr with exit status 1 and nothing written."""

from __future__ import annotations

import os
import pty
import subprocess
from typing import Any

import pytest
from test_cli import count, optiply

from live import OPTIPLY, assert_one_line_error, last_json, process_env, tmp_sqlite_url
from optiply.server.auth import admin
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES

UNTIL = "2026-03-31"


def account(url: str) -> int:
    """A new account in the database of ``url`` (migrated first), made in this process."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        return admin.create_account(engine, name="Demo").id
    finally:
        engine.dispose()


def load(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return optiply("demo", "load", "--until", UNTIL, *args, url=url)


def test_load_prints_its_counts_as_json_and_refuses_a_second_load(database_url: str) -> None:
    account_id = account(database_url)

    result = load(database_url, "--account", str(account_id), "--shop", "small", "--json")

    loaded: dict[str, Any] = last_json(result)
    assert result.stdout.strip().count("\n") == 0  # one line: no progress when not a terminal
    assert loaded["account"] == account_id and loaded["shop"] == "small"
    assert (loaded["seed"], loaded["until"]) == (0, UNTIL)
    assert loaded["counts"]["products"] == 32 and loaded["seconds"] > 0
    assert loaded["rows"] == sum(loaded["counts"].values())
    assert (
        count(database_url, RESOURCE_TABLES["sellOrderLines"])
        == (loaded["counts"]["sellOrderLines"])
    )

    again = load(database_url, "--account", str(account_id), "--shop", "small", "--seed", "2")

    assert_one_line_error(again, f"account {account_id} holds demo data already", "--coupling demo")
    assert count(database_url, RESOURCE_TABLES["products"]) == 32


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--account", "42", "--shop", "small"), ["account 42 does not exist"]),
        (("--account", "1", "--shop", "huge"), ["unknown shop 'huge'", "small, medium or large"]),
        (("--account", "1", "--shop", "small", "--until", "2026-02-30"), ["is not a date"]),
        (("--account", "1", "--shop", "small", "--until", "31-12-2025"), ["YYYY-MM-DD"]),
        (("--account", "1", "--shop", "small", "--until", "1850-01-01"), ["out of range"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, words) -> None:
    url = tmp_sqlite_url(tmp_path)
    account(url)

    assert_one_line_error(optiply("demo", "load", *args, url=url), *words)
    assert count(url, RESOURCE_TABLES["products"]) == 0


def test_a_terminal_gets_progress_bars_and_a_summary(tmp_path) -> None:
    url = tmp_sqlite_url(tmp_path)
    account_id = account(url)
    leader, follower = pty.openpty()
    command = [*OPTIPLY, "demo", "load", "--account", str(account_id), "--shop", "small"]
    process = subprocess.Popen(
        [*command, "--until", UNTIL, "--database-url", url],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**process_env(), "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(120) == 0, process.stderr.read() if process.stderr else ""
    os.close(leader)
    text = output.decode()

    assert "sellOrderLines" in text and "/s" in text  # a bar per resource, with its rate
    assert "simulating days" in text
    assert f"Loaded the small shop into account {account_id}" in text
    assert not any(line.lstrip().startswith("{") for line in text.splitlines())
