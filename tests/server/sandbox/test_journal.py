"""The request journal (docs/sandbox.md): every /v1 and /api/auth request recorded, secrets
never, off the request path, read over HTTP and by ``optiply requests``, on each backend."""

from __future__ import annotations

import base64
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete, func, select

import web
from live import (
    JSONAPI,
    OPTIPLY,
    LiveServer,
    Login,
    ServeProcess,
    last_json,
    make_login,
    run_cli,
    serve_workers,
)
from live import process_env as server_env
from optiply.cli.serve import serve
from optiply.server.sandbox.journal import WRITER_NICE, JournalMiddleware, JournalWriter
from optiply.server.sandbox.records import BODY_LIMIT, Record, RequestNote, row_of
from optiply.server.settings import Settings
from optiply.server.storage.journal_writes import decode_body, encode_body
from optiply.server.storage.tables import sandbox_requests


def flush(server: LiveServer) -> None:
    assert server.app.state.journal.flush()


def journal(
    login: Login, token: str | None = None, path_suffix: str = "", **params: Any
) -> httpx.Response:
    return web.get(
        f"{login.url}/sandbox/requests{path_suffix}",
        params=params,
        headers={"Authorization": f"Bearer {token or login.access_token}"},
    )


def table_dump(engine: Engine) -> str:
    """Every row of the journal, every column, bodies decoded (they are stored compressed)."""
    with engine.connect() as connection:
        rows = connection.execute(select(sandbox_requests)).mappings().all()
    decoded = [
        {
            **row,
            "request_body": decode_body(row["request_body"]),
            "response_body": decode_body(row["response_body"]),
        }
        for row in rows
    ]
    return repr(decoded)


def product(name: str = "Blue mug", **extra: Any) -> dict[str, Any]:
    return {"data": {"type": "products", "attributes": {"name": name, "stockLevel": 1, **extra}}}


def cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        ["requests", *args, "--database-url", database_url], env=server_env(COLUMNS="250")
    )


# --- what is recorded -----------------------------------------------------------------------


def test_every_field_is_recorded(login: Login, api: httpx.Client) -> None:
    created = api.post("/products", params={"accountId": login.account_id}, json=product())
    assert created.status_code == 201
    missing = api.get("/products/999999999")
    assert missing.status_code == 404
    post, get = login.journal(accountId=login.account_id)[-2:]
    assert post["method"] == "POST" and post["path"] == "/v1/products"
    assert post["query"] == f"accountId={login.account_id}"
    assert post["status"] == 201 and post["errorCode"] is None
    assert post["accountId"] == login.account_id and post["accountIds"] == [login.account_id]
    assert post["clientId"] == login.client_id and post["username"] == login.username
    assert post["requestHeaders"]["authorization"] == "***"
    assert post["requestHeaders"]["content-type"] == JSONAPI
    assert json.loads(post["requestBody"]) == product()
    assert json.loads(post["responseBody"]) == created.json()
    assert post["requestTruncated"] is False and post["responseTruncated"] is False
    assert post["resource"] == "products" and post["fault"] is None
    assert post["durationMs"] > 0 and post["at"].endswith("Z")
    assert get["status"] == 404 and get["errorCode"] == "NOT_FOUND"
    assert get["requestBody"] == "" and get["id"] > post["id"]


def test_a_token_request_is_recorded_with_its_client_and_user(login: Login) -> None:
    refused = login.token(grant_type="password", username=login.username, password="wrong")
    assert refused.status_code == 400
    mine = [r for r in login.journal() if r["path"] == "/api/auth/oauth/token"]
    assert [r["status"] for r in mine] == [200, 400]
    assert {r["clientId"] for r in mine} == {login.client_id}
    assert {r["username"] for r in mine} == {login.username}
    assert mine[-1]["errorCode"] == "invalid_grant" and mine[-1]["accountId"] is None
    # Rows without an account are only shown without accountId (they are no account's).
    assert all(r["accountId"] for r in login.journal(accountId=login.account_id))


