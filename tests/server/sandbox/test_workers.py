"""Fault rules and account settings changed with the CLI reach every worker of a running
``optiply serve --workers 2`` within a second, and act exactly across them: a rule's matches
are counted in the database, a rate limit's cell is shared.

One two-worker server per backend serves the whole module, on a database of its own; each test
makes its own account, user and token. Each check sends its requests concurrently from threads,
each on a fresh connection, so both workers answer some of them. After a CLI change a test waits
``SETTLE`` seconds: a worker re-reads the controls at most every 0.5 s (``sandbox.controls``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

import web
from live import BACKENDS, JSONAPI, empty_database, last_json, run_cli, serve_workers
from optiply.server.auth import admin
from optiply.server.auth.principal import TOKEN_PATH
from optiply.server.storage import sandbox
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import RESOURCE_TABLES, sandbox_requests

SETTLE = 1.1  # seconds: every worker has re-read the controls by then
REQUESTS = 20


@dataclass
class Workers:
    """``optiply serve --workers 2`` on a database of its own."""

    base: str
    database_url: str
    engine: Engine


@pytest.fixture(scope="module", params=BACKENDS)
def workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    directory = tmp_path_factory.mktemp("workers")
    with empty_database(request.param, directory) as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            with serve_workers(url, log=directory / "serve.log") as process:
                yield Workers(process.url, url, engine)
        finally:
            engine.dispose()
    log = process.log.read_text()
    assert "Traceback" not in log, log


@dataclass
class Login:
    account: int
    token: str


@pytest.fixture
def login(workers: Workers) -> Login:
    """A fresh account with a user and a client, and a token from the two-worker server."""
    tag = uuid.uuid4().hex[:10]
    account = admin.create_account(workers.engine, name=f"Shop {tag}").id
    admin.create_user(workers.engine, username=f"user-{tag}", password="pw", account_ids=[account])
    client = admin.create_client(workers.engine, name=f"client-{tag}")
    answer = web.post(
        f"{workers.base}{TOKEN_PATH}",
        data={"grant_type": "password", "username": f"user-{tag}", "password": "pw"},
        auth=(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.text
    return Login(account, answer.json()["access_token"])


def optiply(workers: Workers, *args: str) -> Any:
    """Run ``optiply ARGS --json`` on the server's database (the command in this process:
    ``live.run_cli``); its JSON line, once it returned."""
    return last_json(run_cli([*args, "--json", "--database-url", workers.database_url]))


Send = Callable[[httpx.Client], httpx.Response]


def fresh_client(workers: Workers) -> httpx.Client:
    """A client with a connection of its own."""
    return web.Client(base_url=workers.base, timeout=30)


def concurrently(workers: Workers, send: Send, count: int = REQUESTS) -> list[httpx.Response]:
    """``count`` requests at once from as many threads, each on a fresh connection."""

    def one(_: int) -> httpx.Response:
        with fresh_client(workers) as client:
            return send(client)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


def headers(login: Login) -> dict[str, str]:
    return {"Authorization": f"Bearer {login.token}", "Accept": JSONAPI, "Content-Type": JSONAPI}


def post_supplier(login: Login) -> Send:
    body = {"data": {"type": "suppliers", "attributes": {"name": "Supplier"}}}
    return lambda client: client.post("/v1/suppliers", json=body, headers=headers(login))


def get_suppliers(login: Login) -> Send:
    return lambda client: client.get("/v1/suppliers", headers=headers(login))


def suppliers(workers: Workers, account: int) -> int:
    table = RESOURCE_TABLES["suppliers"]
    with workers.engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(table).where(table.c.account_id == account)
            )
            or 0
        )


def test_a_rule_added_with_the_cli_fails_exactly_its_next_matches_across_workers(
    workers: Workers, login: Login
) -> None:
    account = str(login.account)
    rule = optiply(
        workers,
        *("faults", "add", "--account", account, "--method", "POST"),
        *("--path", "/v1/suppliers*", "--status", "503", "--times", "3"),
    )
    time.sleep(SETTLE)

    answers = concurrently(workers, post_supplier(login))

    assert statuses(answers) == {503: 3, 201: 17}
    for failed in (a for a in answers if a.status_code == 503):
        assert failed.headers["retry-after"] == "1"
        assert failed.json()["errors"][0]["code"] == "SANDBOX_FAULT"
    assert suppliers(workers, login.account) == 17  # the failed ones wrote nothing
    with workers.engine.connect() as connection:
        (listed,) = sandbox.list_faults(connection, login.account)
    assert (listed["id"], listed["matched"], listed["fired"]) == (rule["id"], 20, 3)


def test_every_nth_match_fails_across_workers_until_the_rules_are_cleared(
    workers: Workers, login: Login
) -> None:
    account = str(login.account)
    optiply(
        workers,
        *("faults", "add", "--account", account, "--method", "GET"),
        *("--path", "/v1/suppliers", "--status", "502", "--every", "4"),
    )
    time.sleep(SETTLE)

    assert statuses(concurrently(workers, get_suppliers(login))) == {502: 5, 200: 15}

    assert optiply(workers, "faults", "clear", "--account", account) == {"cleared": 1}
    time.sleep(SETTLE)

    assert statuses(concurrently(workers, get_suppliers(login))) == {200: REQUESTS}


def test_a_rate_limit_set_with_the_cli_is_shared_by_the_workers(
    workers: Workers, login: Login
) -> None:
    """Four threads hammer with one token for about two seconds: what gets through is the
    burst plus the rate times the time taken (GCRA), whichever worker answers."""
    settings = optiply(
        workers, "accounts", "update", str(login.account), "--rate-limit", "20", "--burst", "5"
    )
    assert settings == {
        "accountId": login.account,
        "rateLimit": 20.0,
        "burst": 5,
        "compat": "strict",
    }
    time.sleep(SETTLE)
    clients = [fresh_client(workers) for _ in range(4)]
    until = time.monotonic() + 2.0

    def hammer(client: httpx.Client) -> list[tuple[float, float, httpx.Response]]:
        timed = []
        with client:
            while time.monotonic() < until:
                sent = time.monotonic()
                response = client.get("/v1/suppliers", headers=headers(login))
                timed.append((sent, time.monotonic(), response))
        return timed

    with ThreadPoolExecutor(4) as pool:
        timed = [one for some in pool.map(hammer, clients) for one in some]

    # The server saw the requests arrive somewhere between their sending and their answer:
    # the span of arrivals lies between these two.
    longest = max(done for _, done, _ in timed) - min(sent for sent, _, _ in timed)
    allowed = [r for _, _, r in timed if r.status_code == 200]
    refused = [r for _, _, r in timed if r.status_code == 429]
    assert len(allowed) + len(refused) == len(timed)
    assert len(allowed) <= 5 + 20 * longest + 1, ("never more than the limit allows", longest)
    assert len(refused) > len(allowed), "the threads asked for much more than the limit"
    # What GCRA lets through of the requests as the workers met them (their arrival times in
    # the journal): on a loaded machine a starved worker meets them late and in bunches, and
    # the bucket overflows as for an idle client, so the client's clock can't say.
    arrivals = journaled_arrivals(workers, login, len(timed))
    expected = gcra_allows(arrivals, rate=20, burst=5)
    assert abs(len(allowed) - expected) <= 3, ("the limit lets its rate through", expected)
    for response in refused:
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"] == JSONAPI
        (error,) = response.json()["errors"]
        assert (error["status"], error["code"]) == ("429", "RATE_LIMITED")

    off = optiply(workers, "accounts", "update", str(login.account), "--rate-limit", "0")
    assert (off["rateLimit"], off["burst"]) == (None, None)
    time.sleep(SETTLE)

    assert statuses(concurrently(workers, get_suppliers(login), 30)) == {200: 30}


def journaled_arrivals(workers: Workers, login: Login, count: int) -> list[float]:
    """When the workers met the account's ``count`` latest GETs of /v1/suppliers (the
    journal's times), once its writers stored them all."""
    requests = sandbox_requests
    statement = (
        select(requests.c.at)
        .where(requests.c.account_id == login.account, requests.c.path == "/v1/suppliers")
        .order_by(requests.c.id.desc())
        .limit(count)
    )
    deadline = time.monotonic() + 10
    while True:
        with workers.engine.connect() as connection:
            found = [at.timestamp() for at in connection.execute(statement).scalars()]
        if len(found) == count or time.monotonic() > deadline:
            assert len(found) == count, "the journal holds every request"
            return sorted(found)
        time.sleep(0.1)


