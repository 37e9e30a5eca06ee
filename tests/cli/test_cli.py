"""The ``optiply`` command as a real subprocess, on SQLite and (when configured) PostgreSQL.

Contract: every command applies migrations itself; ``--json`` prints one JSON object as the
last line of stdout; bad input prints one line on stderr, exits non-zero and writes nothing.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import web
from live import (
    JSONAPI,
    OPTIPLY,
    LiveServer,
    ServeProcess,
    assert_one_line_error,
    free_port,
    last_json,
    process_env,
    run_cli,
    tmp_sqlite_url,
)
from optiply.cli.demo import shell_database_url
from optiply.server.auth import tokens
from optiply.server.settings import Settings
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import RESOURCE_TABLES, oauth_clients, user_accounts, users

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/x"


_env = process_env


def optiply(
    *args: str, url: str | None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``optiply ARGS [--database-url URL]`` to completion (in this process, unless it must
    run in ``cwd``)."""
    words = [*args, *(["--database-url", url] if url else [])]
    if cwd is None:
        return run_cli(words, stdin=stdin)
    return subprocess.run(
        [*OPTIPLY, *words],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        input=stdin,
        timeout=120,
    )


def count(url: str, table: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        engine.dispose()


def test_each_command_prints_its_json_contract(database_url: str) -> None:
    account = last_json(
        optiply("accounts", "create", "--name", "Shop A", "--json", url=database_url)
    )
    other = last_json(optiply("accounts", "create", "--name", "Shop B", "--json", url=database_url))
    user = last_json(
        optiply(
            *("users", "create", "--username", "alice", "--password", "pw-alice"),
            *("--account", str(other["id"]), "--account", str(account["id"]), "--json"),
            url=database_url,
        )
    )
    reader = last_json(
        optiply(
            *("users", "create", "--username", "bob", "--password", "pw-bob"),
            *("--account", str(account["id"]), "--scopes", "read", "--json"),
            url=database_url,
        )
    )
    client = last_json(optiply("clients", "create", "--name", "ETL", "--json", url=database_url))
    upgraded = last_json(optiply("db", "upgrade", "--json", url=database_url))

    assert account == {"id": account["id"], "uuid": account["uuid"], "name": "Shop A"}
    assert isinstance(account["id"], int) and len(account["uuid"]) == 36
    assert user == {
        "id": user["id"],
        "username": "alice",
        "accounts": sorted([account["id"], other["id"]]),
        "scopes": ["read", "write", "delete"],
    }
    assert isinstance(user["id"], int)
    assert reader["scopes"] == ["read"]
    assert set(client) == {"client_id", "client_secret", "access_token_ttl"}
    assert client["access_token_ttl"] is None  # the server's lifetime
    assert all(len(client[key]) >= 20 for key in ("client_id", "client_secret"))
    assert set(upgraded) == {"revision"}
    assert count(database_url, users) == 2
    assert count(database_url, user_accounts) == 3
    assert count(database_url, oauth_clients) == 1


def test_without_json_the_output_is_for_people(database_url: str) -> None:
    result = optiply("accounts", "create", "--name", "Shop A", url=database_url)

    assert result.returncode == 0, result.stderr
    assert "Created account 1" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("users", "create", "--account", "42"), ["account 42 does not exist"]),
        (("users", "create", "--account", "1", "--scopes", "read admin"), ["unknown scope"]),
        (("users", "create", "--account", "1", "--scopes", " "), ["at least one scope"]),
        (("users", "create", "--account", "1", "--account", "7"), ["account 7 does not exist"]),
    ],
    ids=["unknown-account", "unknown-scope", "no-scope", "one-unknown-account-of-two"],
)
def test_a_bad_user_writes_nothing(
    database_url: str, args: tuple[str, ...], words: list[str]
) -> None:
    last_json(optiply("accounts", "create", "--name", "Shop", "--json", url=database_url))

    result = optiply(*args, "--username", "u", "--password", "p", url=database_url)

    assert_one_line_error(result, *words)
    assert count(database_url, users) == 0
    assert count(database_url, user_accounts) == 0


def test_a_duplicate_username_is_refused(database_url: str) -> None:
    account = last_json(optiply("accounts", "create", "--name", "Shop", "--json", url=database_url))
    user = ("users", "create", "--username", "u", "--password", "p", "--account")

    assert optiply(*user, str(account["id"]), url=database_url).returncode == 0
    result = optiply(*user, str(account["id"]), url=database_url)

    assert_one_line_error(result, "user 'u' already exists")
    assert count(database_url, users) == 1


def test_an_empty_account_name_is_refused(database_url: str) -> None:
    result = optiply("accounts", "create", "--name", "  ", url=database_url)

    assert_one_line_error(result, "must not be empty")
    assert count(database_url, RESOURCE_TABLES["accounts"]) == 0


