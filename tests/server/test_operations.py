"""Atomic operations over HTTP (an extension; docs/extensions.md), on each backend: a batch runs
in order in one transaction, lids link rows created in it, results come back in order, every
rule of the single-resource endpoints holds, and a failure anywhere leaves nothing written.

Malformed documents: test_operations_errors.py; workers, faults and keys:
test_operations_workers.py; random documents: tests/server/http/test_operations_fuzz.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import web
from live import BACKENDS, JSONAPI, LiveServer, Login, make_login
from optiply.jsonapi.extensions import ATOMIC, ATOMIC_MEDIA_TYPE, advertised
from optiply.resources import get as get_spec
from optiply.server.auth import admin
from support import create, required_attributes

HEADERS = {"Content-Type": ATOMIC_MEDIA_TYPE, "Accept": ATOMIC_MEDIA_TYPE}


def send(api: httpx.Client, operations: list[dict[str, Any]], **headers: str) -> httpx.Response:
    """POST ``operations`` to /v1/operations."""
    return api.post(
        "/operations", json={"atomic:operations": operations}, headers={**HEADERS, **headers}
    )


def add(resource_type: str, lid: str | None = None, **attributes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": resource_type, "attributes": attributes}
    if lid is not None:
        data["lid"] = lid
    return {"op": "add", "data": data}


def link(resource_type: str, lid: str) -> dict[str, Any]:
    return {"data": {"type": resource_type, "lid": lid}}


def shop_batch(tag: str) -> list[dict[str, Any]]:
    """A product, its supplier and their supplierProduct, linked by lid."""
    product = add("products", "p", name=f"Mug {tag}", stockLevel=3)
    supplier = add("suppliers", "s", name=f"Potter {tag}", deliveryTime=4)
    pair = add("supplierProducts", name=f"Mug from the potter {tag}", price="2.50")
    pair["data"]["relationships"] = {
        "product": link("products", "p"),
        "supplier": link("suppliers", "s"),
    }
    return [product, supplier, pair]


def count(api: httpx.Client, resource_type: str, **filters: str) -> int:
    params = {f"filter[{k}]": v for k, v in filters.items()}
    body = api.get(f"/{resource_type}", params={**params, "page[limit]": 1}).json()
    return int(body["meta"]["totalResourceCount"])


def test_a_product_its_supplier_and_their_pair_in_one_request(api: httpx.Client) -> None:
    response = send(api, shop_batch("one"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ATOMIC_MEDIA_TYPE
    results = response.json()["atomic:results"]
    product, supplier, pair = (result["data"] for result in results)
    assert (product["type"], supplier["type"], pair["type"]) == (
        "products",
        "suppliers",
        "supplierProducts",
    )
    assert pair["attributes"]["productId"] == int(product["id"])
    assert pair["attributes"]["supplierId"] == int(supplier["id"])
    assert pair["attributes"]["productUuid"] == product["attributes"]["uuid"]
    for result in (product, supplier, pair):  # rendered as GET renders it
        single = api.get(f"/{result['type']}/{result['id']}").json()["data"]
        assert single == result
    assert advertised(response.json()) >= {ATOMIC.uri}


def test_a_buy_order_with_lines_and_computed_delivery_dates(api: httpx.Client) -> None:
    supplier = create(api, "suppliers", deliveryTime=7)
    product = create(api, "products")
    order = add(
        "buyOrders",
        "o",
        placed="2024-03-01T00:00:00Z",
        totalValue="10.00",
        supplierId=int(supplier["id"]),
    )
    lines = [
        {**add("buyOrderLines", quantity=n, subtotalValue="5.00", productId=int(product["id"]))}
        for n in (1, 2)
    ]
    for line in lines:
        line["data"]["relationships"] = {"buyOrder": link("buyOrders", "o")}
    response = send(api, [order, *lines])
    assert response.status_code == 200, response.text
    results = [result["data"] for result in response.json()["atomic:results"]]
    expected = results[0]["attributes"]["expectedDeliveryDate"]
    assert expected == "2024-03-08T00:00:00Z"  # placed + the supplier's delivery time
    for line in results[1:]:
        assert line["attributes"]["buyOrderId"] == int(results[0]["id"])
        assert line["attributes"]["expectedDeliveryDate"] == expected
    via_post = api.post(
        "/buyOrders",
        json={"data": {"type": "buyOrders", "attributes": order["data"]["attributes"]}},
    ).json()["data"]
    assert via_post["attributes"]["expectedDeliveryDate"] == expected


def test_an_order_with_embedded_lines_lists_their_ids(api: httpx.Client) -> None:
    product = create(api, "products")
    order = add(
        "sellOrders",
        placed="2024-03-01T00:00:00Z",
        totalValue="3.00",
        orderLines=[{"productId": int(product["id"]), "quantity": 1, "subtotalValue": "3.00"}],
    )
    result = send(api, [order]).json()["atomic:results"][0]
    (line_id,) = result["meta"]["orderLineIds"]
    assert api.get(f"/sellOrderLines/{line_id}").json()["data"]["attributes"]["sellOrderId"] == int(
        result["data"]["id"]
    )


def test_update_and_remove_by_id_and_by_lid(api: httpx.Client) -> None:
    kept = create(api, "products", name="before")
    gone = create(api, "products")
    operations = [
        {
            "op": "update",
            "ref": {"type": "products", "id": kept["id"]},
            "data": {"type": "products", "id": kept["id"], "attributes": {"name": "after"}},
        },
        {
            "op": "update",
            "data": {"type": "products", "id": kept["id"], "attributes": {"stockLevel": 9}},
        },
        {"op": "remove", "ref": {"type": "products", "id": gone["id"]}},
        add("products", "tmp", name="temporary", stockLevel=1),
        {
            "op": "update",
            "ref": {"type": "products", "lid": "tmp"},
            "data": {"type": "products", "attributes": {"name": "renamed"}},
        },
        {"op": "remove", "ref": {"type": "products", "lid": "tmp"}},
    ]
    response = send(api, operations)
    assert response.status_code == 200, response.text
    results = response.json()["atomic:results"]
    assert len(results) == len(operations)
    assert results[0]["data"]["attributes"]["name"] == "after"
    assert results[1]["data"]["attributes"] == {
        **results[1]["data"]["attributes"],
        "name": "after",
        "stockLevel": 9,
    }
    assert results[2] == {} and results[5] == {}
    assert results[4]["data"]["attributes"]["name"] == "renamed"
    assert results[1]["data"]["attributes"]["updatedAt"] > kept["attributes"]["updatedAt"]
    assert api.get(f"/products/{gone['id']}").status_code == 404
    assert api.get(f"/products/{results[3]['data']['id']}").status_code == 404


def test_remove_cascades_as_delete_does(api: httpx.Client) -> None:
    pair = create(api, "supplierProducts")
    product = pair["attributes"]["productId"]
    response = send(api, [{"op": "remove", "ref": {"type": "products", "id": str(product)}}])
    assert response.status_code == 200, response.text
    assert api.get(f"/supplierProducts/{pair['id']}").status_code == 404


def test_a_plain_id_attribute_and_a_relationship_by_id(api: httpx.Client) -> None:
    product, supplier = create(api, "products"), create(api, "suppliers")
    by_attribute = add(
        "supplierProducts", name="a", productId=int(product["id"]), supplierId=int(supplier["id"])
    )
    by_relationship = add("supplierProducts", name="b")
    other = create(api, "products")
    by_relationship["data"]["relationships"] = {
        "product": {"data": {"type": "products", "id": other["id"]}},
        "supplier": {"data": {"type": "suppliers", "id": supplier["id"]}},
    }
    response = send(api, [by_attribute, by_relationship])
    assert response.status_code == 200, response.text
    second = response.json()["atomic:results"][1]["data"]["attributes"]
    assert (second["productId"], second["supplierId"]) == (int(other["id"]), int(supplier["id"]))


def test_a_failure_at_operation_n_leaves_nothing_of_the_earlier_ones(api: httpx.Client) -> None:
    kept = create(api, "products", name="untouched")
    operations = [
        *shop_batch("rolled back"),
        {
            "op": "update",
            "ref": {"type": "products", "id": kept["id"]},
            "data": {"type": "products", "attributes": {"name": "changed"}},
        },
        add("products", name="x", stockLevel=1, price="not a price"),
    ]
    response = send(api, operations)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["source"]["pointer"] == "/atomic:operations/4/data/attributes/price"
    assert "jsonapi" not in response.json() and "atomic:results" not in response.json()
    assert count(api, "products", name="Mug rolled back") == 0
    assert count(api, "suppliers", name="Potter rolled back") == 0
    assert api.get(f"/products/{kept['id']}").json()["data"]["attributes"]["name"] == "untouched"


def test_a_conflict_names_the_operation_and_rolls_back(api: httpx.Client) -> None:
    pair = create(api, "supplierProducts")
    attributes = pair["attributes"]
    again = add(
        "supplierProducts",
        name="twin",
        productId=attributes["productId"],
        supplierId=attributes["supplierId"],
    )
    response = send(api, [add("products", name="first", stockLevel=1), again])
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["source"]["pointer"] == "/atomic:operations/1"
    assert count(api, "products", name="first") == 0


def test_a_missing_row_is_404_naming_the_operation(api: httpx.Client) -> None:
    operations = [
        add("products", name="never", stockLevel=1),
        {"op": "remove", "ref": {"type": "products", "id": "999999999"}},
    ]
    response = send(api, operations)
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert error["source"]["pointer"] == "/atomic:operations/1"
    assert error["code"] == "NOT_FOUND"
    assert count(api, "products", name="never") == 0


def test_adds_of_one_type_in_a_row_end_as_one_by_one_would(api: httpx.Client) -> None:
    """A run of adds goes in with one statement: ids still follow the operations, lids
    resolve, differing attribute sets and rows rendered as GET renders them."""
    supplier = add("suppliers", "s", name="Potter", deliveryTime=2)
    products = [
        add("products", "a", name="A", stockLevel=1),
        add("products", "b", name="B", stockLevel=2, skuCode="SKU-B", price="9.50"),
        add("products", name="C", stockLevel=3),
        add("products", "d", name="D", stockLevel=4, remoteId="r-d"),
    ]
    pair = add("supplierProducts", name="B from the potter", price="2.50")
    pair["data"]["relationships"] = {
        "product": link("products", "b"),
        "supplier": link("suppliers", "s"),
    }
    response = send(api, [supplier, *products, pair])
    assert response.status_code == 200, response.text
    results = [result["data"] for result in response.json()["atomic:results"]]
    made = results[1:5]
    assert [row["attributes"]["name"] for row in made] == ["A", "B", "C", "D"]
    ids = [int(row["id"]) for row in made]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert results[5]["attributes"]["productId"] == ids[1]
    assert made[1]["attributes"]["price"] == "9.50" and made[0]["attributes"]["skuCode"] is None
    for row in results:
        assert api.get(f"/{row['type']}/{row['id']}").json()["data"] == row


def test_a_failing_add_in_a_run_of_adds_names_its_operation(api: httpx.Client) -> None:
    supplier = int(create(api, "suppliers")["id"])
    orders = [
        add("buyOrders", placed="2024-03-01T00:00:00Z", totalValue="1.00", supplierId=supplier),
        add("buyOrders", placed="2024-03-01T00:00:00Z", totalValue="2.00", supplierId=999999999),
        add("buyOrders", placed="2024-03-01T00:00:00Z", totalValue="3.00", supplierId=supplier),
    ]
    before = count(api, "buyOrders")
    response = send(api, orders)
    assert response.status_code == 404, response.text
    pointer = response.json()["errors"][0]["source"]["pointer"]
    assert pointer == "/atomic:operations/1/data/attributes/supplierId"
    assert count(api, "buyOrders") == before


def test_orders_in_a_run_get_their_own_lines(api: httpx.Client) -> None:
    product, other = (int(create(api, "products")["id"]) for _ in range(2))

    def order(*quantities: int) -> dict[str, Any]:
        lines = [{"productId": product, "quantity": q, "subtotalValue": "1.00"} for q in quantities]
        lines[-1]["productId"] = other
        return add("sellOrders", placed="2024-03-01T00:00:00Z", totalValue="3.00", orderLines=lines)

    response = send(api, [order(1, 2), order(3), order(4, 5, 6)])
    assert response.status_code == 200, response.text
    results = response.json()["atomic:results"]
    for result, quantities in zip(results, [(1, 2), (3,), (4, 5, 6)], strict=True):
        line_ids = result["meta"]["orderLineIds"]
        assert len(line_ids) == len(quantities)
        lines = [api.get(f"/sellOrderLines/{i}").json()["data"]["attributes"] for i in line_ids]
        assert [line["quantity"] for line in lines] == list(quantities)
        assert {line["sellOrderId"] for line in lines} == {int(result["data"]["id"])}
        assert lines[-1]["productId"] == other
    every = [int(i) for result in results for i in result["meta"]["orderLineIds"]]
    assert every == sorted(every)


def test_a_missing_line_reference_in_a_run_names_its_operation_and_line(api: httpx.Client) -> None:
    product = int(create(api, "products")["id"])
    line = {"productId": product, "quantity": 1, "subtotalValue": "1.00"}
    orders = [
        add("sellOrders", placed="2024-03-01T00:00:00Z", totalValue="1.00", orderLines=[line]),
        add(
            "sellOrders",
            placed="2024-03-01T00:00:00Z",
            totalValue="1.00",
            orderLines=[line, {**line, "productId": 999999999}],
        ),
    ]
    before = count(api, "sellOrders"), count(api, "sellOrderLines")
    response = send(api, orders)
    assert response.status_code == 404, response.text
    pointer = response.json()["errors"][0]["source"]["pointer"]
    assert pointer == "/atomic:operations/1/data/attributes/orderLines/1/productId"
    assert (count(api, "sellOrders"), count(api, "sellOrderLines")) == before


def test_rules_after_an_insert_run_for_every_add_of_a_run(api: httpx.Client) -> None:
    create(api, "products")
    required = required_attributes(api, get_spec("promotions"))
    promotions = [add("promotions", **{**required, "entireShop": True}) for _ in range(2)]
    response = send(api, promotions)
    assert response.status_code == 200, response.text
    products = count(api, "products")
    for result in response.json()["atomic:results"]:
        assert result["data"]["attributes"]["productCount"] == products


def test_a_missing_reference_points_at_the_relationship(api: httpx.Client) -> None:
    pair = add("supplierProducts", name="x", supplierId=int(create(api, "suppliers")["id"]))
    pair["data"]["relationships"] = {"product": {"data": {"type": "products", "id": "999999999"}}}
    response = send(api, [pair])
    assert response.status_code == 404
    pointer = response.json()["errors"][0]["source"]["pointer"]
    assert pointer == "/atomic:operations/0/data/relationships/product"


def test_rows_of_another_account_are_not_found(server: LiveServer, api: httpx.Client) -> None:
    other = make_login(server)
    with other.client() as theirs:
        foreign = create(theirs, "products")
    response = send(api, [{"op": "remove", "ref": {"type": "products", "id": foreign["id"]}}])
    assert response.status_code == 404
    with other.client() as theirs:
        assert theirs.get(f"/products/{foreign['id']}").status_code == 200


def test_remote_id_map_takes_the_coupling(api: httpx.Client) -> None:
    response = api.post(
        "/operations",
        params={"couplingId": "shopify"},
        json={"atomic:operations": [add("products", name="r", stockLevel=1, remoteId="SKU-9")]},
        headers=HEADERS,
    )
    assert response.status_code == 200, response.text
    attributes = response.json()["atomic:results"][0]["data"]["attributes"]
    assert attributes["remoteIdMap"] == {"shopify": "SKU-9"}


def token_with(login: Login, scopes: tuple[str, ...]) -> str:
    """A token of another user of ``login``'s account who holds ``scopes``."""
    username = f"{login.username}-{'-'.join(scopes)}"
    admin.create_user(
        login.server.engine,
        username=username,
        password=login.password,
        account_ids=[login.account_id],
        scopes=scopes,
    )
    answer = login.token(grant_type="password", username=username, password=login.password)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.mark.parametrize(
    ("scopes", "operation", "status"),
    [
        (("read", "write"), "remove", 403),
        (("read", "delete"), "remove", 200),
        (("read", "delete"), "update", 403),
        (("read", "write"), "update", 200),
        (("read", "write"), "add", 200),
        (("read",), "add", 403),
    ],
)
def test_each_operation_needs_the_scope_of_its_method(
    login: Login, api: httpx.Client, scopes: tuple[str, ...], operation: str, status: int
) -> None:
    row = create(api, "products")
    ops = {
        "remove": {"op": "remove", "ref": {"type": "products", "id": row["id"]}},
        "update": {
            "op": "update",
            "ref": {"type": "products", "id": row["id"]},
            "data": {"type": "products", "attributes": {"name": "n"}},
        },
        "add": add("products", name="n", stockLevel=1),
    }
    with login.client(token_with(login, scopes)) as limited:
        response = send(limited, [ops[operation]])
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["error"] == "insufficient_scope"


