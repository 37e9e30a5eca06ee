"""The sandbox page, ``GET /sandbox`` (docs/sandbox.md): its routes over HTTP, and the page
itself in a real headless Chromium (Debian's ``chromium``, driven by Playwright, never a
downloaded browser): sign in, watch requests arrive, add a fault, see it fire, no secret left
behind."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import delete

import web
from live import REPO, LiveServer, Login, make_login
from optiply.server.auth import admin
from optiply.server.settings import Settings
from optiply.server.storage.journal_writes import insert_rows
from optiply.server.storage.tables import sandbox_requests

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError as error:  # the browser tests skip, saying why; the HTTP tests still run
    PLAYWRIGHT_MISSING: str | None = str(error)
else:
    PLAYWRIGHT_MISSING = None

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
PAGE_FILES = REPO / "src" / "optiply" / "server" / "sandbox" / "page"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.fixture(scope="module")
def live(database_urls: dict[str, str]) -> Iterator[LiveServer]:
    """A server for this module, on SQLite: the page does not depend on the backend."""
    server = LiveServer(Settings(database_url=database_urls["sqlite"], journal=True)).start()
    yield server
    server.stop()


# --- the routes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/sandbox", "text/html; charset=utf-8"),
        ("/sandbox/static/sandbox.js", "text/javascript; charset=utf-8"),
        ("/sandbox/static/sandbox.css", "text/css; charset=utf-8"),
    ],
    ids=["page", "script", "stylesheet"],
)
def test_the_page_and_its_files_are_served_locked_down(live, path, media_type):
    response = web.get(live.url + path)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    shipped = "index.html" if path == "/sandbox" else path.rsplit("/", 1)[-1]
    assert response.content == (PAGE_FILES / shipped).read_bytes()
    again = web.get(live.url + path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("name", ["index.html", "nope.js", "..%2Fjournal.py", "sandbox.js.map", ""])
def test_only_the_known_files_are_served(live, name):
    response = web.get(f"{live.url}/sandbox/static/{name}")

    assert response.status_code == 404


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for key, value in found.items() if key in ("src", "href") and value]
        self._in_script = tag == "script" and "src" not in found
        assert "style" not in found, f"an inline style on <{tag}> (the CSP forbids it)"
        assert not any(key.startswith("on") for key in found), f"an inline handler on <{tag}>"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_the_page_works_offline_with_files_of_its_own(live):
    page = web.get(f"{live.url}/sandbox").text
    references = _References()
    references.feed(page)

    assert references.inline_scripts == 0
    local = [url for url in references.urls if not url.startswith("data:")]
    assert sorted(local) == ["sandbox/static/sandbox.css", "sandbox/static/sandbox.js"]
    for url in local:  # relative to /sandbox: works under a path prefix too
        assert web.get(f"{live.url}/{url}").status_code == 200
    for name in ("index.html", "sandbox.js", "sandbox.css"):
        text = (PAGE_FILES / name).read_text()
        assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), name
    assert (
        sum((PAGE_FILES / name).stat().st_size for name in ("sandbox.js", "sandbox.css")) < 60_000
    )


def test_the_index_links_to_the_page(live):
    assert web.get(f"{live.url}/").json()["links"]["sandbox"] == f"{live.url}/sandbox"


# --- in a browser ----------------------------------------------------------------------------


def _no_browser(reason: str) -> None:
    """Skip, saying why; in CI (``.ci/run`` installs the browser) a missing one fails instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        _no_browser(
            f"Debian's chromium is not installed: apt-get install chromium ({CHROMIUM} is "
            "missing; these tests drive it through Playwright and never download a browser)"
        )
    if PLAYWRIGHT_MISSING is not None:
        _no_browser(f"playwright is not importable ({PLAYWRIGHT_MISSING}): run scripts/install")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Watched:
    """A page, with what its console said and what it requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.urls.append(r.url))


@pytest.fixture
def watched(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """A fresh browser context and page; a screenshot in test-artifacts/ when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(5000)
    page = Watched(context.new_page())
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png"
        page.page.screenshot(path=shot, full_page=True)
        print(f"\nscreenshot of the failed page: {shot}")
    context.close()