@pytest.mark.parametrize(
    "args",
    [
        ("db", "upgrade"),
        ("accounts", "create", "--name", "x"),
        ("users", "create", "--username", "u", "--password", "p", "--account", "1"),
        ("clients", "create", "--name", "x", "--json"),
        ("tokens", "revoke", "abc"),
        ("serve", "--bootstrap"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unreachable_database_is_one_line_on_stderr(args: tuple[str, ...]) -> None:
    result = optiply(*args, url=UNREACHABLE)

    assert_one_line_error(result, "postgresql://nobody@127.0.0.1:1/x")
    assert result.stdout == ""


def test_the_password_never_shows_in_a_database_url_error() -> None:
    result = optiply("db", "upgrade", url="postgresql://nobody:hunter2@127.0.0.1:1/x")

    assert_one_line_error(result, "postgresql://nobody:***@127.0.0.1:1/x")
    assert "hunter2" not in result.stderr


def test_the_database_url_defaults_to_the_environment_then_to_optiply_db(tmp_path: Path) -> None:
    from_env = tmp_sqlite_url(tmp_path / "env")
    (tmp_path / "env").mkdir()
    result = subprocess.run(
        [*OPTIPLY, "accounts", "create", "--name", "Env", "--json"],
        capture_output=True,
        text=True,
        env=_env(OPTIPLY_DATABASE_URL=from_env),
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1])["name"] == "Env"
    assert count(from_env, RESOURCE_TABLES["accounts"]) == 1

    assert last_json(
        optiply("accounts", "create", "--name", "Cwd", "--json", url=None, cwd=tmp_path)
    )
    assert (tmp_path / "optiply.db").exists()


def test_tokens_revoke(database_url: str) -> None:
    account = last_json(optiply("accounts", "create", "--name", "Shop", "--json", url=database_url))
    user = last_json(
        optiply(
            *("users", "create", "--username", "u", "--password", "p"),
            *("--account", str(account["id"]), "--json"),
            url=database_url,
        )
    )
    client = last_json(optiply("clients", "create", "--name", "c", "--json", url=database_url))
    engine = make_engine(database_url)
    with engine.begin() as connection:
        client_pk = connection.scalar(
            select(oauth_clients.c.id).where(oauth_clients.c.client_id == client["client_id"])
        )
        assert client_pk is not None
        first, second = (
            tokens.issue(
                connection,
                user_id=user["id"],
                client_pk=client_pk,
                scopes=["read"],
                access_ttl=60,
                refresh_ttl=60,
                now=datetime.now(UTC),
            )
            for _ in range(2)
        )

    revoked = last_json(optiply("tokens", "revoke", first.access_token, "--json", url=database_url))
    from_stdin = optiply(
        "tokens", "revoke", "-", url=database_url, stdin=second.refresh_token + "\n"
    )
    again = optiply("tokens", "revoke", first.access_token, url=database_url)
    sibling = optiply("tokens", "revoke", first.refresh_token, url=database_url)

    assert revoked == {"revoked": True}
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert_one_line_error(again, "no such token")
    assert_one_line_error(sibling, "no such token")  # revoked with its grant
    assert first.access_token not in again.stderr
    now = datetime.now(UTC)
    with engine.connect() as connection:
        for token in (first.access_token, second.access_token):
            with pytest.raises(tokens.AuthError, match="Invalid"):
                tokens.authenticate(connection, f"Bearer {token}", now=now)
    with engine.begin() as connection:
        for token in (first.refresh_token, second.refresh_token):
            with pytest.raises(tokens.AuthError, match="Invalid refresh token"):
                tokens.refresh(
                    connection, refresh_token=token, client_pk=client_pk, access_ttl=60, now=now
                )
    engine.dispose()


def serving(*args: str, log: Path) -> ServeProcess:
    """``optiply serve ARGS`` as a subprocess."""
    return ServeProcess([*OPTIPLY, "serve", *args], log=log, env=_env())


def _run_curl(line: str) -> httpx.Response:
    """Perform the printed ``curl -s -u ID:SECRET -d k=v ... URL`` with httpx."""
    words = shlex.split(line)
    assert words[:2] == ["curl", "-s"]
    user = words[words.index("-u") + 1]
    client_id, _, client_secret = user.partition(":")
    data = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "-d")
    return web.post(words[-1], data=data, auth=(client_id, client_secret))


def test_serve_bootstrap_prints_a_working_curl_once(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    args = ("--bootstrap", "--port", str(port), "--database-url", database_url)

    first = serving(*args, log=tmp_path / "first.log")
    try:
        printed = first.read_until("/v1/products")
        first.wait_for_health(base_url)
        curl = next(line.strip() for line in printed if line.strip().startswith("curl -s -u"))
        token = _run_curl(curl)
        assert token.status_code == 200, token.text
        products = web.get(
            f"{base_url}/v1/products",
            headers={"Authorization": f"Bearer {token.json()['access_token']}", "Accept": JSONAPI},
        )
        assert products.status_code == 200, products.text
    finally:
        first.stop()
    pairs = [line.split(": ", 1) for line in printed if line.startswith("  ") and ": " in line]
    shown = {key.strip(): value.strip() for key, value in pairs}
    assert shown["username"] == "demo"
    server_log = (tmp_path / "first.log").read_text()
    for secret in (shown["password"], shown["client_secret"], token.json()["access_token"]):
        assert secret not in server_log

    second = serving(*args, log=tmp_path / "second.log")
    try:
        again = second.read_until("users already")
        hints = second.read_until("clients create")
        second.wait_for_health(base_url)
        login = _run_printed(hints, "demo login", "--base-url", base_url)
        token = _run_curl(next(line for line in login if line.startswith("curl -s -u")))
        assert token.status_code == 200, token.text
    finally:
        second.stop()
    assert not any("client_secret" in line or "curl" in line for line in again)
    assert count(database_url, users) == 1
    assert count(database_url, oauth_clients) == 1
    where = f"--database-url {shlex.quote(shell_database_url(database_url)[0])}"
    for command in ("demo login", "accounts create", "users create", "clients create"):
        assert any(command in line and line.endswith(where) for line in hints), (command, hints)
    assert shown["password"] not in "\n".join(login)  # a new password, not the first one


def _run_printed(printed: list[str], command: str, *extra: str) -> list[str]:
    """Run the printed shell line that contains ``command`` (plus ``extra``); its stdout lines."""
    line = next(line.strip() for line in printed if command in line)
    words = shlex.split(line)
    program = OPTIPLY if words[0] == "optiply" else [words[0]]
    result = subprocess.run(
        [*program, *words[1:], *extra], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert result.returncode == 0, result.stderr
    return [line.strip() for line in result.stdout.splitlines()]


def test_demo_login_prints_a_working_login_again_and_again(database_url: str) -> None:
    first = last_json(optiply("demo", "login", "--json", url=database_url))
    base_url = "http://127.0.0.1:9/"
    again = last_json(optiply("demo", "login", "--json", "--base-url", base_url, url=database_url))

    assert first["username"] == "demo"
    assert first["created"] == ["account", "user", "client"]
    assert again["created"] == []
    assert again["client_id"] == first["client_id"]
    assert again["account_id"] == first["account_id"]
    for key in ("password", "client_secret", "access_token", "refresh_token"):
        assert again[key] != first[key]
    assert again["token_url"] == "http://127.0.0.1:9/api/auth/oauth/token"
    assert again["api_url"] == "http://127.0.0.1:9/v1"
    assert again["scope"] == "read write delete"
    assert count(database_url, users) == 1
    assert count(database_url, oauth_clients) == 1
    assert count(database_url, RESOURCE_TABLES["accounts"]) == 1

    live = LiveServer(Settings(database_url=database_url)).start()
    try:
        headers = {"Authorization": f"Bearer {again['access_token']}", "Accept": JSONAPI}
        products = web.get(f"{live.url}/v1/products", headers=headers)
        token = f"{live.url}/api/auth/oauth/token"

        def grant(password: str, secret: str) -> int:
            data = {"grant_type": "password", "username": "demo", "password": password}
            return web.post(token, data=data, auth=(again["client_id"], secret)).status_code

        fresh = grant(again["password"], again["client_secret"])
        old_password = grant(first["password"], again["client_secret"])
        old_secret = grant(again["password"], first["client_secret"])
    finally:
        live.stop()
    assert products.status_code == 200, products.text
    assert (fresh, old_password, old_secret) == (200, 400, 401)


def test_demo_login_for_people_prints_curl_commands_that_work(database_url: str) -> None:
    live = LiveServer(Settings(database_url=database_url)).start()
    try:
        result = optiply("demo", "login", "--base-url", live.url, url=database_url)
        assert result.returncode == 0, result.stderr
        lines = [line.strip() for line in result.stdout.splitlines()]
        token = _run_curl(next(line for line in lines if line.startswith("curl -s -u")))
        listing = shlex.split(next(line for line in lines if line.startswith("curl -s -H")))
        headers = dict(listing[i + 1].split(": ", 1) for i, w in enumerate(listing) if w == "-H")
        products = web.get(listing[-1], headers=headers)
    finally:
        live.stop()
    assert lines[0].startswith("Created the demo account, user and client")
    assert token.status_code == 200, token.text
    assert products.status_code == 200, products.text
    assert result.stderr == ""


def test_a_login_hint_never_shows_the_database_password() -> None:
    assert shell_database_url("postgresql://u:hunter2@db.example/x") == (
        "postgresql://u:***@db.example/x",
        True,
    )
    assert shell_database_url("postgresql://u@db.example/x") == (
        "postgresql://u@db.example/x",
        False,
    )
    assert shell_database_url("sqlite:////abs/o.db") == ("sqlite:////abs/o.db", False)
    relative, hidden = shell_database_url("sqlite:///./rel/o.db")
    assert relative == f"sqlite:///{Path.cwd() / 'rel' / 'o.db'}" and not hidden