def test_several_accounts_are_all_recorded(server: LiveServer) -> None:
    login = make_login(server, accounts=2)
    with login.client() as api:
        assert api.get("/products").status_code == 200
        extra = login.extra_account_ids[0]
        assert api.get("/suppliers", params={"accountId": extra}).status_code == 200
    row, narrowed = login.journal(path="/v1/")[-2:]
    assert row["accountId"] is None
    assert row["accountIds"] == [login.account_id, *login.extra_account_ids]
    assert narrowed["accountId"] == extra and narrowed["accountIds"] == [extra]
    assert [r["id"] for r in login.journal(accountId=login.account_id, path="/v1/")] == [row["id"]]
    assert [r["id"] for r in login.journal(accountId=extra, path="/v1/")] == [
        row["id"],
        narrowed["id"],
    ]


# --- secrets --------------------------------------------------------------------------------


def test_secrets_never_reach_the_table_the_api_or_the_cli(server: LiveServer) -> None:
    login = make_login(server)
    url = f"{login.url}/api/auth/oauth/token"
    basic = (login.client_id, login.client_secret)
    secrets = [login.password, login.client_secret, login.access_token, login.refresh_token]
    # The password grant in the form (Basic client auth), in the query string, as multipart,
    # and with the client's secret in the form; a refresh grant in the query string.
    answers = [
        login.token(),
        web.post(
            url,
            params={
                "grant_type": "password",
                "username": login.username,
                "password": login.password,
            },
            auth=basic,
        ),
        web.post(
            url,
            files={
                "grant_type": (None, "password"),
                "username": (None, login.username),
                "password": (None, login.password),
            },
            auth=basic,
        ),
        web.post(
            url,
            data={
                "grant_type": "password",
                "username": login.username,
                "password": login.password,
                "client_id": login.client_id,
                "client_secret": login.client_secret,
            },
        ),
        web.post(
            url,
            params={"grant_type": "refresh_token", "refresh_token": login.refresh_token},
            auth=basic,
        ),
        # The password first in a form (no "&" before it), a form sent as JSON, and JSON sent
        # as a form: hidden all the same.
        web.post(
            url,
            content=f"password={login.password}&grant_type=password&username={login.username}",
            auth=basic,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        web.post(
            url,
            content=f"grant_type=password&password={login.password}",
            auth=basic,
            headers={"Content-Type": "application/json"},
        ),
        web.post(
            url,
            content=json.dumps({"password": login.password}),
            auth=basic,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    for answer in answers:
        for key in ("access_token", "refresh_token"):
            if answer.status_code == 200:
                secrets.append(answer.json()[key])
    assert sum(answer.status_code == 200 for answer in answers) == 6
    with login.client() as api:
        api.post("/products", json=product(password=login.password, access_token="x" * 3))
        api.get("/products", params={"access_token": login.access_token, "page[limit]": 1})
    web.get(f"{login.url}/v1/products", auth=basic)  # Basic on the API: 401, still hidden
    flush(server)
    cli_output = cli(
        "--account",
        str(login.account_id),
        "--jsonl",
        "--limit",
        "1000",
        database_url=server.settings.database_url,
    )
    assert cli_output.returncode == 0, cli_output.stderr
    shown = {
        "table": table_dump(server.engine),
        "api": journal(login, limit=1000).text,
        "jsonl": journal(login, limit=1000, format="jsonl").text,
        "cli": cli_output.stdout,
    }
    assert login.username in shown["api"] and "***" in shown["api"]
    for where, text in shown.items():
        for secret in secrets:
            assert secret not in text, where
            assert secret[:8] not in text, where
    assert base64.b64encode(f"{login.client_id}:".encode()).decode()[:8] not in shown["table"]


# --- truncation, batching, workers, pruning, off --------------------------------------------


def test_bodies_over_64_kib_are_cut_and_flagged(login: Login, api: httpx.Client) -> None:
    big = product("x" * (100 * 1024))
    assert api.post("/products", json=big).status_code == 400
    names = ["y" * 250 + str(i) for i in range(60)]
    for name in names:
        assert api.post("/products", json=product(name[:255])).status_code == 201
    listing = api.get("/products", params={"page[limit]": 100})
    assert len(listing.content) > BODY_LIMIT
    rows = login.journal(accountId=login.account_id, limit=200)
    refused = next(r for r in rows if r["status"] == 400)
    assert refused["requestTruncated"] is True and refused["responseTruncated"] is False
    assert len(refused["requestBody"].encode()) == BODY_LIMIT
    listed = rows[-1]
    assert listed["method"] == "GET" and listed["responseTruncated"] is True
    assert listed["responseBody"].encode() == listing.content[:BODY_LIMIT]
    small = rows[-2]
    assert small["requestTruncated"] is False and small["responseTruncated"] is False


def test_bodies_are_bytes_until_read(login: Login, api: httpx.Client) -> None:
    """Invalid UTF-8 and NUL characters reach the table as sent and read as U+FFFD; a large
    answer (copied into a reused buffer; held as it is when the page cache answered: the second
    and third pages) and a large request are stored whole up to the cut."""
    sent = b'{"data": {"type": "products", "attributes": {"name": "\x00\xff\xfe'
    refused = api.post("/products", content=sent, headers={"Content-Type": JSONAPI})
    assert refused.status_code == 400
    pages = [api.get("/products", params={"page[limit]": 100}) for _ in range(3)]
    rows = login.journal(accountId=login.account_id, limit=4)
    assert rows[0]["requestBody"] == sent.decode("utf-8", errors="replace").replace("\0", "\ufffd")
    for row, page in zip(rows[1:], pages, strict=True):
        assert row["responseBody"].encode() == page.content[:BODY_LIMIT]
        assert row["responseTruncated"] is (len(page.content) > BODY_LIMIT)


def test_an_echoed_secret_cut_by_the_limit_is_hidden_whole() -> None:
    """A secret the request sent, echoed by the answer across the 64 KiB cut: no prefix of it
    is kept (the middleware keeps 4 KiB past the cut for this)."""
    secret = "s3cr3t-" + "x" * 40
    answer = b" " * (BODY_LIMIT - 10) + secret.encode() + b" " * 100
    record = Record(
        datetime.now(UTC),
        "GET",
        "/v1/products",
        f"access_token={secret}".encode(),
        [],
        RequestNote(),
    )
    record.response_chunks, record.response_size = [answer], len(answer)
    row = row_of(record)
    stored = bytes(row["response_body"])
    assert len(stored) == BODY_LIMIT and row["response_truncated"] is True
    assert secret[:4].encode() not in stored and stored.endswith(b"***" + b" " * 7)
    assert row["query"] == "access_token=***"


def test_rows_written_before_zstd_are_still_read() -> None:
    """Bodies stored zlib-compressed (marker 1) by earlier versions read as before."""
    text = json.dumps({"data": [product(f"Mug {i}") for i in range(500)]})
    assert decode_body(b"\x01" + zlib.compress(text.encode(), 1)) == text
    assert decode_body(b"\x00" + b"plain") == "plain"
    assert decode_body(memoryview(encode_body(text.encode()))) == text


def test_the_journal_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPTIPLY_JOURNAL", raising=False)
    assert Settings().journal is True
    assert inspect.signature(serve).parameters["journal"].default is True


def test_count_says_exactly_three_posts(login: Login, api: httpx.Client) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    for name in ("a", "b", "c"):
        assert api.post("/products", json=product(name)).status_code == 201
    api.get("/products")
    api.post("/products", json={"data": {}})  # a 400
    account = login.account_id
    assert login.journal_count(accountId=account, method="POST", status="201", since=since) == 3
    assert login.journal_count(accountId=account, method="post", path="/v1/products") == 4
    assert login.journal_count(accountId=account, status="4xx") == 1
    assert login.journal_count(accountId=account, method="GET") == 1


@pytest.fixture
def journal_workers(server: LiveServer, tmp_path: Path) -> Iterator[ServeProcess]:
    """``optiply serve --journal --workers 2`` on the database of ``server``."""
    with serve_workers(
        server.settings.database_url,
        "--journal",
        log=tmp_path / "serve.log",
        env={"OPTIPLY_PASSWORD_HASH_PROFILE": "test"},
    ) as process:
        yield process


def test_rows_of_both_workers_land_in_one_table(
    server: LiveServer, journal_workers: ServeProcess
) -> None:
    login = make_login(server)
    sent = 60
    errors: list[BaseException] = []

    def send(start: int) -> None:
        try:
            for i in range(start, sent, 6):  # fresh connections: the workers share them out
                response = web.post(
                    f"{journal_workers.url}/v1/products",
                    json=product(f"w{i}"),
                    headers={
                        "Authorization": f"Bearer {login.access_token}",
                        "Content-Type": JSONAPI,
                    },
                )
                assert response.status_code == 201
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    journal_workers.stop()  # each worker writes what it holds as it shuts down
    with server.engine.connect() as connection:
        rows = (
            connection.execute(
                select(sandbox_requests.c.request_body).where(
                    sandbox_requests.c.account_id == login.account_id
                )
            )
            .scalars()
            .all()
        )
    names = sorted(json.loads(decode_body(body))["data"]["attributes"]["name"] for body in rows)
    assert names == sorted(f"w{i}" for i in range(sent))


def test_pruning_keeps_the_newest_n(start_server: Any) -> None:
    live = start_server(journal_size=5)
    login = make_login(live)
    with login.client() as api:
        for i in range(12):
            api.get("/products", params={"page[limit]": i + 1})
    live.stop()  # the last batch is written and pruned on shutdown
    with live.engine.connect() as connection:
        kept = (
            connection.execute(
                select(sandbox_requests.c.query)
                .where(sandbox_requests.c.account_id == login.account_id)
                .order_by(sandbox_requests.c.id)
            )
            .scalars()
            .all()
        )
    assert kept == [f"page%5Blimit%5D={i}" for i in range(8, 13)]


def test_no_journal_records_nothing_and_installs_nothing(start_server: Any) -> None:
    live = start_server(journal=False)
    assert live.app.state.journal is None
    assert all(m.cls is not JournalMiddleware for m in live.app.user_middleware)
    login = make_login(live)
    with login.client() as api:
        assert api.post("/products", json=product()).status_code == 201
    time.sleep(0.3)
    with live.engine.connect() as connection:
        found = connection.scalar(
            select(func.count()).where(
                (sandbox_requests.c.account_id == login.account_id)
                | (sandbox_requests.c.username == login.username)
            )
        )
    assert found == 0


def test_sandbox_and_health_are_not_recorded(login: Login) -> None:
    web.get(f"{login.url}/health")
    journal(login)
    assert not [r for r in login.journal() if not r["path"].startswith(("/v1/", "/api/auth/"))]


# --- reading: filters, formats, tenancy -----------------------------------------------------


def test_filters(login: Login, api: httpx.Client) -> None:
    api.post("/products", json=product())
    api.get("/products")
    api.get("/suppliers")
    api.get("/products/0")
    rows = login.journal(accountId=login.account_id)
    first = rows[0]["id"]
    paths = lambda **p: [r["path"] for r in login.journal(accountId=login.account_id, **p)]  # noqa: E731
    assert paths(path="/v1/products") == ["/v1/products", "/v1/products", "/v1/products/0"]
    assert paths(path="/v1/*s") == ["/v1/products", "/v1/products", "/v1/suppliers"]
    assert paths(path="/v1/products/?") == ["/v1/products/0"]
    assert paths(status="4xx") == ["/v1/products/0"] and paths(status="400") == ["/v1/products/0"]
    assert paths(method="GET", limit=2) == ["/v1/suppliers", "/v1/products/0"]
    assert paths(after=first) == ["/v1/products", "/v1/suppliers", "/v1/products/0"]
    assert paths(since="2999-01-01T00:00:00Z") == [] and len(paths(since="1m")) == 4


def test_json_lines(login: Login, api: httpx.Client) -> None:
    api.get("/products")
    flush(login.server)
    for response in (
        journal(login, format="jsonl"),
        web.get(
            f"{login.url}/sandbox/requests",
            headers={
                "Authorization": f"Bearer {login.access_token}",
                "Accept": "application/x-ndjson",
            },
        ),
    ):
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert lines == journal(login).json()["requests"]


def test_summaries_leave_out_headers_and_bodies_and_one_request_comes_whole(
    server: LiveServer, login: Login, api: httpx.Client
) -> None:
    api.post("/products", json=product())
    api.get("/products")
    whole = login.journal(accountId=login.account_id)
    summaries = journal(login, accountId=login.account_id, bodies="false").json()["requests"]
    heavy = {"requestHeaders", "requestBody", "responseBody"}
    assert summaries == [{k: v for k, v in row.items() if k not in heavy} for row in whole]
    lines = journal(login, accountId=login.account_id, bodies="false", format="jsonl")
    assert [json.loads(line) for line in lines.text.splitlines()] == summaries
    for row in whole:
        one = journal(login, path_suffix=f"/{row['id']}")
        assert one.status_code == 200 and one.json() == {"request": row}
    # Another user's request is not found, nor is one that does not exist; a bad id is a 400.
    other = make_login(server)
    assert journal(other, path_suffix=f"/{whole[0]['id']}").status_code == 404
    assert journal(login, path_suffix="/999999999").json()["errors"][0]["code"] == "NOT_FOUND"
    bad = journal(login, path_suffix="/abc")
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "INVALID_ID"


def test_stats_count_per_resource_and_status(login: Login, api: httpx.Client) -> None:
    api.post("/products", json=product())
    api.get("/products")
    api.get("/products/0")
    flush(login.server)
    response = web.get(
        f"{login.url}/sandbox/stats",
        params={"accountId": login.account_id},
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert response.json() == {
        "stats": [
            {"resource": "products", "status": 200, "count": 1},
            {"resource": "products", "status": 201, "count": 1},
            {"resource": "products", "status": 400, "count": 1},
        ]
    }


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("status", "4x"),
        ("status", "600"),
        ("method", "P0ST"),
        ("path", "products"),
        ("after", "-1"),
        ("limit", "0"),
        ("limit", "10001"),
        ("since", "yesterday"),
        ("since", "999999999d"),
        ("format", "xml"),
        ("bodies", "no"),
        ("accountId", "abc"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    login: Login, parameter: str, value: str
) -> None:
    for path in ("/sandbox/requests", "/sandbox/requests/count", "/sandbox/stats"):
        if parameter in ("format", "bodies") and path != "/sandbox/requests":
            continue
        response = web.get(
            f"{login.url}{path}",
            params={parameter: value},
            headers={"Authorization": f"Bearer {login.access_token}"},
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["errors"][0]["source"] == {"parameter": parameter}


def test_tenancy(server: LiveServer, login: Login, api: httpx.Client) -> None:
    api.post("/products", json=product())
    assert web.get(f"{login.url}/v1/products").status_code == 401  # nobody's: no account
    assert web.get(f"{login.url}/v1/nowhere").status_code == 404  # no route: no account
    other = make_login(server)
    flush(server)
    refused = journal(other, accountId=login.account_id)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "ACCOUNT_FORBIDDEN"
    theirs = journal(other, limit=10000).json()["requests"]
    assert theirs and {r["username"] for r in theirs} == {other.username}
    mine = journal(login, accountId=login.account_id).json()["requests"]
    assert mine and {r["accountId"] for r in mine} == {login.account_id}
    assert journal(login, token="not-a-token").status_code == 401
    assert web.get(f"{login.url}/sandbox/requests").status_code == 401


def test_reading_needs_the_read_scope(server: LiveServer) -> None:
    writer = make_login(server, scopes=("write",))
    refused = journal(writer)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"


# --- the CLI --------------------------------------------------------------------------------


def test_cli_count_and_jsonl(server: LiveServer, login: Login, api: httpx.Client) -> None:
    for name in ("a", "b", "c"):
        api.post("/products", json=product(name))
    api.get("/products/0")
    flush(server)
    url, account = server.settings.database_url, str(login.account_id)
    counted = cli("--account", account, "--count", "--method", "POST", database_url=url)
    assert counted.stdout.strip() == "3", counted.stderr
    as_json = cli("--account", account, "--count", "--status", "4xx", "--json", database_url=url)
    assert last_json(as_json) == {"count": 1}
    lines = cli("--account", account, "--jsonl", "--limit", "2", database_url=url)
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in rows] == [
        ("POST", "/v1/products", 201),
        ("GET", "/v1/products/0", 400),
    ]
    assert json.loads(rows[0]["requestBody"]) == product("c")
    assert rows[0]["fault"] is None and rows[1]["responseBody"].startswith('{"errors"')
    table = cli("--account", account, database_url=url)
    assert table.returncode == 0 and "/v1/products/0" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "4x"], "--status"),
        (["--since", "later"], "--since"),
        (["--path", "v1"], "--path"),
        (["--limit", "0"], "--limit"),
        (["--count", "--follow"], "--count"),
    ],
)
def test_cli_bad_input_is_one_line(
    server: LiveServer, login: Login, args: list[str], message: str
) -> None:
    done = cli("--account", str(login.account_id), *args, database_url=server.settings.database_url)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr


def test_cli_unknown_account(server: LiveServer) -> None:
    done = cli("--account", "999999999", database_url=server.settings.database_url)
    assert done.returncode == 1 and done.stderr.strip() == "error: no account 999999999"


@pytest.mark.parametrize("jsonl", [True, False], ids=["jsonl", "table"])
def test_cli_follow_shows_new_requests_until_interrupted(
    server: LiveServer, login: Login, api: httpx.Client, jsonl: bool
) -> None:
    api.get("/products", params={"page[limit]": 1})
    flush(server)
    command = [
        *OPTIPLY,
        "requests",
        "--account",
        str(login.account_id),
        "--follow",
        "--database-url",
        server.settings.database_url,
        *(["--jsonl"] if jsonl else []),
    ]
    follower = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server_env(COLUMNS="200"),
    )
    assert follower.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout or ()), daemon=True)
    reader.start()
    # Following (not still starting: a Ctrl-C then is a KeyboardInterrupt at the top level):
    # the first row printed (JSON Lines), or rich's refresh thread running (the table).
    deadline = time.monotonic() + 30
    while not (lines if jsonl else len(list(Path(f"/proc/{follower.pid}/task").iterdir())) > 1):
        assert time.monotonic() < deadline and follower.poll() is None
        time.sleep(0.05)
    api.get("/products", params={"page[limit]": 2})
    flush(server)
    time.sleep(1.5)  # polled (every 0.5 s) at least twice
    follower.send_signal(signal.SIGINT)
    follower.wait(timeout=20)
    reader.join(timeout=20)
    out, err = "".join(lines), follower.stderr.read() if follower.stderr else ""
    assert follower.returncode == 0, err
    assert err == ""
    if jsonl:
        queries = [json.loads(line)["query"] for line in out.splitlines()]
        assert queries == ["page%5Blimit%5D=1", "page%5Blimit%5D=2"]
    else:
        assert "page%5Blimit%5D=1" in out and "page%5Blimit%5D=2" in out