def sign_in(page: Page, login: Login) -> str:
    """Sign in through the form; returns the access token the page received."""
    page.goto(f"{login.url}/sandbox")
    form = page.locator("#password-form")
    form.locator("[name=client_id]").fill(login.client_id)
    form.locator("[name=client_secret]").fill(login.client_secret)
    form.locator("[name=username]").fill(login.username)
    form.locator("[name=password]").fill(login.password)
    with page.expect_response("**/api/auth/oauth/token") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 200
    token: str = answer.value.json()["access_token"]
    expect(page.locator("#app")).to_be_visible()
    return token


def supplier(name: str) -> dict[str, Any]:
    return {"data": {"type": "suppliers", "attributes": {"name": name}}}


def product(name: str) -> dict[str, Any]:
    return {"data": {"type": "products", "attributes": {"name": name, "stockLevel": 1}}}


def fault_rules(login: Login) -> list[dict[str, Any]]:
    response = web.get(
        f"{login.url}/sandbox/faults",
        params={"accountId": login.account_id},
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert response.status_code == 200, response.text
    faults: list[dict[str, Any]] = response.json()["faults"]
    return faults


def test_sign_in_watch_requests_add_a_fault_and_see_it_fire(live, watched):
    page = watched.page
    login = make_login(live)
    api = login.client()
    page_token = sign_in(page, login)

    expect(page.locator("#who")).to_contain_text(login.username)
    expect(page.locator("#account")).to_have_value(str(login.account_id))
    assert page.locator("#password-form [name=password]").input_value() == ""
    assert page.locator("#password-form [name=client_secret]").input_value() == ""

    # Requests sent from elsewhere show up in the table, newest first.
    assert api.post("/suppliers", json=supplier("Acme")).status_code == 201
    assert api.post("/products", json=product("Blue mug")).status_code == 201
    assert api.post("/products", json=product("Red mug")).status_code == 201
    assert api.get("/products").status_code == 200
    table = page.locator("#requests tbody tr")
    expect(table.first).to_contain_text("/v1/products", timeout=3000)
    expect(table.first).to_contain_text("GET")
    posted = table.filter(has_text="/v1/suppliers")
    expect(posted).to_have_count(1)
    expect(posted.locator("td.status")).to_have_text("201")

    # The detail pane: the bodies pretty-printed, the bearer token hidden.
    posted.click()
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_have_text("POST /v1/suppliers")
    expect(detail.locator("pre.request-body")).to_have_text(json.dumps(supplier("Acme"), indent=2))
    expect(detail.locator("pre.response-body")).to_contain_text('"name": "Acme"')
    authorization = detail.locator(".headers tr", has_text="authorization")
    expect(authorization.locator("td").nth(1)).to_have_text("***")

    # Rows per resource and the chart.
    expect(page.locator("#rows tr[data-resource=products] td.count")).to_have_text("2")
    expect(page.locator("#rows tr[data-resource=suppliers] td.count")).to_have_text("1")
    expect(page.locator("#chart rect.bar").first).to_be_attached()

    # A fault from the form: the next POST /v1/suppliers fails, once.
    form = page.locator("#fault-form")
    form.locator("[name=action]").select_option("status")
    form.locator("[name=method]").select_option("POST")
    form.locator("[name=path]").fill("/v1/suppliers*")
    form.locator("[name=status]").fill("503")
    form.locator("[name=retryAfter]").fill("1")
    form.locator("[name=mode]").select_option("times")
    form.locator("[name=modeValue]").fill("1")
    form.locator("button[type=submit]").click()
    rule = page.locator("#faults tbody tr")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("/v1/suppliers*")
    (fault,) = fault_rules(login)
    assert fault["action"] == "status" and fault["method"] == "POST" and fault["times"] == 1
    assert fault["status"] == 503 and fault["retryAfter"] == 1

    failed = api.post("/suppliers", json=supplier("Beta"))
    assert failed.status_code == 503 and failed.headers["retry-after"] == "1"
    assert api.post("/suppliers", json=supplier("Beta")).status_code == 201

    faulted = page.locator("#requests tbody tr.faulted")
    expect(faulted).to_have_count(1, timeout=3000)
    expect(faulted.locator("td.status")).to_have_text("503")
    expect(faulted.locator("td.fault")).to_have_text(f"fault #{fault['id']}")
    expect(rule.locator("td.fired")).to_have_text("1")
    expect(rule.locator("td.matched")).to_have_text("2")
    faulted.click()
    expect(detail.locator("dd", has_text=f"fault #{fault['id']}")).to_have_count(1)

    # Filters narrow the table.
    page.locator("#filters [name=status]").fill("5xx")
    expect(table).to_have_count(1)
    expect(table.locator("td.status")).to_have_text("503")
    page.locator("#filters [name=status]").fill("")
    expect(table).to_have_count(7)  # the page's GET /v1/accounts, then the six sent here

    # Clearing the rule.
    rule.locator("button[data-clear]").click()
    expect(rule).to_have_count(0)
    assert fault_rules(login) == []

    # No secret anywhere the browser keeps or shows things.
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie, location.href, document.documentElement.outerHTML])"
    )
    for secret in (login.password, login.client_secret, page_token, login.access_token):
        assert secret not in page.content()
        assert secret not in stored
        assert secret not in page.url
    assert page.context.cookies() == []
    assert watched.errors == []


