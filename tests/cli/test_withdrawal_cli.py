"""``optiply users update``, ``clients rotate-secret|delete`` and ``tokens revoke`` as real
subprocesses, on SQLite and (when configured) PostgreSQL: their JSON contracts, values that
start with "-", and bad input (one line on stderr, non-zero exit, nothing written)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from live import assert_one_line_error, last_json, run_cli, token_works
from optiply.server.auth import passwords, tokens
from optiply.server.auth.tokens import IssuedTokens
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import oauth_clients, oauth_grants, oauth_tokens, users


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url``, not migrated (unlike conftest's): the CLI does that."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def optiply(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run ``optiply ARGS --database-url URL`` (the URL goes before a ``--`` in ARGS)."""
    words = list(args)
    at = words.index("--") if "--" in words else len(words)
    return run_cli([*words[:at], "--database-url", url, *words[at:]])


@pytest.fixture
def setup(database_url: str) -> dict[str, Any]:
    """An account, the user ``alice`` and a client, made with the CLI."""
    account = last_json(optiply("accounts", "create", "--name", "Shop", "--json", url=database_url))
    user = last_json(
        optiply(
            *("users", "create", "--username", "alice", "--password", "pw-alice"),
            *("--account", str(account["id"]), "--json"),
            url=database_url,
        )
    )
    client = last_json(optiply("clients", "create", "--name", "etl", "--json", url=database_url))
    return {"account": account, "user": user, "client": client}


def issue(engine: Engine, setup: dict[str, Any]) -> IssuedTokens:
    with engine.begin() as connection:
        client_pk = connection.scalar(
            select(oauth_clients.c.id).where(
                oauth_clients.c.client_id == setup["client"]["client_id"]
            )
        )
        return tokens.issue(
            connection,
            user_id=setup["user"]["id"],
            client_pk=client_pk,
            scopes=["read"],
            access_ttl=600,
            refresh_ttl=600,
            now=datetime.now(UTC),
        )


def starting_with(engine: Engine, token: str, prefix: str) -> str:
    """``token`` changed to start with ``prefix``, and stored so: as a token the server issued."""
    changed = prefix + token[len(prefix) :]
    with engine.begin() as connection:
        connection.execute(
            update(oauth_tokens)
            .where(oauth_tokens.c.token_hash == tokens.digest(token))
            .values(token_hash=tokens.digest(changed))
        )
    return changed


def snapshot(engine: Engine) -> list[list[Any]]:
    """Every row of the tables the withdrawal commands write."""
    with engine.connect() as connection:
        return [
            [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))]
            for table in (users, oauth_clients, oauth_grants, oauth_tokens)
        ]


@pytest.mark.parametrize(
    ("prefix", "form"),
    [
        ("-", "bare"),
        ("-", "bare-then-json"),
        ("-", "after-double-dash"),
        ("-", "token-option"),
        ("-", "token-option-equals"),
        ("--", "bare"),
        ("-h", "bare"),
    ],
)
def test_a_token_starting_with_a_dash_is_revoked(
    engine: Engine, setup: dict[str, Any], database_url: str, prefix: str, form: str
) -> None:
    issued = issue(engine, setup)
    token = starting_with(engine, issued.access_token, prefix)
    assert token_works(engine, token)
    args = {
        "bare": [token, "--json"],
        "bare-then-json": ["--json", token],
        "after-double-dash": ["--json", "--", token],
        "token-option": ["--token", token, "--json"],
        "token-option-equals": [f"--token={token}", "--json"],
    }[form]

    result = optiply("tokens", "revoke", *args, url=database_url)

    assert last_json(result) == {"revoked": True}
    assert not token_works(engine, token)


def test_a_client_id_starting_with_a_dash_can_be_rotated_and_deleted(
    engine: Engine, setup: dict[str, Any], database_url: str
) -> None:
    client_id = "-" + setup["client"]["client_id"][1:]
    with engine.begin() as connection:
        connection.execute(
            update(oauth_clients)
            .where(oauth_clients.c.client_id == setup["client"]["client_id"])
            .values(client_id=client_id)
        )

    rotated = last_json(optiply("clients", "rotate-secret", client_id, "--json", url=database_url))
    deleted = last_json(optiply("clients", "delete", "--json", client_id, url=database_url))

    assert rotated["client_id"] == client_id
    assert deleted["client_id"] == client_id


def test_users_update_prints_its_json_contract_and_changes_the_user(
    engine: Engine, setup: dict[str, Any], database_url: str
) -> None:
    issued = issue(engine, setup)

    scoped = last_json(
        optiply("users", "update", "alice", "--scopes", "read,write", "--json", url=database_url)
    )
    disabled = last_json(
        optiply("users", "update", "alice", "--disabled", "--json", url=database_url)
    )
    enabled = last_json(
        optiply(
            "users",
            "update",
            "alice",
            "--enabled",
            "--password",
            "new-pw",
            "--json",
            url=database_url,
        )
    )

    user_id = setup["user"]["id"]
    assert scoped == {
        "id": user_id,
        "username": "alice",
        "scopes": ["read", "write"],
        "disabled": False,
        "revoked_grants": 0,
    }
    assert disabled == {**scoped, "disabled": True, "revoked_grants": 1}
    assert enabled == {**scoped, "disabled": False, "revoked_grants": 0}
    assert not token_works(engine, issued.access_token)
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.password_hash, users.c.scopes, users.c.disabled_at).where(
                users.c.id == user_id
            )
        ).one()
    assert passwords.verify_secret(row.password_hash, "new-pw")
    assert (row.scopes, row.disabled_at) == ("read write", None)
    assert "new-pw" not in json.dumps([scoped, disabled, enabled])


