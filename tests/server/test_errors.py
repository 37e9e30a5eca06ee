"""Malformed requests get a JSON:API error with the right status and pointer, and write nothing (§6)."""

from __future__ import annotations

import pytest

from support import create

PRODUCT = {"name": "P", "stockLevel": 1}

MALFORMED = [
    ("not json", b"{nope", 400, ""),
    ("json array", b"[1, 2]", 400, ""),
    ("json string", b'"data"', 400, ""),
    ("no data", b'{"meta": {}}', 400, "/data"),
    ("data is a list", b'{"data": []}', 400, "/data"),
    ("data is null", b'{"data": null}', 400, "/data"),
    (
        "wrong type",
        b'{"data": {"type": "suppliers", "attributes": {"name": "P", "stockLevel": 1}}}',
        400,
        "/data/type",
    ),
    ("no type", b'{"data": {"attributes": {"name": "P", "stockLevel": 1}}}', 400, "/data/type"),
    (
        "attributes not an object",
        b'{"data": {"type": "products", "attributes": [1]}}',
        400,
        "/data/attributes",
    ),
    (
        "NaN literal",
        b'{"data": {"type": "products", "attributes": {"name": "P", "stockLevel": NaN}}}',
        400,
        "",
    ),
    (
        "Infinity literal",
        b'{"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1, "price": Infinity}}}',
        400,
        "",
    ),
    (
        "huge integer",
        b'{"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1'
        + b"0" * 40
        + b"}}}",
        400,
        "/data/attributes/stockLevel",
    ),
    (
        "huge decimal",
        b'{"data": {"type": "products", "attributes": {"name": "P", "stockLevel": 1, "price": 1e400}}}',
        400,
        "/data/attributes/price",
    ),
    ("deep nesting", b'{"data": ' + b"[" * 100000 + b"]" * 100000 + b"}", 400, ""),
    ("empty body", b"", 400, ""),
    ("invalid utf-8", b'{"data": {"type": "products", "attributes": {"name": "\xff"}}}', 400, ""),
]


@pytest.mark.parametrize(
    ("body", "status", "pointer"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_post_bodies(api, body, status, pointer):
    before = api.get("/products").json()["meta"]["totalResourceCount"]

    response = api.post("/products", content=body)

    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors[0]["status"] == str(status)
    assert errors[0].get("source", {}).get("pointer", "") == pointer
    assert api.get("/products").json()["meta"]["totalResourceCount"] == before


def test_patch_with_mismatched_id_is_400(api):
    product = create(api, "products")

    response = api.patch(
        f"/products/{product['id']}",
        json={"data": {"type": "products", "id": "999", "attributes": {"name": "X"}}},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/id"
    assert api.get(f"/products/{product['id']}").json()["data"]["attributes"]["name"] == "Sample"


@pytest.mark.parametrize("sent_id", [None, "SAME", "SAME_INT"])
def test_patch_without_or_with_matching_id_is_fine(api, sent_id):
    product = create(api, "products")
    data = {"type": "products", "attributes": {"name": "X"}}
    if sent_id == "SAME":
        data["id"] = product["id"]
    elif sent_id == "SAME_INT":
        data["id"] = int(product["id"])

    response = api.patch(f"/products/{product['id']}", json={"data": data})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path_id", ["nan", "-1", "0", "1.0", "99999999999999999999", "²", "%C2%B2"]
)
def test_invalid_path_ids_are_400(api, path_id):
    response = api.get(f"/products/{path_id}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_ID"


def test_unknown_ids_are_404(api):
    for method in ("GET", "DELETE"):
        response = api.request(method, "/products/987654321")
        assert response.status_code == 404
        assert response.json()["errors"][0]["detail"] == "Product with id 987654321 not found"


def test_unknown_path_is_a_json_api_404(api):
    response = api.get("/warehouses")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_a_failing_embedded_line_writes_nothing(api):
    product = create(api, "products")
    supplier = create(api, "suppliers")
    before = api.get("/buyOrders").json()["meta"]["totalResourceCount"]

    response = api.post(
        "/buyOrders",
        json={
            "data": {
                "type": "buyOrders",
                "attributes": {
                    "placed": "2024-01-01",
                    "totalValue": 1,
                    "supplierId": int(supplier["id"]),
                    "orderLines": [
                        {"productId": int(product["id"]), "quantity": 1, "subtotalValue": 1},
                        {"productId": 987654321, "quantity": 1, "subtotalValue": 1},
                    ],
                },
            }
        },
    )

    assert response.status_code == 404
    assert response.json()["errors"][0]["source"]["pointer"] == (
        "/data/attributes/orderLines/1/productId"
    )
    assert api.get("/buyOrders").json()["meta"]["totalResourceCount"] == before
    assert api.get("/buyOrderLines").json()["meta"]["totalResourceCount"] == 0


def test_referenced_ids_must_exist(api):
    response = api.post(
        "/supplierProducts",
        json={
            "data": {
                "type": "supplierProducts",
                "attributes": {"name": "SP", "productId": 987654321, "supplierId": "987654322"},
            }
        },
    )

    assert response.status_code == 404
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/attributes/productId"


def test_receipt_line_for_unknown_buy_order_line_is_404(api):
    response = api.post(
        "/receiptLines",
        json={
            "data": {
                "type": "receiptLines",
                "attributes": {
                    "buyOrderLineId": 987654321,
                    "occurred": "2024-01-01",
                    "quantity": 1,
                },
            }
        },
    )

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "REFERENCE_NOT_FOUND"


def test_reference_to_a_deleted_row_is_404(api):
    product = create(api, "products")
    api.delete(f"/products/{product['id']}")

    response = api.post(
        "/sellOrderLines",
        json={
            "data": {
                "type": "sellOrderLines",
                "attributes": {
                    "sellOrderId": int(create(api, "sellOrders")["id"]),
                    "productId": int(product["id"]),
                    "quantity": 1,
                    "subtotalValue": 1,
                },
            }
        },
    )

    assert response.status_code == 404
