"""Computed expectedDeliveryDate (§8.1, Q18)."""

from __future__ import annotations

from support import create

PLACED = "2024-03-05T14:30:00Z"


def _order(api, supplier_delivery_time, **attributes):
    supplier = create(api, "suppliers", deliveryTime=supplier_delivery_time)
    return create(api, "buyOrders", supplierId=int(supplier["id"]), placed=PLACED, **attributes)


def test_order_date_is_placed_plus_supplier_delivery_time_keeping_the_time(api):
    order = _order(api, 10)

    assert order["attributes"]["expectedDeliveryDate"] == "2024-03-15T14:30:00Z"


def test_explicit_null_counts_as_left_out(api):
    order = _order(api, 3, expectedDeliveryDate=None)

    assert order["attributes"]["expectedDeliveryDate"] == "2024-03-08T14:30:00Z"


def test_a_given_date_is_kept(api):
    order = _order(api, 3, expectedDeliveryDate="2025-01-01T00:00:00Z")

    assert order["attributes"]["expectedDeliveryDate"] == "2025-01-01T00:00:00Z"


def test_null_supplier_lead_time_gives_null(api):
    assert _order(api, None)["attributes"]["expectedDeliveryDate"] is None


def test_embedded_lines_inherit_the_orders_date(api):
    supplier = create(api, "suppliers", deliveryTime=2)
    product = create(api, "products")
    create(
        api,
        "supplierProducts",
        supplierId=int(supplier["id"]),
        productId=int(product["id"]),
        deliveryTime=30,
    )
    response = api.post(
        "/buyOrders",
        json={
            "data": {
                "type": "buyOrders",
                "attributes": {
                    "placed": PLACED,
                    "totalValue": 1,
                    "supplierId": supplier["id"],
                    "orderLines": [
                        {"productId": product["id"], "quantity": 1, "subtotalValue": 1},
                        {
                            "productId": product["id"],
                            "quantity": 1,
                            "subtotalValue": 1,
                            "expectedDeliveryDate": "2024-12-24T00:00:00Z",
                        },
                    ],
                },
            }
        },
    )
    line_ids = response.json()["meta"]["orderLineIds"]

    dates = [
        api.get(f"/buyOrderLines/{i}").json()["data"]["attributes"]["expectedDeliveryDate"]
        for i in line_ids
    ]

    assert dates == ["2024-03-07T14:30:00Z", "2024-12-24T00:00:00Z"]


def test_direct_line_uses_the_supplier_product_lead_time(api):
    order = _order(api, 2)
    product = create(api, "products")
    create(
        api,
        "supplierProducts",
        supplierId=order["attributes"]["supplierId"],
        productId=int(product["id"]),
        deliveryTime=7,
    )

    line = create(api, "buyOrderLines", buyOrderId=int(order["id"]), productId=int(product["id"]))

    assert line["attributes"]["expectedDeliveryDate"] == "2024-03-12T14:30:00Z"


def test_direct_line_without_supplier_product_inherits_the_order(api):
    order = _order(api, 2)

    line = create(api, "buyOrderLines", buyOrderId=int(order["id"]))

    assert line["attributes"]["expectedDeliveryDate"] == "2024-03-07T14:30:00Z"


def test_direct_line_with_null_supplier_product_lead_time_falls_through(api):
    order = _order(api, 4)
    product = create(api, "products")
    create(
        api,
        "supplierProducts",
        supplierId=order["attributes"]["supplierId"],
        productId=int(product["id"]),
        deliveryTime=None,
    )

    line = create(api, "buyOrderLines", buyOrderId=int(order["id"]), productId=int(product["id"]))

    assert line["attributes"]["expectedDeliveryDate"] == "2024-03-09T14:30:00Z"


def test_no_recalculation_on_patch(api):
    order = _order(api, 10)

    patched = api.patch(
        f"/buyOrders/{order['id']}",
        json={"data": {"type": "buyOrders", "attributes": {"placed": "2025-01-01T00:00:00Z"}}},
    ).json()["data"]

    assert patched["attributes"]["expectedDeliveryDate"] == "2024-03-15T14:30:00Z"


def test_a_direct_line_takes_the_lead_time_of_its_orders_own_supplier(api):
    """Not another supplier's supplierProduct for the same product, created before or after."""
    product = create(api, "products")
    mine = create(api, "suppliers", deliveryTime=30)
    other = create(api, "suppliers", deliveryTime=30)
    # the other supplier's row is older and has a different lead time
    create(
        api,
        "supplierProducts",
        productId=int(product["id"]),
        supplierId=int(other["id"]),
        deliveryTime=9,
    )
    create(
        api,
        "supplierProducts",
        productId=int(product["id"]),
        supplierId=int(mine["id"]),
        deliveryTime=4,
    )
    create(api, "supplierProducts", supplierId=int(other["id"]), deliveryTime=11)  # noise
    order = create(api, "buyOrders", supplierId=int(mine["id"]), placed=PLACED)

    line = create(
        api, "buyOrderLines", buyOrderId=int(order["id"]), productId=int(product["id"]), quantity=1
    )

    assert line["attributes"]["expectedDeliveryDate"] == "2024-03-09T14:30:00Z"  # placed + 4


def test_a_date_past_year_9999_is_null_not_a_server_error(api):
    # Found by Schemathesis: a supplierProduct's lead time has no upper bound, and
    # placed + 10**12 days (or year 9999 plus a year) cannot be represented.
    supplier = create(api, "suppliers", deliveryTime=365)
    product = create(api, "products")
    create(
        api,
        "supplierProducts",
        supplierId=int(supplier["id"]),
        productId=int(product["id"]),
        deliveryTime=10**12,
    )
    order = create(api, "buyOrders", supplierId=int(supplier["id"]), placed=PLACED)
    line = create(api, "buyOrderLines", buyOrderId=int(order["id"]), productId=int(product["id"]))
    late = create(api, "buyOrders", supplierId=int(supplier["id"]), placed="9999-06-01T00:00:00Z")

    assert line["attributes"]["expectedDeliveryDate"] is None
    assert late["attributes"]["expectedDeliveryDate"] is None
    assert order["attributes"]["expectedDeliveryDate"] == "2025-03-05T14:30:00Z"
