"""``optiply faults add|list|clear`` and ``optiply accounts update`` as real subprocesses, on
SQLite and (when configured) PostgreSQL: each option means what its JSON member means over HTTP
(docs/sandbox.md), ``--json`` prints what the HTTP API shows, and bad input prints one line on
stderr, exits 1 and writes nothing (the controls' version, which servers poll, stays put)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from live import bad_input_misses, last_json, process_env, run_cli
from optiply.server.auth import admin
from optiply.server.sandbox.rules import checked_rule
from optiply.server.storage import sandbox


def optiply(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run ``optiply ARGS --database-url URL``; a wide terminal, so tables are not cut."""
    return run_cli([*args, "--database-url", url], env=process_env(COLUMNS="200"))


@pytest.fixture
def account(engine: Engine) -> int:
    return admin.create_account(engine, name="Shop").id


def add_rule(engine: Engine, account: int, **members: Any) -> dict[str, Any]:
    """A rule stored the way ``POST /sandbox/faults`` stores it."""
    with engine.begin() as connection:
        return sandbox.add_fault(connection, account, checked_rule(members), datetime.now(UTC))


def listed(engine: Engine, account: int) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return sandbox.list_faults(connection, account)


def version(engine: Engine) -> int:
    with engine.connect() as connection:
        return sandbox.version(connection)