def test_a_pasted_token_works_until_it_is_revoked(live, watched):
    page = watched.page
    login = make_login(live, accounts=2)
    other = login.extra_account_ids[0]
    page.goto(f"{login.url}/sandbox")
    page.locator("#token-form [name=token]").fill(login.access_token)
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#app")).to_be_visible()
    assert page.locator("#token-form [name=token]").input_value() == ""
    expect(page.locator("#account option")).to_have_count(2)

    with page.expect_request(lambda r: f"/sandbox/requests?accountId={other}&" in r.url):
        page.locator("#account").select_option(str(other))
    login.client().get("/products", params={"accountId": other})
    expect(page.locator("#requests tbody tr", has_text="/v1/products")).to_have_count(1)

    admin.revoke_token(live.engine, token=login.access_token)

    expect(page.locator("#notice")).to_have_text("token expired or revoked — sign in again")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()


@pytest.fixture
def crowded(live: LiveServer) -> Iterator[Login]:
    """A login whose account's journal holds 10,000 requests of the last 10 minutes, every tenth
    a 503 (removed afterwards: other tests share the database)."""
    login = make_login(live)
    now = datetime.now(UTC)
    body = json.dumps(product("Mug " + "x" * 500))
    rows = [
        {
            "at": now - timedelta(seconds=600 - i * 0.06),
            "account_id": login.account_id,
            "account_ids": f",{login.account_id},",
            "method": "POST",
            "path": "/v1/products",
            "resource": "products",
            "query": "",
            "status": 201 if i % 10 else 503,
            "duration_ms": 3.5,
            "client_id": login.client_id,
            "username": login.username,
            "request_headers": '{"authorization":"***"}',
            "request_body": body,
            "request_truncated": False,
            "response_body": body,
            "response_truncated": False,
            "error_code": None,
            "fault": None,
        }
        for i in range(10_000)
    ]
    assert insert_rows(live.engine, rows) == 10_000
    yield login
    with live.engine.begin() as connection:
        connection.execute(
            delete(sandbox_requests).where(sandbox_requests.c.account_id == login.account_id)
        )


def test_ten_thousand_requests_show_the_newest_500_and_poll_after_the_last(crowded, watched):
    page = watched.page
    login = crowded
    newest = rows_max_id(login)

    started = time.monotonic()
    sign_in(page, login)
    table = page.locator("#requests tbody tr")
    expect(table).to_have_count(500)
    expect(page.locator("#summary")).to_have_text(re.compile(r"newest 500 of 100\d\d matching"))
    assert time.monotonic() - started < 5
    expect(page.locator("#chart rect.bar.s5xx").first).to_be_attached()

    assert login.client().get("/products").status_code == 200
    expect(table.filter(has_text="GET").filter(has_text="/v1/products")).to_have_count(1)
    expect(table).to_have_count(500)
    listed = [url for url in watched.urls if "/sandbox/requests?" in url]
    assert all("limit=500" in url for url in listed)
    polled = [int(m[1]) for url in listed if (m := re.search(r"[?&]after=(\d+)", url))]
    assert polled and min(polled) >= newest  # polls ask only for rows newer than the table's


def rows_max_id(login: Login) -> int:
    response = web.get(
        f"{login.url}/sandbox/requests",
        params={"accountId": login.account_id, "limit": 1},
        headers={"Authorization": f"Bearer {login.access_token}"},
    )
    assert response.status_code == 200, response.text
    newest: int = response.json()["requests"][-1]["id"]
    return newest
