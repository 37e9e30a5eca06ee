"""The access log: one line per request on the server's stderr, secrets hidden, off by default.

The servers here are real processes (``scripts/serve``, ``optiply serve``), so the test sees what
an operator sees on the terminal, worker processes included.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from pathlib import Path

import pytest

import web
from live import JSONAPI, OPTIPLY, REPO, serving, tmp_sqlite_url
from optiply.server.http.access_log import AccessLog
from optiply.server.http.readahead import Idle
from optiply.server.sandbox.faults import FaultMiddleware
from optiply.server.sandbox.redact import redact_query

TOKEN_PATH = "/api/auth/oauth/token"
SERVE = [*OPTIPLY, "serve"]
SCRIPTS_SERVE = [str(REPO / "scripts" / "serve")]
LINE = re.compile(r"^INFO: +(GET|POST|HEAD|PATCH|DELETE) (/\S*) (\d{3}|-) (\d+\.\d)ms$")


def _credentials(printed: list[str]) -> dict[str, str]:
    pairs = [line.split(": ", 1) for line in printed if line.startswith("  ") and ": " in line]
    return {key.strip(): value.strip() for key, value in pairs}


def _request_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.match(r"^INFO: +[A-Z]+ /", line)]


def test_scripts_serve_logs_each_request_with_secrets_hidden(tmp_path: Path) -> None:
    server = serving(
        SCRIPTS_SERVE,
        *("--workers", "2", "--database-url", tmp_sqlite_url(tmp_path)),
        log=tmp_path / "stderr.log",
    )
    base = server.url
    try:
        shown = _credentials(server.read_until("/v1/products", timeout=300))
        server.wait_for_health(base)
        client = (shown["client_id"], shown["client_secret"])
        # Clients send the grant in the query string, with an empty body.
        password_grant = web.post(
            f"{base}{TOKEN_PATH}",
            params={"grant_type": "password", "username": "demo", "password": shown["password"]},
            auth=client,
        )
        assert password_grant.status_code == 200, password_grant.text
        issued = password_grant.json()
        refresh_grant = web.post(
            f"{base}{TOKEN_PATH}",
            params={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            auth=client,
        )
        assert refresh_grant.status_code == 200, refresh_grant.text
        products = web.get(
            f"{base}/v1/products",
            params={"filter[name][LIKE]": "mug", "page[limit]": "2"},
            headers={"Authorization": f"Bearer {issued['access_token']}", "Accept": JSONAPI},
        )
        assert products.status_code == 200, products.text
        odd = "Client_Secret=cs-7f3a&TOKEN=tk-7f3a&code=cd-7f3a&access_token=at-7f3a&PASS%57ORD=pw-7f3a"
        assert web.get(f"{base}/health?{odd}&x=1").status_code == 200
        for n in range(20):  # new connections, spread over both workers
            closing = {"Connection": "close"}
            assert web.get(f"{base}/health?n={n}", headers=closing).status_code == 200
        assert web.get(f"{base}/nowhere").status_code == 404
    finally:
        log = server.stop()

    lines = _request_lines(log)
    assert lines and all(LINE.match(line) for line in lines), log
    requests = [" ".join(LINE.match(line).group(1, 2, 3)) for line in lines]  # type: ignore[union-attr]
    assert all(f"GET /health?n={n} 200" in requests for n in range(20))  # from each worker
    assert f"POST {TOKEN_PATH}?grant_type=password&username=demo&password=*** 200" in requests
    assert f"POST {TOKEN_PATH}?grant_type=refresh_token&refresh_token=*** 200" in requests
    assert "GET /v1/products?filter%5Bname%5D%5BLIKE%5D=mug&page%5Blimit%5D=2 200" in requests
    assert (
        "GET /health?Client_Secret=***&TOKEN=***&code=***&access_token=***&PASS%57ORD=***&x=1 200"
        in requests
    )
    assert "GET /nowhere 404" in requests
    basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    secrets = [
        shown["password"],
        shown["client_secret"],
        issued["access_token"],
        issued["refresh_token"],
        refresh_grant.json()["access_token"],
        basic,
        *(f"{kind}-7f3a" for kind in ("cs", "tk", "cd", "at", "pw")),
    ]
    for secret in secrets:
        for fragment in (secret, secret[:8], secret[-8:]):
            assert fragment not in log
    assert "Bearer" not in log and "Basic" not in log


@pytest.mark.parametrize(
    ("command", "env"),
    [(SERVE, {}), ([*SCRIPTS_SERVE, "--no-access-log"], {"OPTIPLY_ACCESS_LOG": "true"})],
    ids=["optiply-serve-default", "scripts-serve-no-access-log"],
)
def test_without_the_access_log_no_request_is_logged(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> None:
    server = serving(
        command, "--database-url", tmp_sqlite_url(tmp_path), log=tmp_path / "stderr.log", env=env
    )
    base = server.url
    try:
        server.wait_for_health(base)
        assert web.get(f"{base}/health?password=pw-7f3a").status_code == 200
        assert web.get(f"{base}/v1/products").status_code == 401
    finally:
        log = server.stop()

    assert "Application startup complete" in log  # the server's own log is there
    assert _request_lines(log) == []
    assert "/health" not in log and "pw-7f3a" not in log


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("password=a&username=b", "password=***&username=b"),
        ("PassWord=a", "PassWord=***"),
        ("pass%77ord=a", "pass%77ord=***"),
        ("client_secret=a&refresh_token=b&access_token=c&token=d&code=e", None),
        ("password=", "password="),
        ("password", "password"),
        ("password=a=b&x=password", "password=***&x=password"),
        ("tokens=a&my_password=b", "tokens=a&my_password=b"),
        ("filter[name]=x&page[limit]=5", "filter[name]=x&page[limit]=5"),
        ("a=1&&b=2", "a=1&&b=2"),
    ],
)
def test_redact_query(query: str, logged: str | None) -> None:
    expected = logged or "&".join(f"{part.split('=')[0]}=***" for part in query.split("&"))
    assert redact_query(query) == expected


def test_the_middleware_is_there_only_when_the_access_log_is_on(server, start_server, caplog):
    assert AccessLog not in [middleware.cls for middleware in server.app.user_middleware]
    live = start_server(access_log=True, journal=False)
    assert [middleware.cls for middleware in live.app.user_middleware] == [
        AccessLog,
        Idle,  # read-ahead's (on by default): it counts the requests in flight
        FaultMiddleware,  # always there: it acts on the requests a fault rule fired on
    ]

    with caplog.at_level(logging.INFO, logger="optiply.access"):
        assert web.get(f"{server.url}/health?password=off-7f3a").status_code == 200
        assert web.get(f"{live.url}/health?password=on-7f3a").status_code == 200
        deadline = time.monotonic() + 5  # the line is written once the response is sent
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.01)

    # Where logging is configured (here: pytest's handlers), the lines go there.
    messages = [re.sub(r" \d+\.\dms$", "", record.getMessage()) for record in caplog.records]
    assert messages == ["GET /health?password=*** 200"]
    assert "7f3a" not in caplog.text