def gcra_allows(arrivals: list[float], *, rate: float, burst: int) -> int:
    """How many of requests arriving at ``arrivals`` (ascending) a GCRA cell lets through."""
    interval, tat, allowed = 1 / rate, float("-inf"), 0
    for now in arrivals:
        start = max(tat, now)
        if start + interval - now <= burst * interval:
            tat, allowed = start + interval, allowed + 1
    return allowed


def test_the_compat_mode_set_with_the_cli_holds_on_every_worker(
    workers: Workers, login: Login
) -> None:
    body = {"data": {"type": "products", "attributes": {"name": "Mug", "stockLevel": "nan"}}}

    def post_nan(client: httpx.Client) -> httpx.Response:
        return client.post("/v1/products", json=body, headers=headers(login))

    optiply(workers, "accounts", "update", str(login.account), "--compat", "production")
    time.sleep(SETTLE)

    hosted = concurrently(workers, post_nan, 6)

    assert statuses(hosted) == {500: 6}
    (error,) = hosted[0].json()["errors"]
    assert error["code"] == "INTERNAL_ERROR"
    assert error["meta"]["compat"] == "production"

    optiply(workers, "accounts", "update", str(login.account), "--compat", "strict")
    time.sleep(SETTLE)

    strict = concurrently(workers, post_nan, 6)

    assert statuses(strict) == {400: 6}
    (error,) = strict[0].json()["errors"]
    assert error["source"] == {"pointer": "/data/attributes/stockLevel"}