def test_migration_0003_downgrades_and_upgrades(tmp_path: Path) -> None:
    from alembic import command

    from optiply.server.storage.engine import make_engine
    from optiply.server.storage.migrate import alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        command.upgrade(config, "0003")
    with engine.begin() as connection:
        connection.execute(delete(sandbox_requests))
    engine.dispose()


def test_a_stopping_writer_writes_what_it_holds(server: LiveServer, login: Login) -> None:
    """Records still queued when the server stops are written (the lifespan's shutdown)."""
    writer = JournalWriter(server.engine, keep=100, interval=3600)  # never wakes by itself
    writer.start()
    note = RequestNote(account_ids=(login.account_id,), username=login.username)
    for index in range(3):
        writer.put(Record(datetime.now(UTC), "GET", f"/v1/stop-{index}", b"", [], note))
    writer.stop()
    with server.engine.connect() as connection:
        paths = (
            connection.execute(
                select(sandbox_requests.c.path).where(sandbox_requests.c.path.like("/v1/stop-%"))
            )
            .scalars()
            .all()
        )
    assert sorted(paths) == ["/v1/stop-0", "/v1/stop-1", "/v1/stop-2"]


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_the_writer_works_at_a_lower_cpu_priority_than_the_requests(server: LiveServer) -> None:
    """The writer thread yields the CPU to the event loop (``WRITER_NICE``)."""
    writer = JournalWriter(server.engine, keep=100, interval=3600)
    writer.start()
    try:
        writer.flush()  # the thread has started and set its priority
        assert writer._thread.native_id is not None
        own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert os.getpriority(os.PRIO_PROCESS, writer._thread.native_id) == min(
            own + WRITER_NICE, 19
        )
    finally:
        writer.stop()
