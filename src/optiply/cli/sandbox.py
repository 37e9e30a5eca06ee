"""``optiply faults add|list|clear`` and ``optiply accounts update``: the sandbox's fault rules
and an account's rate limit and compat mode, changed in the database.

Input is checked by ``sandbox.rules.checked_rule`` and ``sandbox.limits.checked_settings`` and
stored by ``storage.sandbox``: the code behind ``/sandbox/faults`` and ``/sandbox/settings``, so
an option means what its JSON member means there (``--latency-ms`` is ``latencyMs``). Every
change bumps the controls' version, which each server process polls: running servers apply it
within a second, without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from sqlalchemy import Connection

from optiply.cli.common import DEFAULT_DATABASE_URL, DatabaseUrl, JsonOutput, database, fail, report
from optiply.server.sandbox import limits, rules
from optiply.server.sandbox.rules import Action, InputError
from optiply.server.storage import journal, sandbox

faults_app = typer.Typer(
    help="Sandbox fault rules: make the API fail on purpose for an account.",
    no_args_is_help=True,
)

RULE_OPTIONS = {  # JSON member (rules.MEMBERS) → the option of `faults add`
    "action": "the action",
    "method": "--method",
    "path": "--path",
    "status": "--status",
    "retryAfter": "--retry-after",
    "latencyMs": "--latency-ms",
    "jitterMs": "--jitter-ms",
    "hangS": "--hang-s",
    "dropAfterCommit": "--drop",
    "times": "--times",
    "every": "--every",
    "probability": "--probability",
    "seed": "--seed",
}
SETTING_OPTIONS = {"rateLimit": "--rate-limit", "burst": "--burst", "compat": "--compat"}
_ACTIONS = (
    "--status, --latency-ms, --hang, --drop, --broken, --commit-then-fail (with --drop: "
    "commit, then drop the connection) or --expired-token"
)

AccountOption = Annotated[int, typer.Option("--account", help="The account the rules are for.")]


@faults_app.command("add")
def faults_add(
    account: AccountOption,
    method: Annotated[
        str | None, typer.Option("--method", help="Only this HTTP method (default: any).")
    ] = None,
    path: Annotated[
        str | None,
        typer.Option("--path", help="A path glob with * and ?, e.g. '/v1/products*' (default *)."),
    ] = None,
    status: Annotated[
        int | None,
        typer.Option("--status", help="Action: answer this status (400-599) as a JSON:API error."),
    ] = None,
    retry_after: Annotated[
        int | None,
        typer.Option("--retry-after", help="With --status: the Retry-After seconds (429/503: 1)."),
    ] = None,
    latency_ms: Annotated[
        int | None,
        typer.Option("--latency-ms", help="Action: handle the request, answer this much later."),
    ] = None,
    jitter_ms: Annotated[
        int | None,
        typer.Option("--jitter-ms", help="With --latency-ms: up to this much more (seeded)."),
    ] = None,
    hang: Annotated[
        bool, typer.Option("--hang", help="Action: hold the request unanswered, then drop it.")
    ] = False,
    hang_s: Annotated[
        float | None, typer.Option("--hang-s", help="With --hang: seconds to hold (default 30).")
    ] = None,
    drop: Annotated[
        bool, typer.Option("--drop", help="Action: close the connection without an answer.")
    ] = False,
    broken: Annotated[
        bool, typer.Option("--broken", help="Action: a status line and part of a body, then close.")
    ] = False,
    commit_then_fail: Annotated[
        bool,
        typer.Option(
            "--commit-then-fail",
            help="Action: handle and commit the request, then answer 500 (with --drop: close "
            "the connection instead).",
        ),
    ] = False,
    expired_token: Annotated[
        bool,
        typer.Option("--expired-token", help="Action: answer 401 as an expired token would."),
    ] = False,
    times: Annotated[
        int | None,
        typer.Option("--times", help="Fire N times at most: the next N matches (or N-th ones)."),
    ] = None,
    every: Annotated[int | None, typer.Option("--every", help="Fire on every N-th match.")] = None,
    probability: Annotated[
        float | None,
        typer.Option("--probability", help="Fire on a match with this probability (0 to 1]."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="The seed of the draws (probability, jitter); default 0."),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Add a fault rule to an account; running servers apply it within a second.

    The rule fires on every match, every N-th (--every) or with a seeded --probability;
    --times caps how often (--every 3 --times 1: only the third match). Matches are counted
    across every server process sharing the database.
    """
    chosen = {
        Action.STATUS: status is not None,
        Action.LATENCY: latency_ms is not None,
        Action.HANG: hang,
        Action.DROP: drop,
        Action.BROKEN: broken,
        Action.COMMIT_THEN_FAIL: commit_then_fail,
        Action.EXPIRED_TOKEN: expired_token,
    }
    actions = [action for action, given in chosen.items() if given]
    drop_after_commit = None
    if actions == [Action.DROP, Action.COMMIT_THEN_FAIL]:
        actions, drop_after_commit = [Action.COMMIT_THEN_FAIL], True
    if len(actions) != 1:
        fail(f"give exactly one action: {_ACTIONS}")
    values = {
        "action": actions[0].value,
        "method": method,
        "path": path,
        "status": status,
        "retryAfter": retry_after,
        "latencyMs": latency_ms,
        "jitterMs": jitter_ms,
        "hangS": hang_s,
        "dropAfterCommit": drop_after_commit,
        "times": times,
        "every": every,
        "probability": probability,
        "seed": seed,
    }
    try:
        checked = rules.checked_rule(values)
    except InputError as error:
        fail(_in_options(error, RULE_OPTIONS))
    with _account_transaction(database_url, account) as connection:
        added = sandbox.add_fault(connection, account, checked, datetime.now(UTC))
    report(
        as_json,
        added,
        f"Added fault rule {added['id']} to account {account}: {_request(added)} → "
        f"{_action(added)}, {_when(added)}.",
    )


