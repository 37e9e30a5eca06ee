"""``caches.PAGES``: a list page asked for again before its account changes comes from memory,
and never once anything changed: a write through any server sharing the database, another
account, another query or another link base gets its own answer."""

from __future__ import annotations

from pathlib import Path

import httpx

import web
from live import JSONAPI, LiveServer, make_login, serve_workers
from optiply.server.storage import caches
from support import create


def page(api: httpx.Client, **params: str) -> httpx.Response:
    response = api.get("/products", params={"page[limit]": "3", **params})
    assert response.status_code == 200, response.text
    return response


def test_the_same_page_again_is_the_same_answer_from_memory(api: httpx.Client) -> None:
    create(api, "products", name="Mug")
    first = page(api)
    held = caches.PAGES.held

    again = page(api)

    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-content-type-options"] == "nosniff"
    assert caches.PAGES.held == held  # served, not stored again


def test_every_write_of_the_account_shows_in_the_next_page(api: httpx.Client) -> None:
    mug = create(api, "products", name="Mug")
    total = page(api).json()["meta"]["totalResourceCount"]

    create(api, "products", name="Cup")
    assert page(api).json()["meta"]["totalResourceCount"] == total + 1

    api.patch(
        f"/products/{mug['id']}",
        json={"data": {"type": "products", "id": mug["id"], "attributes": {"name": "Jug"}}},
    )
    names = [row["attributes"]["name"] for row in page(api, sort="id").json()["data"]]
    assert "Jug" in names and "Mug" not in names

    api.delete(f"/products/{mug['id']}")
    assert page(api).json()["meta"]["totalResourceCount"] == total


def test_another_query_account_or_link_base_is_another_page(
    server: LiveServer, api: httpx.Client
) -> None:
    create(api, "products", name="Mug")
    create(api, "products", name="Cup")
    by_name = page(api, sort="name").json()["data"]
    assert page(api, sort="-name").json()["data"] == list(reversed(by_name))[: len(by_name)]

    with make_login(server).client() as theirs:
        assert page(theirs).json()["data"] == []  # not the first account's cached page

    for name in ("Jug", "Pot"):  # more than a page: a next link
        create(api, "products", name=name)
    direct = page(api).json()["links"]["next"]
    behind = api.get("/products", params={"page[limit]": "3"}, headers={"Host": "shop.example"})
    assert behind.json()["links"]["next"].startswith("http://shop.example/v1/products?")
    assert direct.startswith(f"{server.url}/v1/products?")
    assert page(api).json()["links"]["next"] == direct


def test_a_write_through_one_worker_shows_in_the_other_workers_page(
    server: LiveServer, tmp_path: Path
) -> None:
    """``optiply serve --workers 2`` on the backend's database: requests on fresh connections
    land on either process, each with a page cache of its own."""
    login = make_login(server)
    headers = {"Authorization": f"Bearer {login.access_token}", "Accept": JSONAPI}
    with serve_workers(server.settings.database_url, log=tmp_path / "serve.log") as workers:
        url = f"{workers.url}/v1/products?page[limit]=1"
        for round_ in range(12):  # fresh connections: both processes serve and cache pages
            for _ in range(2):
                before = web.get(url, headers=headers).json()["meta"]["totalResourceCount"]
                assert before == round_
            attributes = {"name": f"P{round_}", "stockLevel": 1}
            created = web.post(
                f"{workers.url}/v1/products",
                json={"data": {"type": "products", "attributes": attributes}},
                headers={**headers, "Content-Type": JSONAPI},
            )
            assert created.status_code == 201, created.text
            for _ in range(2):
                after = web.get(url, headers=headers).json()["meta"]["totalResourceCount"]
                assert after == round_ + 1
