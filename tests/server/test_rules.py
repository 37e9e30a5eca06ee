"""Preferred supplier (§8.8), provenance (§7.0, Q9, Q13), updatedAt (§5.4), promotions (§7.11)."""

from __future__ import annotations

import time

import pytest

from support import create


def _patch(api, resource_type, row_id, **attributes):
    return api.patch(
        f"/{resource_type}/{row_id}",
        json={"data": {"type": resource_type, "attributes": attributes}},
    )


def test_setting_preferred_clears_the_products_other_supplier_products(api):
    product = int(create(api, "products")["id"])
    first = create(api, "supplierProducts", productId=product, preferred=True)
    second = create(api, "supplierProducts", productId=product)
    elsewhere = create(api, "supplierProducts", preferred=True)

    third = create(api, "supplierProducts", productId=product, preferred=True)

    def preferred(row):
        return api.get(f"/supplierProducts/{row['id']}").json()["data"]["attributes"]

    assert preferred(first)["preferred"] is False
    assert preferred(first)["updatedAt"] > first["attributes"]["updatedAt"]
    assert preferred(second)["preferred"] is False
    assert preferred(third)["preferred"] is True
    assert preferred(elsewhere)["preferred"] is True

    assert _patch(api, "supplierProducts", second["id"], preferred=True).status_code == 200
    assert preferred(third)["preferred"] is False
    assert preferred(second)["preferred"] is True


def test_remote_data_synced_to_date_is_accepted_on_every_writable_type(api):
    from optiply.resources import REGISTRY

    for spec in REGISTRY:
        if "POST" not in spec.methods:
            continue
        row = create(api, spec.type, remoteDataSyncedToDate="2024-05-01T12:00:00Z", remoteId="R9")
        assert row["attributes"]["remoteDataSyncedToDate"] == "2024-05-01T12:00:00Z", spec.type
        assert row["attributes"]["remoteIdMap"] == {"publicApi": "R9"}, spec.type
        assert row["attributes"]["createdFromPublicApi"] is True


def test_updated_at_moves_on_every_change_and_incremental_readers_see_it(api):
    rows = [create(api, "products") for _ in range(3)]
    mark = max(row["attributes"]["updatedAt"] for row in rows)
    time.sleep(0.01)

    _patch(api, "products", rows[1]["id"], stockLevel=99)

    changed = api.get("/products", params={"filter[updatedAt][GT]": mark}).json()["data"]
    assert [row["id"] for row in changed] == [rows[1]["id"]]
    assert changed[0]["attributes"]["updatedAt"] > rows[1]["attributes"]["updatedAt"]


def test_end_date_before_start_date_is_400(api):
    response = api.post(
        "/promotions",
        json={
            "data": {
                "type": "promotions",
                "attributes": {"name": "P", "startDate": "2024-02-01", "endDate": "2024-01-01"},
            }
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/attributes/endDate"

    promotion = create(api, "promotions")
    response = _patch(api, "promotions", promotion["id"], endDate="2000-01-01")
    assert response.status_code == 400


def test_a_promotion_of_one_instant_is_accepted(api):
    """endDate equal to startDate is not "before" it: on POST and on PATCH."""
    same = create(
        api, "promotions", startDate="2024-02-01T10:00:00Z", endDate="2024-02-01T10:00:00Z"
    )
    assert same["attributes"]["endDate"] == same["attributes"]["startDate"]

    later = create(api, "promotions", startDate="2024-02-01", endDate="2024-03-01")
    response = _patch(api, "promotions", later["id"], endDate="2024-02-01T00:00:00Z")
    assert response.status_code == 200, response.text
    response = _patch(api, "promotions", later["id"], endDate="2024-01-31T23:59:59.999999Z")
    assert response.status_code == 400


def test_product_count_follows_promotion_products(api):
    promotion = create(api, "promotions")
    pid = int(promotion["id"])

    def count():
        return api.get(f"/promotions/{pid}").json()["data"]["attributes"]["productCount"]

    first = create(api, "promotionProducts", promotionId=pid)
    create(api, "promotionProducts", promotionId=pid)
    assert count() == 2
    api.delete(f"/promotionProducts/{first['id']}")
    assert count() == 1
    assert (
        api.get(f"/promotions/{pid}").json()["data"]["attributes"]["updatedAt"]
        > (promotion["attributes"]["updatedAt"])
    )


def test_entire_shop_links_every_current_product(api):
    products = {create(api, "products")["id"] for _ in range(3)}

    promotion = create(api, "promotions", entireShop=True)

    assert promotion["attributes"]["productCount"] == 3
    linked = api.get(f"/promotions/{promotion['id']}/promotionProducts").json()["data"]
    assert {str(row["attributes"]["productId"]) for row in linked} == products


def test_entire_shop_on_patch_links_the_missing_products(api):
    promotion = create(api, "promotions")
    create(api, "products")
    create(api, "promotionProducts", promotionId=int(promotion["id"]))

    patched = _patch(api, "promotions", promotion["id"], entireShop=True).json()["data"]

    products = api.get("/products").json()["meta"]["totalResourceCount"]
    assert patched["attributes"]["productCount"] == products


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("close_out", "close_out"), ("Absolute", "absolute"), ("percentage", "relative")],
)
def test_uplift_types(api, sent, stored):
    promotion = create(api, "promotions", upliftType=sent)
    pp = create(api, "promotionProducts", promotionId=int(promotion["id"]), specificUpliftType=sent)

    assert promotion["attributes"]["upliftType"] == stored
    assert pp["attributes"]["specificUpliftType"] == stored
