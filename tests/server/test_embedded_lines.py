"""Embedded orderLines on POST of buyOrders and sellOrders (§3.5, Q17)."""

from __future__ import annotations

import pytest

from support import create

ORDERS = [
    ("buyOrders", "buyOrderLines", "buyOrderId"),
    ("sellOrders", "sellOrderLines", "sellOrderId"),
]


def _order_body(api, order_type, lines):
    attributes = {"placed": "2024-01-01T00:00:00Z", "totalValue": "30.00", "orderLines": lines}
    if order_type == "buyOrders":
        attributes["supplierId"] = int(create(api, "suppliers")["id"])
    return {"data": {"type": order_type, "attributes": attributes}}


@pytest.mark.parametrize(("order_type", "line_type", "parent"), ORDERS)
def test_lines_are_created_with_the_order_in_input_order(api, order_type, line_type, parent):
    products = [int(create(api, "products")["id"]) for _ in range(3)]
    lines = [
        {"productId": p, "quantity": i + 1, "subtotalValue": f"{i + 1}0.00", "remoteId": f"L{i}"}
        for i, p in enumerate(products)
    ]

    response = api.post(f"/{order_type}", json=_order_body(api, order_type, lines))

    assert response.status_code == 201, response.text
    order = response.json()
    line_ids = order["meta"]["orderLineIds"]
    assert len(line_ids) == 3 and all(isinstance(i, str) for i in line_ids)
    for index, line_id in enumerate(line_ids):
        line = api.get(f"/{line_type}/{line_id}").json()["data"]["attributes"]
        assert line[parent] == int(order["data"]["id"])
        assert line["productId"] == products[index]
        assert line["quantity"] == index + 1
        assert line["createdFromPublicApi"] is True
        assert line["remoteIdMap"] == {"publicApi": f"L{index}"}
    listed = api.get(f"/{order_type}/{order['data']['id']}/{line_type}").json()
    assert [row["id"] for row in listed["data"]] == line_ids


@pytest.mark.parametrize(("order_type", "line_type", "parent"), ORDERS)
def test_wrapped_lines_and_string_ids_are_accepted(api, order_type, line_type, parent):
    product = create(api, "products")["id"]
    lines = [
        {
            "type": line_type,
            "attributes": {"productId": product, "quantity": "2", "subtotalValue": 76.0},
        }
    ]

    response = api.post(f"/{order_type}", json=_order_body(api, order_type, lines))

    assert response.status_code == 201, response.text
    [line_id] = response.json()["meta"]["orderLineIds"]
    line = api.get(f"/{line_type}/{line_id}").json()["data"]["attributes"]
    assert (line["quantity"], line["subtotalValue"]) == (2, "76.00")


@pytest.mark.parametrize(("order_type", "line_type", "parent"), ORDERS)
def test_empty_or_absent_lines_are_fine(api, order_type, line_type, parent):
    response = api.post(f"/{order_type}", json=_order_body(api, order_type, []))

    assert response.status_code == 201
    assert response.json()["meta"]["orderLineIds"] == []


@pytest.mark.parametrize(("order_type", "line_type", "parent"), ORDERS)
def test_line_errors_point_into_the_array_and_write_nothing(api, order_type, line_type, parent):
    product = int(create(api, "products")["id"])
    lines = [
        {"productId": product, "quantity": 1, "subtotalValue": 1},
        {"productId": product, "quantity": 1.5, "subtotalValue": "abc"},
        {"quantity": 1, "subtotalValue": 1},
        "not an object",
    ]

    response = api.post(f"/{order_type}", json=_order_body(api, order_type, lines))

    assert response.status_code == 400
    pointers = sorted(e["source"]["pointer"] for e in response.json()["errors"])
    base = "/data/attributes/orderLines"
    assert pointers == [
        f"{base}/1/quantity",
        f"{base}/1/subtotalValue",
        f"{base}/2/productId",
        f"{base}/3",
    ]
    assert api.get(f"/{order_type}").json()["data"] == []
    assert api.get(f"/{line_type}").json()["data"] == []


def test_the_parent_id_in_a_line_is_ignored(api):
    other_order = create(api, "sellOrders")
    product = int(create(api, "products")["id"])
    body = _order_body(
        api,
        "sellOrders",
        [
            {
                "productId": product,
                "quantity": 1,
                "subtotalValue": 1,
                "sellOrderId": other_order["id"],
            }
        ],
    )

    response = api.post("/sellOrders", json=body)

    [line_id] = response.json()["meta"]["orderLineIds"]
    line = api.get(f"/sellOrderLines/{line_id}").json()["data"]["attributes"]
    assert line["sellOrderId"] == int(response.json()["data"]["id"])


def test_order_lines_must_be_an_array(api):
    response = api.post("/sellOrders", json=_order_body(api, "sellOrders", {"productId": 1}))

    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/attributes/orderLines"


def test_order_lines_are_ignored_on_patch(api):
    order = create(api, "sellOrders")
    product = int(create(api, "products")["id"])

    response = api.patch(
        f"/sellOrders/{order['id']}",
        json={
            "data": {
                "type": "sellOrders",
                "attributes": {
                    "orderLines": [{"productId": product, "quantity": 1, "subtotalValue": 1}]
                },
            }
        },
    )

    assert response.status_code == 200
    assert api.get("/sellOrderLines").json()["data"] == []
