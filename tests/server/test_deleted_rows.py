"""filter[deletedAt] over HTTP (the deleted-rows extension; docs/extensions.md), on each backend:
only deleted rows, each with meta.deletedAt, on every type that can be deleted; ordered, sorted
and paged like any list; bad values refused with the parameter named; other accounts' rows
never shown; refused as an unknown attribute with --no-extensions; advertised at GET /v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

import web
from live import BACKENDS, Login, make_login
from optiply.jsonapi.extensions import DELETED_ROWS
from optiply.resources import REGISTRY, ResourceSpec
from optiply.server.http.openapi import openapi_document
from support import create

TYPES = [pytest.param(spec, id=spec.type) for spec in REGISTRY if spec.deletable]
EPOCH = "2000-01-01T00:00:00Z"


def deleted(api: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    """The document of a list of deleted rows (200 asserted)."""
    response = api.get(path, params={"filter[deletedAt][GT]": EPOCH, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(document: dict[str, Any]) -> list[str]:
    return [row["id"] for row in document["data"]]


def remove(api: httpx.Client, kind: str, row_id: str) -> None:
    assert api.delete(f"/{kind}/{row_id}").status_code == 204


def when(api: httpx.Client, kind: str, row_id: str) -> str:
    """The ``meta.deletedAt`` of a deleted row."""
    (row,) = [r for r in deleted(api, f"/{kind}")["data"] if r["id"] == row_id]
    text: str = row["meta"]["deletedAt"]
    return text


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("spec", TYPES)
def test_only_deleted_rows_are_listed_as_they_were(api: httpx.Client, spec: ResourceSpec) -> None:
    path = f"/{spec.type}"
    kept, gone = create(api, spec.type), create(api, spec.type)
    remove(api, spec.type, gone["id"])
    document = deleted(api, path)
    assert ids(document) == [gone["id"]]
    assert document["meta"]["totalResourceCount"] == 1
    (row,) = document["data"]
    assert row["meta"]["deletedAt"] == row["attributes"]["updatedAt"]  # a delete stamps both
    assert {k: v for k, v in row["attributes"].items() if k != "updatedAt"} == {
        k: v for k, v in gone["attributes"].items() if k != "updatedAt"
    }
    assert row["links"]["self"].endswith(f"/v1/{spec.type}/{gone['id']}")
    live = api.get(path).json()["data"]
    assert [r["id"] for r in live] == [kept["id"]]
    assert all("meta" not in r for r in live)  # live lists are v1 lists
    assert api.get(f"{path}/{gone['id']}").status_code == 404  # and stay gone


def test_the_instant_bounds_the_list_per_operator(api: httpx.Client) -> None:
    first, second = create(api, "products")["id"], create(api, "products")["id"]
    remove(api, "products", first)
    remove(api, "products", second)
    at_first, at_second = when(api, "products", first), when(api, "products", second)
    assert instant(at_first) < instant(at_second)
    table = [
        ("GT", at_first, [second]),
        ("GE", at_first, [first, second]),
        ("EQ", at_first, [first]),
        ("LT", at_second, [first]),
        ("LE", at_second, [first, second]),
        ("GT", at_second, []),
    ]
    for operator, value, expected in table:
        response = api.get("/products", params={f"filter[deletedAt][{operator}]": value})
        assert response.status_code == 200, response.text
        assert ids(response.json()) == expected, (operator, value)
    response = api.get("/products", params={"filter[deletedAt]": at_second})  # EQ by default
    assert ids(response.json()) == [second]


def test_it_combines_with_other_filters(api: httpx.Client) -> None:
    mug, cup = create(api, "products", name="Mug")["id"], create(api, "products", name="Cup")["id"]
    remove(api, "products", mug)
    remove(api, "products", cup)
    assert ids(deleted(api, "/products", **{"filter[name]": "Cup"})) == [cup]
    assert ids(deleted(api, "/products", **{"filter[id]": f"{mug},{cup}"})) == [mug, cup]


def test_deleted_rows_sort_and_page_by_key_and_by_offset(api: httpx.Client) -> None:
    rows = [create(api, "products")["id"] for _ in range(5)]
    for row_id in reversed(rows):  # deleted in reverse: deletedAt order is not id order
        remove(api, "products", row_id)
    by_time = list(reversed(rows))
    assert ids(deleted(api, "/products", sort="deletedAt")) == by_time
    assert ids(deleted(api, "/products", sort="-deletedAt")) == rows
    assert ids(deleted(api, "/products")) == rows  # by id, as every list
    seen, url, totals = [], "/products", []
    params: dict[str, Any] | None = {
        "filter[deletedAt][GT]": EPOCH,
        "sort": "deletedAt,id",
        "page[limit]": "2",
    }
    while url:
        body = api.get(url, params=params).json()
        seen += ids(body)
        totals.append(body["meta"]["totalResourceCount"])
        url, params = body["links"]["next"], None
        assert url is None or "page[after]=" in url  # deletedAt is never null: by key
    assert seen == by_time
    assert set(totals) == {5}
    first_page = deleted(api, "/products", sort="deletedAt", **{"page[limit]": 2})
    offset = deleted(api, "/products", sort="deletedAt", **{"page[limit]": 2, "page[offset]": 2})
    assert ids(first_page) == by_time[:2] and ids(offset) == by_time[2:4]


def test_a_cascade_lists_the_children_deleted_with_their_parent(api: httpx.Client) -> None:
    pair = create(api, "supplierProducts")
    product = str(pair["attributes"]["productId"])
    remove(api, "products", product)
    (child,) = deleted(api, "/supplierProducts")["data"]
    assert child["id"] == pair["id"]
    assert child["meta"]["deletedAt"] == when(api, "products", product)


def test_related_lists_show_the_deleted_rows_of_a_live_parent(api: httpx.Client) -> None:
    pair = create(api, "supplierProducts")
    product = pair["attributes"]["productId"]
    other = create(api, "supplierProducts", productId=product)
    remove(api, "supplierProducts", pair["id"])
    related = deleted(api, f"/products/{product}/supplierProducts")
    assert ids(related) == [pair["id"]]
    assert related["data"][0]["meta"]["deletedAt"] == when(api, "supplierProducts", pair["id"])
    identifiers = deleted(api, f"/products/{product}/relationships/supplierProducts")["data"]
    assert identifiers == [
        {"type": "supplierProducts", "id": pair["id"], "meta": related["data"][0]["meta"]}
    ]
    live = api.get(f"/products/{product}/relationships/supplierProducts").json()["data"]
    assert live == [{"type": "supplierProducts", "id": other["id"]}]


@pytest.mark.parametrize(
    ("params", "parameter", "detail"),
    [
        ({"filter[deletedAt][GT]": "yesterday"}, "filter[deletedAt][GT]", "ISO-8601"),
        ({"filter[deletedAt]": "null"}, "filter[deletedAt]", "every deleted row has one"),
        ({"filter[deletedAt][NEQ]": EPOCH}, "filter[deletedAt][NEQ]", "EQ, LT, LE, GT or GE"),
        ({"filter[deletedAt][LIKE]": "2024"}, "filter[deletedAt][LIKE]", "EQ, LT, LE, GT"),
        ({"sort": "deletedAt"}, "sort", "sort=deletedAt needs a filter[deletedAt]"),
        (
            {"filter[deletedAt][GT]": EPOCH, "sort": "deletedAt", "page[after]": "WzFd"},
            "page[after]",
            "not a cursor",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(
    api: httpx.Client, params: dict[str, str], parameter: str, detail: str
) -> None:
    response = api.get("/products", params=params)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["source"] == {"parameter": parameter}
    assert detail in error["detail"]


def test_accounts_cannot_be_deleted_so_have_no_deleted_rows(api: httpx.Client) -> None:
    response = api.get("/accounts", params={"filter[deletedAt][GT]": EPOCH})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["detail"] == "unknown attribute 'deletedAt' of accounts"


def test_other_accounts_deleted_rows_are_never_shown(server, new_login) -> None:
    one, other = new_login(server), new_login(server, accounts=2)
    with one.client() as first, other.client() as second:
        mine = create(first, "products")["id"]
        remove(first, "products", mine)
        theirs = create(second, "products", accountId=other.account_id)["id"]
        extra = create(second, "products", accountId=other.extra_account_ids[0])["id"]
        remove(second, "products", theirs)
        remove(second, "products", extra)
        assert ids(deleted(first, "/products")) == [mine]
        assert ids(deleted(second, "/products")) == [theirs, extra]
        narrowed = deleted(second, "/products", accountId=str(other.extra_account_ids[0]))
        assert ids(narrowed) == [extra]
        assert first.get(f"/products/{theirs}").status_code == 404
        refused = first.get(
            "/products",
            params={"filter[deletedAt][GT]": EPOCH, "accountId": str(other.account_id)},
        )
        assert refused.status_code == 403


def test_get_v1_lists_the_extension(login: Login) -> None:
    body = web.get(f"{login.url}/v1").json()
    assert DELETED_ROWS.uri in body["jsonapi"]["ext"]
    (described,) = [e for e in body["meta"]["extensions"] if e["uri"] == DELETED_ROWS.uri]
    assert described["name"] == "deleted-rows" and "filter[deletedAt]" in described["summary"]


@pytest.fixture(params=BACKENDS)
def plain(request: pytest.FixtureRequest, start_server: Any) -> Login:
    """A login on a server started with ``--no-extensions``."""
    return make_login(start_server(request.param, extensions=False))


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"filter[deletedAt][GT]": EPOCH}, "filter[deletedAt][GT]"),
        ({"filter[deletedAt]": EPOCH}, "filter[deletedAt]"),
        ({"sort": "deletedAt"}, "sort"),
    ],
)
def test_without_extensions_it_is_an_unknown_attribute(
    plain: Login, params: dict[str, str], parameter: str
) -> None:
    with plain.client() as api:
        row = create(api, "products")["id"]
        remove(api, "products", row)
        response = api.get("/products", params=params)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["detail"] == "unknown attribute 'deletedAt' of products"
    assert error["source"] == {"parameter": parameter}


def test_the_documents_are_what_the_openapi_document_says(api: httpx.Client) -> None:
    components = openapi_document(version="1")["components"]

    def check(name: str, document: dict[str, Any]) -> None:
        root = {"$ref": f"#/components/schemas/{name}", "components": components}
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], name

    pair = create(api, "supplierProducts")
    product = pair["attributes"]["productId"]
    remove(api, "supplierProducts", pair["id"])
    listing = deleted(api, "/supplierProducts")
    assert listing["data"][0]["meta"]["deletedAt"]
    check("SupplierProductListDocument", listing)
    check("SupplierProductListDocument", deleted(api, f"/products/{product}/supplierProducts"))
    identifiers = deleted(api, f"/products/{product}/relationships/supplierProducts")
    check("SupplierProductIdentifiersDocument", identifiers)
    broken = {**listing, "data": [{**listing["data"][0], "meta": {"deletedAt": "yesterday"}}]}
    with pytest.raises(AssertionError):
        check("SupplierProductListDocument", broken)
