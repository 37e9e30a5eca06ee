"""Read-ahead (``http/readahead.py``): while a client reads a list page, the server makes the
page its next link points at; the client's request for it is answered from that page only if
nothing changed in its accounts since, and only after every check a request goes through."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from live import LiveServer, Login
from optiply.server.auth import admin
from optiply.server.http.readahead import Idle
from support import create

READ_AHEAD = 'cache;desc="read-ahead"'


def settle() -> None:
    """Let the server, idle, make the next page (it starts as soon as an answer is sent)."""
    time.sleep(0.1)


def walk(api: httpx.Client, url: str, **params: str) -> list[httpx.Response]:
    """Every page of a list by ``links.next``, followed verbatim, pausing between pages."""
    pages = [api.get(url, params=params)]
    while pages[-1].json()["links"]["next"]:
        assert pages[-1].status_code == 200, pages[-1].text
        settle()
        pages.append(api.get(pages[-1].json()["links"]["next"]))
    return pages


def names(response: httpx.Response) -> list[str]:
    return [row["attributes"]["name"] for row in response.json()["data"]]


@pytest.fixture
def seven(api: httpx.Client) -> list[str]:
    """Seven products in the login's account, their ids in creation order."""
    return [create(api, "products", name=f"P{n}")["id"] for n in range(7)]


def test_a_walk_by_next_links_is_answered_from_pages_read_ahead(
    login: Login, api: httpx.Client, seven: list[str]
) -> None:
    pages = walk(api, "/products", **{"page[limit]": "2"})

    assert [row["id"] for page in pages for row in page.json()["data"]] == seven
    timings = [page.headers.get("server-timing") for page in pages]
    assert timings == [None, READ_AHEAD, READ_AHEAD, READ_AHEAD]  # the first is made for it
    assert [page.json()["meta"]["totalResourceCount"] for page in pages] == [7] * 4
    assert pages[-1].json()["links"]["next"] is None
    # Each journaled as any request is.
    rows = login.journal(method="GET", path="/v1/products")
    assert len(rows) == 4


@pytest.fixture
def plain(start_server: Callable[..., LiveServer], server: LiveServer) -> LiveServer:
    """A server started with ``read_ahead=False`` on the SQLite database (``start_server``
    serves that one only)."""
    if server.settings.database_url.startswith("postgresql"):
        pytest.skip("start_server serves the SQLite database")
    return start_server(read_ahead=False)


def test_pages_read_ahead_are_the_pages_the_walk_would_get_without(
    login: Login, seven: list[str], plain: LiveServer
) -> None:
    with login.client() as ahead, login.client(url=plain.url) as without:
        read = walk(ahead, "/products", **{"page[limit]": "3"})
        made = walk(without, "/products", **{"page[limit]": "3"})
    assert [page.headers.get("server-timing") for page in made] == [None, None, None]
    assert [page.headers.get("server-timing") for page in read][1:] == [READ_AHEAD] * 2
    for one, other in zip(read, made, strict=True):  # the same bytes but for the link base
        assert one.content.replace(login.url.encode(), plain.url.encode()) == other.content


def test_a_write_after_the_page_was_read_ahead_is_in_the_page(
    api: httpx.Client, seven: list[str]
) -> None:
    first = api.get("/products", params={"page[limit]": "3"})
    settle()  # the second page is made now, before the write
    body = {"data": {"type": "products", "id": seven[4], "attributes": {"name": "Renamed"}}}
    assert api.patch(f"/products/{seven[4]}", json=body).status_code == 200

    second = api.get(first.json()["links"]["next"])

    assert names(second) == ["P3", "Renamed", "P5"]
    assert "server-timing" not in second.headers  # made anew for it


def test_a_write_through_another_server_on_the_database_is_in_the_page(
    login: Login, api: httpx.Client, seven: list[str], two_workers: str
) -> None:
    """``optiply serve --workers 2`` on the same database writes between two pages."""
    first = api.get("/products", params={"page[limit]": "3"})
    settle()
    with login.client(url=two_workers) as elsewhere:
        assert elsewhere.delete(f"/products/{seven[3]}").status_code == 204

    second = api.get(first.json()["links"]["next"])

    assert names(second) == ["P4", "P5", "P6"]  # (the total is the one its cursor carries)
    assert "server-timing" not in second.headers


def test_a_page_read_ahead_is_not_given_to_a_revoked_token(
    login: Login, api: httpx.Client, seven: list[str]
) -> None:
    first = api.get("/products", params={"page[limit]": "3"})
    settle()
    assert admin.revoke_token(login.server.engine, token=login.access_token)

    second = api.get(first.json()["links"]["next"])

    assert second.status_code == 401
    assert second.json()["error"] == "invalid_token"


def test_a_page_read_ahead_is_not_given_to_another_account(
    server: LiveServer, new_login: Any, api: httpx.Client, seven: list[str]
) -> None:
    first = api.get("/products", params={"page[limit]": "3"})
    settle()
    with new_login(server).client() as theirs:
        second = theirs.get(first.json()["links"]["next"])

    assert second.status_code == 200
    assert second.json()["data"] == []
    assert "server-timing" not in second.headers


def test_a_next_link_with_its_brackets_escaped_finds_the_page_read_ahead(
    api: httpx.Client, seven: list[str]
) -> None:
    """``requests`` (the Singer SDK's HTTP library) sends ``page%5Blimit%5D``."""
    first = api.get("/products", params={"page[limit]": "3", "sort": "id"})
    settle()
    link = first.json()["links"]["next"]
    escaped = link.replace("[", "%5B").replace("]", "%5D")

    second = api.get(httpx.URL(escaped))

    assert second.headers.get("server-timing") == READ_AHEAD
    assert names(second) == ["P3", "P4", "P5"]


def test_the_same_page_again_says_it_came_from_the_cache(
    api: httpx.Client, seven: list[str]
) -> None:
    params = {"page[limit]": "3", "sort": "-name"}
    assert "server-timing" not in api.get("/products", params=params).headers

    again = api.get("/products", params=params)

    assert again.headers["server-timing"] == 'cache;desc="hit"'
    assert names(again) == ["P6", "P5", "P4"]


def test_off_nothing_is_read_ahead(login: Login, seven: list[str], plain: LiveServer) -> None:
    with login.client(url=plain.url) as api:
        pages = walk(api, "/products", **{"page[limit]": "2"})
    assert [page.headers.get("server-timing") for page in pages] == [None] * 4
    assert Idle not in [middleware.cls for middleware in plain.app.user_middleware]
