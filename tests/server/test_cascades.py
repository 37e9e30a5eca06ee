"""Cascading soft deletes (§8.2, Q14): one transaction, every cascaded row gone and touched."""

from __future__ import annotations

from sqlalchemy import text

from support import create


def _gone(api, resource_type, row_id):
    return api.get(f"/{resource_type}/{row_id}").status_code == 404


def _ids(api, resource_type):
    return [row["id"] for row in api.get(f"/{resource_type}").json()["data"]]


def test_buy_order_delete_cascades_to_lines_and_receipt_lines(api):
    line = create(api, "buyOrderLines")
    order_id = line["attributes"]["buyOrderId"]
    sibling = create(api, "buyOrderLines", buyOrderId=order_id)
    receipt = create(api, "receiptLines", buyOrderLineId=int(line["id"]))
    unrelated = create(api, "receiptLines")

    assert api.delete(f"/buyOrders/{order_id}").status_code == 204

    assert _gone(api, "buyOrders", order_id)
    assert _gone(api, "buyOrderLines", line["id"]) and _gone(api, "buyOrderLines", sibling["id"])
    assert _gone(api, "receiptLines", receipt["id"])
    assert _ids(api, "receiptLines") == [unrelated["id"]]
    assert api.get("/buyOrderLines", params={"filter[buyOrderId]": order_id}).json()["data"] == []


def test_buy_order_line_delete_cascades_to_receipt_lines(api):
    receipt = create(api, "receiptLines")
    line_id = receipt["attributes"]["buyOrderLineId"]

    api.delete(f"/buyOrderLines/{line_id}")

    assert _gone(api, "receiptLines", receipt["id"])


def test_sell_order_delete_cascades_to_lines(api):
    line = create(api, "sellOrderLines")

    api.delete(f"/sellOrders/{line['attributes']['sellOrderId']}")

    assert _gone(api, "sellOrderLines", line["id"])


def test_product_delete_cascades_but_keeps_order_history(api):
    product = create(api, "products")
    pid = int(product["id"])
    sp = create(api, "supplierProducts", productId=pid)
    as_composed = create(api, "productCompositions", composedProductId=pid)
    as_part = create(api, "productCompositions", partProductId=pid)
    promo_product = create(api, "promotionProducts", productId=pid)
    sell_line = create(api, "sellOrderLines", productId=pid)
    buy_line = create(api, "buyOrderLines", productId=pid)

    api.delete(f"/products/{pid}")

    for resource_type, row in (
        ("supplierProducts", sp),
        ("productCompositions", as_composed),
        ("productCompositions", as_part),
        ("promotionProducts", promo_product),
    ):
        assert _gone(api, resource_type, row["id"]), resource_type
    assert api.get(f"/sellOrderLines/{sell_line['id']}").status_code == 200
    assert api.get(f"/buyOrderLines/{buy_line['id']}").status_code == 200
    promotion = api.get(f"/promotions/{promo_product['attributes']['promotionId']}").json()
    assert promotion["data"]["attributes"]["productCount"] == 0


def test_supplier_delete_cascades_to_supplier_products_only(api):
    sp = create(api, "supplierProducts")
    sid = sp["attributes"]["supplierId"]
    order = create(api, "buyOrders", supplierId=sid)

    api.delete(f"/suppliers/{sid}")

    assert _gone(api, "supplierProducts", sp["id"])
    assert api.get(f"/buyOrders/{order['id']}").status_code == 200
    assert api.get(f"/products/{sp['attributes']['productId']}").status_code == 200


def test_promotion_delete_cascades_to_promotion_products(api):
    pp = create(api, "promotionProducts")

    api.delete(f"/promotions/{pp['attributes']['promotionId']}")

    assert _gone(api, "promotionProducts", pp["id"])


def test_cascaded_rows_move_updated_at(api, login):
    receipt = create(api, "receiptLines")
    line = api.get(f"/buyOrderLines/{receipt['attributes']['buyOrderLineId']}").json()["data"]

    api.delete(f"/buyOrders/{line['attributes']['buyOrderId']}")

    # A deleted row can't be read, but its stored updatedAt moved with the delete.
    with login.server.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT updated_at, deleted_at FROM receipt_lines WHERE id = :id"),
            {"id": int(receipt["id"])},
        ).one()
    assert stored.deleted_at is not None
    assert stored.updated_at == stored.deleted_at  # the delete moved it