def settings(engine: Engine, account: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return sandbox.get_settings(connection, account).to_json()


DEFAULTS = {
    "method": None,
    "path": "*",
    "status": None,
    "retryAfter": None,
    "latencyMs": 0,
    "jitterMs": 0,
    "hangS": 30.0,
    "dropAfterCommit": False,
    "times": None,
    "every": None,
    "probability": None,
    "seed": 0,
    "matched": 0,
    "fired": 0,
}


@pytest.mark.parametrize(
    ("options", "members"),
    [
        (
            ["--method", "post", "--path", "/v1/suppliers*", "--status", "503", "--times", "3"],
            {
                "action": "status",
                "method": "POST",
                "path": "/v1/suppliers*",
                "status": 503,
                "retryAfter": 1,
                "times": 3,
            },
        ),
        (
            ["--status", "429", "--retry-after", "7", "--every", "4"],
            {"action": "status", "status": 429, "retryAfter": 7, "every": 4},
        ),
        (["--status", "400"], {"action": "status", "status": 400}),
        (
            ["--status", "500", "--every", "3", "--times", "1"],
            {"action": "status", "status": 500, "every": 3, "times": 1},
        ),
        (
            ["--latency-ms", "300", "--jitter-ms", "50", "--probability", "0.25", "--seed", "7"],
            {
                "action": "latency",
                "latencyMs": 300,
                "jitterMs": 50,
                "probability": 0.25,
                "seed": 7,
            },
        ),
        (["--hang"], {"action": "hang"}),
        (["--hang", "--hang-s", "2.5"], {"action": "hang", "hangS": 2.5}),
        (["--drop", "--method", "DELETE"], {"action": "drop", "method": "DELETE"}),
        (["--broken", "--path", "/v1/products"], {"action": "broken", "path": "/v1/products"}),
        (["--commit-then-fail"], {"action": "commit-then-fail"}),
        (
            ["--commit-then-fail", "--drop", "--times", "1"],
            {"action": "commit-then-fail", "dropAfterCommit": True, "times": 1},
        ),
        (["--expired-token"], {"action": "expired-token"}),
    ],
    ids=[
        "status-times",
        "status-retry-after-every",
        "status-no-retry-after",
        "status-every-times",
        "latency-jitter-probability-seed",
        "hang",
        "hang-s",
        "drop",
        "broken",
        "commit-then-fail",
        "commit-then-drop",
        "expired-token",
    ],
)
def test_add_stores_the_rule_and_prints_it_as_the_http_api_does(
    database_url: str, engine: Engine, account: int, options: list[str], members: dict[str, Any]
) -> None:
    before = version(engine)

    added = last_json(
        optiply("faults", "add", "--account", str(account), *options, "--json", url=database_url)
    )

    assert added == {
        **DEFAULTS,
        **members,
        "id": added["id"],
        "accountId": account,
        "createdAt": added["createdAt"],
    }
    assert listed(engine, account) == [added]
    assert version(engine) > before  # what running servers poll


def test_add_says_what_the_rule_does(database_url: str, account: int) -> None:
    result = optiply(
        *("faults", "add", "--account", str(account), "--method", "POST"),
        *("--path", "/v1/suppliers*", "--status", "503", "--times", "3"),
        url=database_url,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"Added fault rule 1 to account {account}: POST /v1/suppliers* → "
        "status 503, Retry-After 1 s, the first 3 matches."
    )


def test_list_shows_every_rule_with_its_matches(
    database_url: str, engine: Engine, account: int
) -> None:
    other = admin.create_account(engine, name="Other shop").id
    first = add_rule(
        engine, account, action="status", status=503, method="POST", path="/v1/s*", times=3
    )
    second = add_rule(
        engine, account, action="latency", latencyMs=300, jitterMs=50, every=4, times=2
    )
    add_rule(engine, other, action="drop")
    with engine.begin() as connection:
        for _ in range(5):
            sandbox.count_match(connection, first["id"])

    as_json = last_json(
        optiply("faults", "list", "--account", str(account), "--json", url=database_url)
    )
    table = optiply("faults", "list", "--account", str(account), url=database_url)

    assert as_json == {"faults": listed(engine, account)}
    assert [(f["id"], f["matched"], f["fired"]) for f in as_json["faults"]] == [
        (first["id"], 5, 3),
        (second["id"], 0, 0),
    ]
    assert table.returncode == 0, table.stderr
    rows = [
        [cell.strip() for cell in line.split("│" if "│" in line else "┃")[1:-1]]
        for line in table.stdout.splitlines()
        if line.startswith(("│", "┃"))
    ]
    assert rows == [
        ["id", "method", "path", "action", "fires on", "matched", "fired"],
        [
            str(first["id"]),
            "POST",
            "/v1/s*",
            "status 503, Retry-After 1 s",
            "the first 3 matches",
            "5",
            "3",
        ],
        [
            str(second["id"]),
            "any",
            "*",
            "latency 300 ms + up to 50 ms",
            "every 4th match, 2 times at most",
            "0",
            "0",
        ],
    ]
    assert "drop" not in table.stdout  # the other account's rule
    with engine.begin() as connection:
        sandbox.delete_faults(connection, other)
    empty = optiply("faults", "list", "--account", str(other), url=database_url)
    assert empty.stdout.strip() == f"No fault rules in account {other}."
    assert last_json(
        optiply("faults", "list", "--account", str(other), "--json", url=database_url)
    ) == {"faults": []}


def test_clear_deletes_one_rule_or_all_of_an_accounts(
    database_url: str, engine: Engine, account: int
) -> None:
    other = admin.create_account(engine, name="Other shop").id
    rules = [add_rule(engine, account, action="drop", times=n) for n in (1, 2, 3)]
    kept = add_rule(engine, other, action="drop")
    before = version(engine)

    one = last_json(
        optiply(
            *("faults", "clear", "--account", str(account), "--id", str(rules[1]["id"])),
            "--json",
            url=database_url,
        )
    )
    assert one == {"cleared": 1}
    assert [f["id"] for f in listed(engine, account)] == [rules[0]["id"], rules[2]["id"]]
    assert version(engine) > before

    rest = optiply("faults", "clear", "--account", str(account), url=database_url)
    assert rest.returncode == 0, rest.stderr
    assert rest.stdout.strip() == f"Deleted 2 fault rules of account {account}."
    assert listed(engine, account) == []
    assert [f["id"] for f in listed(engine, other)] == [kept["id"]]
    again = optiply("faults", "clear", "--account", str(account), "--json", url=database_url)
    assert last_json(again) == {"cleared": 0}


def test_accounts_update_changes_the_settings_and_prints_them(
    database_url: str, engine: Engine, account: int
) -> None:
    def update(*options: str) -> Any:
        result = optiply("accounts", "update", str(account), *options, "--json", url=database_url)
        answer = last_json(result)
        assert answer == settings(engine, account)  # printed as stored
        return answer

    limited = update("--rate-limit", "20", "--burst", "5")
    assert limited == {"accountId": account, "rateLimit": 20.0, "burst": 5, "compat": "strict"}
    assert update("--burst", "7")["burst"] == 7  # the account has a limit: the burst alone
    assert update("--compat", "production") == {**limited, "burst": 7, "compat": "production"}
    assert update("--rate-limit", "2.5") == {
        **limited,
        "rateLimit": 2.5,
        "burst": 7,
        "compat": "production",
    }
    assert update("--rate-limit", "0") == {
        "accountId": account,
        "rateLimit": None,
        "burst": None,
        "compat": "production",
    }
    assert update("--rate-limit", "3")["burst"] == 3  # the rate rounded up: the old burst is gone
    human = optiply("accounts", "update", str(account), "--compat", "strict", url=database_url)
    assert human.returncode == 0, human.stderr
    assert human.stdout.strip() == (
        f"Account {account}: rate limit 3/s per token, burst 3, compat strict."
    )


NO_ACTION = "give exactly one action: --status, --latency-ms, --hang, --drop, --broken"
BAD_INPUT = {  # id → (options after the account (ACCOUNT: the account's id), the words of the error)
    "no action": (["faults", "add", "--account", "ACCOUNT"], [NO_ACTION]),
    "no action, only parameters": (
        ["faults", "add", "--account", "ACCOUNT", "--hang-s", "3", "--times", "2"],
        [NO_ACTION],
    ),
    "two actions": (["faults", "add", "--account", "ACCOUNT", "--drop", "--broken"], [NO_ACTION]),
    "status and latency": (
        ["faults", "add", "--account", "ACCOUNT", "--status", "503", "--latency-ms", "5"],
        [NO_ACTION],
    ),
    "commit-then-fail drop and more": (
        ["faults", "add", "--account", "ACCOUNT", "--commit-then-fail", "--drop", "--hang"],
        [NO_ACTION],
    ),
    "times with probability": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--times", "3", "--probability", ".5"],
        ["--times does not go with --probability"],
    ),
    "every with probability": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--every", "2", "--probability", ".5"],
        ["--every does not go with --probability"],
    ),
    "status 200": (
        ["faults", "add", "--account", "ACCOUNT", "--status", "200"],
        ["--status must be an integer from 400 to 599: 200"],
    ),
    "probability 2": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--probability", "2"],
        ["--probability must be in (0, 1]: 2.0"],
    ),
    "times 0": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--times", "0"],
        ["--times must be an integer from 1"],
    ),
    "retry-after without status": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--retry-after", "3"],
        ["--retry-after goes with the status action, not drop"],
    ),
    "jitter without latency": (
        ["faults", "add", "--account", "ACCOUNT", "--status", "500", "--jitter-ms", "3"],
        ["--jitter-ms goes with the latency action, not status"],
    ),
    "latency 0": (
        ["faults", "add", "--account", "ACCOUNT", "--latency-ms", "0"],
        ["--latency-ms must be an integer from 1 to 600000: 0"],
    ),
    "hang-s 0": (
        ["faults", "add", "--account", "ACCOUNT", "--hang", "--hang-s", "0"],
        ["--hang-s must be a number of seconds"],
    ),
    "method BREW": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--method", "BREW"],
        ["--method must be one of GET, POST, PATCH, DELETE: 'BREW'"],
    ),
    "relative path": (
        ["faults", "add", "--account", "ACCOUNT", "--drop", "--path", "v1/products"],
        ["--path must be a glob starting with /"],
    ),
    "add: unknown account": (["faults", "add", "--account", "999", "--drop"], ["no account 999"]),
    "list: unknown account": (["faults", "list", "--account", "999"], ["no account 999"]),
    "clear: unknown account": (["faults", "clear", "--account", "999"], ["no account 999"]),
    "clear: unknown rule": (
        ["faults", "clear", "--account", "ACCOUNT", "--id", "999"],
        ["no fault rule 999 in account"],
    ),
    "clear: another account's rule": (
        ["faults", "clear", "--account", "ACCOUNT", "--id", "RULE"],
        ["no fault rule", "in account"],
    ),
    "rate-limit -1": (
        ["accounts", "update", "ACCOUNT", "--rate-limit", "-1"],
        ["--rate-limit must be a number of requests per second from 0.01 to 100000"],
    ),
    "burst without a rate limit": (
        ["accounts", "update", "ACCOUNT", "--burst", "5"],
        ["--burst needs a rate limit: account", "has none, give --rate-limit"],
    ),
    "burst with rate-limit 0": (
        ["accounts", "update", "ACCOUNT", "--rate-limit", "0", "--burst", "5"],
        ["--burst: a burst needs a rate limit (--rate-limit above 0)"],
    ),
    "burst 0": (
        ["accounts", "update", "ACCOUNT", "--rate-limit", "5", "--burst", "0"],
        ["--burst must be an integer from 1 to 100000: 0"],
    ),
    "compat bogus": (
        ["accounts", "update", "ACCOUNT", "--compat", "bogus"],
        ["--compat must be strict or production, got 'bogus'"],
    ),
    "update: nothing": (
        ["accounts", "update", "ACCOUNT"],
        ["nothing to change: give --rate-limit, --burst or --compat"],
    ),
    "update: unknown account": (
        ["accounts", "update", "999", "--rate-limit", "5"],
        ["no account 999"],
    ),
}


