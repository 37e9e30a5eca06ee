"""Paging (§4.3, §5.1): links.next resumes by key, page[offset] keeps working."""

from __future__ import annotations

import pytest

from support import create


def _walk(api, url):
    seen, totals = [], []
    while url:
        document = api.get(url).json()
        seen.extend(row["id"] for row in document["data"])
        totals.append(document["meta"]["totalResourceCount"])
        url = document["links"]["next"]
    return seen, totals


@pytest.fixture
def products(api):
    return [create(api, "products", stockLevel=i % 3)["id"] for i in range(7)]


def test_next_links_carry_a_cursor_and_visit_every_row_once(api, products):
    seen, totals = _walk(api, "/products?page[limit]=3")

    assert seen == products
    assert set(totals) == {7}


def test_a_walk_survives_deletes_behind_it(api, products):
    first = api.get("/products?page[limit]=3").json()
    for row_id in products[:3]:
        api.delete(f"/products/{row_id}")

    seen, _ = _walk(api, first["links"]["next"])

    assert seen == products[3:]  # offset paging would have skipped three rows here


@pytest.mark.parametrize("sort", ["-id", "stockLevel", "-updatedAt,stockLevel", "name"])
def test_keyset_walks_follow_any_non_null_sort(api, products, sort):
    expected = [
        row["id"] for row in api.get(f"/products?sort={sort}&page[limit]=100").json()["data"]
    ]

    seen, _ = _walk(api, f"/products?sort={sort}&page[limit]=2")

    assert seen == expected


def test_a_nullable_sort_pages_by_offset(api, products):
    document = api.get("/products?sort=price&page[limit]=3").json()

    assert "page[after]" not in document["links"]["next"]
    seen, _ = _walk(api, "/products?sort=price&page[limit]=3")
    assert sorted(seen, key=int) == products


def test_computed_offsets_still_work(api, products):
    pages = [api.get(f"/products?page[limit]=3&page[offset]={o}").json()["data"] for o in (0, 3, 6)]

    assert [row["id"] for page in pages for row in page] == products


def test_a_keyset_walk_keeps_filters(api, products):
    seen, totals = _walk(api, "/products?filter[stockLevel]=1&page[limit]=1")

    assert seen == [p for i, p in enumerate(products) if i % 3 == 1]
    assert set(totals) == {len(seen)}


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwxXQ", "WzEsMl0"])
def test_a_bad_cursor_is_400(api, cursor):
    response = api.get("/products", params={"page[after]": cursor})

    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == {"parameter": "page[after]"}


def test_a_cursor_with_a_nullable_sort_is_400(api, products):
    response = api.get("/products", params={"sort": "price", "page[after]": "WyIxIiwxXQ"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == {"parameter": "page[after]"}