@faults_app.command("list")
def faults_list(
    account: AccountOption,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """List an account's fault rules, oldest first, with how often each matched and fired."""
    with database(database_url) as engine, engine.connect() as connection:
        _check_account(connection, account)
        listed = sandbox.list_faults(connection, account)
    if as_json:
        report(True, {"faults": listed})
    elif not listed:
        typer.echo(f"No fault rules in account {account}.")
    else:
        Console().print(_table(listed))


@faults_app.command("clear")
def faults_clear(
    account: AccountOption,
    rule_id: Annotated[
        int | None,
        typer.Option("--id", help="Delete only this rule (default: every rule of the account)."),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Delete one fault rule of an account, or all of them.

    Running servers stop applying them within a second.
    """
    with _account_transaction(database_url, account) as connection:
        cleared = sandbox.delete_faults(connection, account, rule_id)
        if rule_id is not None and not cleared:
            fail(f"no fault rule {rule_id} in account {account}")
    noun = "rule" if cleared == 1 else "rules"
    report(as_json, {"cleared": cleared}, f"Deleted {cleared} fault {noun} of account {account}.")


def accounts_update(
    account: Annotated[int, typer.Argument(help="The account's id.")],
    rate_limit: Annotated[
        float | None,
        typer.Option(
            "--rate-limit",
            help="Requests per second per access token; beyond it, 429 with Retry-After. "
            "0 turns the limit off.",
            show_default=False,
        ),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option(
            "--burst",
            help="Requests allowed at once under the rate limit (default: the rate rounded up).",
            show_default=False,
        ),
    ] = None,
    compat: Annotated[
        str | None,
        typer.Option(
            "--compat",
            help="strict: bad input the hosted API fails on is a 400 with a pointer; "
            "production: a 500, as the hosted API answers.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: JsonOutput = False,
) -> None:
    """Change an account's sandbox settings: its rate limit, its compat mode.

    Running servers apply them within a second.
    """
    given = {"rateLimit": rate_limit, "burst": burst, "compat": compat}
    values = {member: value for member, value in given.items() if value is not None}
    if not values:
        fail("nothing to change: give --rate-limit, --burst or --compat")
    try:
        changes = limits.checked_settings(values)
    except InputError as error:
        fail(_in_options(error, SETTING_OPTIONS))
    with _account_transaction(database_url, account) as connection:
        if burst is not None and rate_limit is None:
            if sandbox.get_settings(connection, account).rate_limit is None:
                fail(f"--burst needs a rate limit: account {account} has none, give --rate-limit")
        settings = sandbox.put_settings(connection, account, changes, datetime.now(UTC))
    shown = settings.to_json()
    limit = (
        "no rate limit"
        if settings.rate_limit is None
        else f"rate limit {settings.rate_limit:g}/s per token, burst {shown['burst']}"
    )
    report(as_json, shown, f"Account {account}: {limit}, compat {settings.compat}.")


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def _account_transaction(database_url: str, account: int) -> Iterator[Connection]:
    """A transaction on the database, once the account is known to exist."""
    with database(database_url) as engine, engine.begin() as connection:
        _check_account(connection, account)
        yield connection


def _check_account(connection: Connection, account: int) -> None:
    if not journal.account_exists(connection, account):
        fail(f"no account {account}")


def _in_options(error: InputError, options: Mapping[str, str]) -> str:
    """An input error in the words of the command line: the members named become options
    (not where a word names an action: "the status action", "not status").

    >>> _in_options(InputError("jitterMs", "jitterMs goes with the latency action, not status"),
    ...     RULE_OPTIONS)
    '--jitter-ms goes with the latency action, not status'
    >>> _in_options(InputError("times", "times does not go with probability"), RULE_OPTIONS)
    '--times does not go with --probability'
    >>> _in_options(InputError("burst", "a burst needs a rate limit (rateLimit above 0)"),
    ...     SETTING_OPTIONS)
    '--burst: a burst needs a rate limit (--rate-limit above 0)'
    """
    words = "|".join(re.escape(member) for member in options if member != "action")
    pattern = re.compile(rf"(?<!\bthe )(?<!\bnot )(?<!\ba )\b({words})\b(?! action)")
    message = pattern.sub(lambda found: options[found.group(1)], error.message)
    option = options.get(error.member, error.member)
    return message if option in message else f"{option}: {message}"


def _request(fault: Mapping[str, Any]) -> str:
    return f"{fault['method'] or 'any method'} {fault['path']}"


def _action(fault: Mapping[str, Any]) -> str:
    """The action and its parameters, e.g. ``status 503, Retry-After 1 s``."""
    action = Action(fault["action"])
    if action is Action.STATUS:
        retry = fault["retryAfter"]
        return f"status {fault['status']}" + ("" if retry is None else f", Retry-After {retry} s")
    if action is Action.LATENCY:
        jitter = fault["jitterMs"]
        return f"latency {fault['latencyMs']} ms" + (f" + up to {jitter} ms" if jitter else "")
    if action is Action.HANG:
        return f"hang {fault['hangS']:g} s"
    if action is Action.COMMIT_THEN_FAIL:
        return f"commit, then {'drop' if fault['dropAfterCommit'] else '500'}"
    return action.value


def _when(fault: Mapping[str, Any]) -> str:
    """Which matches fire, e.g. ``the first 3 matches``, ``every 4th match, 2 times at most``."""
    times, every = fault["times"], fault["every"]
    if every is not None and every > 1:
        cap = "" if times is None else f", {'once' if times == 1 else f'{times} times'} at most"
        return f"every {_nth(every)} match{cap}"
    if times is not None:
        return "the first match" if times == 1 else f"the first {times} matches"
    if fault["probability"] is not None:
        return f"probability {fault['probability']:g} (seed {fault['seed']})"
    return "every match"


def _nth(number: int) -> str:
    """``4th``, ``22nd``, ``13th``.

    >>> [_nth(n) for n in (2, 3, 4, 11, 21, 112)]
    ['2nd', '3rd', '4th', '11th', '21st', '112th']
    """
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"


def _table(faults: list[dict[str, Any]]) -> Table:
    path = Column("path", overflow="fold")  # cut, a glob would say something else
    table = Table("id", "method", path, "action", "fires on", "matched", "fired")
    for fault in faults:
        table.add_row(
            str(fault["id"]),
            fault["method"] or "any",
            Text(fault["path"]),
            _action(fault),
            _when(fault),
            str(fault["matched"]),
            str(fault["fired"]),
        )
    return table