def test_bad_input_is_one_line_on_stderr_and_writes_nothing(
    database_url: str, engine: Engine, account: int
) -> None:
    """Every row of ``BAD_INPUT``, run in this process (the error is decided inside the command;
    an interpreter per row would cost a second each): exit 1, one line, no change at all."""
    other = admin.create_account(engine, name="Other shop").id
    foreign = add_rule(engine, other, action="drop")
    mine = add_rule(engine, account, action="drop")
    before = (version(engine), listed(engine, account), listed(engine, other))
    values = {"ACCOUNT": str(account), "RULE": str(foreign["id"])}

    misses = bad_input_misses(
        BAD_INPUT, database_url=database_url, fill=lambda word: values.get(word, word)
    )

    assert misses == {}
    assert (version(engine), listed(engine, account), listed(engine, other)) == before
    assert listed(engine, account) == [mine]
    assert settings(engine, account)["rateLimit"] is None


def test_bad_input_from_a_real_process_is_one_line_too(database_url: str, account: int) -> None:
    result = optiply(
        *("faults", "add", "--account", str(account), "--drop", "--broken"), url=database_url
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert (
        result.stderr
        == f"error: {NO_ACTION}, --commit-then-fail (with --drop: commit, then drop the connection) or --expired-token\n"
    )