def test_a_user_of_several_accounts_names_one(server: LiveServer) -> None:
    login = make_login(server, accounts=2)
    with login.client() as api:
        refused = send(api, [add("products", name="a", stockLevel=1)])
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "ACCOUNT_REQUIRED"
        chosen = api.post(
            "/operations",
            params={"accountId": login.extra_account_ids[0]},
            json={"atomic:operations": [add("products", name="a", stockLevel=1)]},
            headers=HEADERS,
        )
        assert chosen.status_code == 200, chosen.text
        attributes = chosen.json()["atomic:results"][0]["data"]["attributes"]
        assert attributes["accountId"] == login.extra_account_ids[0]


@pytest.mark.parametrize(
    ("content_type", "accept", "status"),
    [
        (ATOMIC_MEDIA_TYPE, ATOMIC_MEDIA_TYPE, 200),
        ('application/vnd.api+json; ext="https://jsonapi.org/ext/atomic"', None, 200),
        (ATOMIC_MEDIA_TYPE + "; charset=utf-8", "*/*", 200),
        (ATOMIC_MEDIA_TYPE, JSONAPI, 200),
        (ATOMIC_MEDIA_TYPE, "application/json, */*;q=0.1", 200),
        (JSONAPI, ATOMIC_MEDIA_TYPE, 415),
        ("application/json", None, 415),
        (
            'application/vnd.api+json;ext="https://jsonapi.org/ext/atomic https://x.example/e"',
            None,
            415,
        ),
        (ATOMIC_MEDIA_TYPE + ";foo=bar", None, 415),
        (ATOMIC_MEDIA_TYPE, 'application/vnd.api+json;ext="https://x.example/e"', 406),
        (ATOMIC_MEDIA_TYPE, "application/vnd.api+json;foo=bar", 406),
        (ATOMIC_MEDIA_TYPE, "text/html", 200),  # no JSON:API range: the spec asks nothing
    ],
)
def test_media_types_are_negotiated_as_json_api_1_1_says(
    login: Login, content_type: str, accept: str | None, status: int
) -> None:
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    body = {"atomic:operations": [add("products", name="m", stockLevel=1)]}
    response = web.post(f"{login.url}/v1/operations", json=body, headers=headers)
    assert response.status_code == status, response.text
    if status >= 400:
        code = {406: "NOT_ACCEPTABLE", 415: "UNSUPPORTED_MEDIA_TYPE"}[status]
        assert response.json()["errors"][0]["code"] == code
        with login.client() as api:
            assert count(api, "products", name="m") == 0


def test_only_post(api: httpx.Client) -> None:
    assert api.get("/operations").status_code == 405


def test_advertised_in_v1(login: Login) -> None:
    body = web.get(f"{login.url}/v1").json()
    assert ATOMIC.uri in body["jsonapi"]["ext"]
    assert "atomic" in {e["name"] for e in body["meta"]["extensions"]}


def test_the_journal_records_one_request(login: Login, api: httpx.Client) -> None:
    assert send(api, shop_batch("journal")).status_code == 200
    journal = login.journal(accountId=login.account_id, path="/v1/operations")
    assert [row["status"] for row in journal] == [200]


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_extensions_the_path_is_404_like_any_unknown_one(
    start_server: Any, backend: str
) -> None:
    plain = make_login(start_server(backend, extensions=False))
    with plain.client() as api:
        answer = send(api, shop_batch("plain"))
        unknown = api.post("/nothing", json={}, headers=HEADERS)
        assert answer.status_code == 404
        assert (answer.json(), answer.headers["content-type"]) == (
            unknown.json(),
            unknown.headers["content-type"],
        )
        assert count(api, "products", name="Mug plain") == 0