def test_clients_rotate_secret_prints_the_new_secret_once(
    engine: Engine, setup: dict[str, Any], database_url: str
) -> None:
    issued = issue(engine, setup)
    client_id = setup["client"]["client_id"]

    for_people = optiply("clients", "rotate-secret", client_id, url=database_url)
    as_json = last_json(optiply("clients", "rotate-secret", client_id, "--json", url=database_url))

    assert for_people.returncode == 0, for_people.stderr
    assert "Revoked 1 grant" in for_people.stdout
    assert set(as_json) == {"client_id", "client_secret"}
    assert as_json["client_id"] == client_id
    assert as_json["client_secret"] not in for_people.stdout
    assert len(as_json["client_secret"]) >= 40
    with engine.connect() as connection:
        stored = connection.scalar(
            select(oauth_clients.c.secret_hash).where(oauth_clients.c.client_id == client_id)
        )
    assert passwords.verify_secret(stored, as_json["client_secret"])
    assert not passwords.verify_secret(stored, setup["client"]["client_secret"])
    assert not token_works(engine, issued.access_token)


def test_tokens_revoke_for_a_user_or_a_client(
    engine: Engine, setup: dict[str, Any], database_url: str
) -> None:
    first, second = issue(engine, setup), issue(engine, setup)

    by_user = last_json(optiply("tokens", "revoke", "--user", "alice", "--json", url=database_url))
    third = issue(engine, setup)
    client_id = setup["client"]["client_id"]
    by_client = last_json(
        optiply("tokens", "revoke", "--client", client_id, "--json", url=database_url)
    )
    nothing_left = optiply("tokens", "revoke", "--user", "alice", url=database_url)

    assert by_user == {"username": "alice", "revoked_grants": 2}
    assert by_client == {"client_id": client_id, "revoked_grants": 1}
    assert nothing_left.returncode == 0 and "No live tokens" in nothing_left.stdout
    assert not any(token_works(engine, t.access_token) for t in (first, second, third))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("users", "update", "nobody", "--disabled"), ["user 'nobody' does not exist"]),
        (("users", "update", "alice"), ["nothing to change"]),
        (("users", "update", "alice", "--disabled", "--scopes", "read admin"), ["unknown scope"]),
        (("users", "update", "alice", "--disabled", "--scopes", " , "), ["at least one scope"]),
        (("users", "update", "alice", "--disabled", "--password", ""), ["must not be empty"]),
        (("clients", "rotate-secret", "no-such-client"), ["client 'no-such-client' does not"]),
        (("clients", "delete", "no-such-client"), ["client 'no-such-client' does not exist"]),
        (("tokens", "revoke", "--user", "nobody"), ["user 'nobody' does not exist"]),
        (("tokens", "revoke", "--client", "nope"), ["client 'nope' does not exist"]),
        (("tokens", "revoke"), ["exactly one of"]),
        (("tokens", "revoke", "--user", "alice", "--client", "x"), ["exactly one of"]),
        (("tokens", "revoke", "abc", "--user", "alice"), ["exactly one of"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_bad_input_is_one_line_and_writes_nothing(
    engine: Engine,
    setup: dict[str, Any],
    database_url: str,
    args: tuple[str, ...],
    words: list[str],
) -> None:
    issued = issue(engine, setup)
    before = snapshot(engine)

    result = optiply(*args, url=database_url)

    assert_one_line_error(result, *words)
    assert "Traceback" not in result.stderr
    assert snapshot(engine) == before
    assert token_works(engine, issued.access_token)


def test_a_deleted_client_can_not_be_deleted_twice(
    setup: dict[str, Any], database_url: str
) -> None:
    client_id = setup["client"]["client_id"]

    first = optiply("clients", "delete", client_id, url=database_url)
    again = optiply("clients", "delete", client_id, url=database_url)

    assert first.returncode == 0, first.stderr
    assert f"Deleted the OAuth client {client_id}." in first.stdout
    assert_one_line_error(again, "does not exist")


def test_demo_login_respects_a_disabled_user_and_a_deleted_client(database_url: str) -> None:
    first = last_json(optiply("demo", "login", "--json", url=database_url))
    last_json(optiply("clients", "delete", first["client_id"], "--json", url=database_url))

    again = last_json(optiply("demo", "login", "--json", url=database_url))
    optiply("users", "update", "demo", "--disabled", url=database_url)
    refused = optiply("demo", "login", "--json", url=database_url)

    assert again["created"] == ["client"]
    assert again["client_id"] != first["client_id"]
    assert_one_line_error(refused, "the demo user 'demo' is disabled")
    assert refused.stdout == ""


def test_a_username_starting_with_a_dash_can_be_updated(
    setup: dict[str, Any], database_url: str
) -> None:
    account = str(setup["account"]["id"])
    created = optiply(
        "users",
        "create",
        "--username",
        "-bob",
        "--password",
        "pw",
        "--account",
        account,
        url=database_url,
    )
    assert created.returncode == 0, created.stderr

    updated = last_json(
        optiply("users", "update", "-bob", "--disabled", "--json", url=database_url)
    )

    assert (updated["username"], updated["disabled"]) == ("-bob", True)
