"""Every single-attribute rule of §8.5, loose input types (§3.6) and decimal rounding (§8.4)."""

from __future__ import annotations

import pytest

from optiply.resources import get as get_spec
from support import create, required_attributes

# (type, attribute, value sent, expected status, expected stored value or detail fragment)
RULES = [
    ("suppliers", "deliveryTime", 0, 400, "between 1 and 365"),
    ("suppliers", "deliveryTime", 366, 400, "between 1 and 365"),
    ("suppliers", "deliveryTime", 365, 201, 365),
    ("suppliers", "deliveryTime", None, 201, None),
    ("suppliers", "userReplenishmentPeriod", 0, 400, "between 1 and 365"),
    ("suppliers", "userReplenishmentPeriod", 1, 201, 1),
    ("suppliers", "lostSalesReaction", 2, 400, "0 or 1"),
    ("suppliers", "lostSalesMovReaction", -1, 400, "0 or 1"),
    ("suppliers", "backorderThreshold", 1, 201, 1),
    ("suppliers", "backordersReaction", 5, 400, "0 or 1"),
    ("suppliers", "emails", ["ok@example.com", "foo@"], 400, "is not a valid address"),
    (
        "suppliers",
        "emails",
        ["a@example.com", "b@example.org"],
        201,
        ["a@example.com", "b@example.org"],
    ),
    ("suppliers", "type", "producer", 201, "producer"),
    ("suppliers", "type", "VENDOR", 201, "vendor"),
    ("suppliers", "type", "wholesaler", 400, "must be one of vendor, producer"),
    ("suppliers", "globalLocationNumber", "123456789012", 400, "exactly 13"),
    ("suppliers", "globalLocationNumber", "1234567890123", 201, "1234567890123"),
    ("suppliers", "name", "x" * 256, 400, "at most 255"),
    ("suppliers", "name", "x" * 255, 201, "x" * 255),
    ("suppliers", "currency", "EUR", 201, "EUR"),
    ("supplierProducts", "deliveryTime", 0, 400, "greater than or equal to 1"),
    ("supplierProducts", "deliveryTime", 1000, 201, 1000),
    ("supplierProducts", "lotSize", 0, 400, "greater than or equal to 1"),
    ("supplierProducts", "minimumPurchaseQuantity", 0, 400, "greater than or equal to 1"),
    ("supplierProducts", "minimumPurchaseQuantity", None, 201, None),
    ("supplierProducts", "availability_date", "2024-01-01", 201, "2024-01-01T00:00:00Z"),
    ("supplierProducts", "costPrice", "1.999", 201, "1.99"),
    ("supplierProducts", "economicOrderQuantity", 12, 201, 12),
    ("productCompositions", "partQuantity", 0, 400, "greater than or equal to 1"),
    ("productCompositions", "batchQuantity", 3, 201, 3),
    ("products", "status", "DISABLED", 201, "disabled"),
    ("products", "status", "archived", 400, "must be one of enabled, disabled"),
    ("products", "stockMeasurementUnit", "x" * 11, 400, "at most 10"),
    ("products", "stockLevel", -12, 201, -12),
    ("products", "stockLevel", "42", 201, 42),
    ("products", "stockLevel", 3.0, 201, 3),
    ("products", "stockLevel", 3.5, 400, "must be an integer"),
    ("products", "stockLevel", "nan", 400, "must be an integer"),
    ("products", "stockLevel", "", 400, "must be an integer"),
    ("products", "stockLevel", "²", 400, "must be an integer"),
    ("products", "stockLevel", True, 400, "must be an integer"),
    ("products", "stockLevel", 2**63, 400, "64-bit"),
    ("products", "stockLevel", 2**63 - 1, 201, 2**63 - 1),
    ("products", "price", 1.239, 201, "1.23"),
    ("products", "price", "12.5", 201, "12.50"),
    ("products", "price", 7, 201, "7.00"),
    ("products", "price", "999999999.999", 201, "999999999.99"),
    ("products", "price", "1000000000", 400, "at most 9 digits"),
    ("products", "price", -1, 400, "greater than or equal to 0"),
    ("products", "price", "NaN", 400, "finite number"),
    ("products", "price", "abc", 400, "must be a number"),
    ("products", "price", [], 400, "must be a number"),
    ("products", "manualServiceLevel", 101, 400, "between 0 and 100"),
    ("products", "unlimitedStock", "yes", 400, "must be a boolean"),
    ("products", "unlimitedStock", "true", 201, True),
    ("products", "resumingPurchase", True, 201, None),  # Q21: booleans are ignored
    ("products", "resumingPurchase", "2024-01-01T00:00:00.0Z", 201, "2024-01-01T00:00:00Z"),
    ("products", "createdAtRemote", "not a date", 400, "ISO-8601"),
    ("products", "createdAtRemote", 1700000000, 400, "ISO-8601"),
    ("products", "skuCode", 12345, 201, "12345"),
    ("products", "name", None, 400, "must not be null"),
    ("products", "name", "   ", 400, "must not be blank"),
    ("products", "name", "a\x00b", 400, "NUL"),
    ("products", "remoteId", "a\x00b", 400, "NUL"),
    ("sellOrders", "totalValue", "-1.239", 201, "-1.23"),
    ("sellOrders", "totalValue", "99999999999999999.999", 201, "99999999999999999.99"),
    ("sellOrders", "totalValue", "100000000000000000", 400, "at most 17 digits"),
    ("sellOrders", "totalValue", "-0.001", 201, "0.00"),
    ("sellOrderLines", "quantity", "7", 201, 7),
    ("sellOrderLines", "subtotalValue", "76.0", 201, "76.00"),
    ("promotions", "upliftType", "close_out", 201, "close_out"),
    ("promotions", "upliftType", "PERCENTAGE", 201, "relative"),
    ("promotions", "upliftType", "double", 400, "must be one of absolute, relative, close_out"),
    ("promotionProducts", "specificUpliftType", "Absolute", 201, "absolute"),
]


@pytest.mark.parametrize(
    ("resource_type", "name", "value", "status", "expected"),
    RULES,
    ids=[f"{r[0]}.{r[1]}={str(r[2])[:20]}" for r in RULES],
)
def test_single_attribute_rules(api, resource_type, name, value, status, expected):
    spec = get_spec(resource_type)
    body = {**required_attributes(api, spec), name: value}

    response = api.post(
        f"/{resource_type}", json={"data": {"type": resource_type, "attributes": body}}
    )

    assert response.status_code == status, response.text
    if status == 201:
        attribute = spec.attribute(name)
        assert attribute is not None
        assert response.json()["data"]["attributes"][attribute.name] == expected
        return
    [error] = response.json()["errors"]
    assert error["status"] == "400"
    assert error["source"] == {"pointer": f"/data/attributes/{name}"}
    assert expected in error["detail"]
    assert error["meta"]["message"] == error["detail"]


@pytest.mark.parametrize("resource_type", ["products", "supplierProducts"])
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_resuming_purchase_leaves_a_stored_date_unchanged(api, resource_type, value):
    row = create(api, resource_type, resumingPurchase="2024-05-06T07:08:09Z")

    response = api.patch(
        f"/{resource_type}/{row['id']}",
        json={"data": {"type": resource_type, "attributes": {"resumingPurchase": value}}},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["attributes"]["resumingPurchase"] == "2024-05-06T07:08:09Z"
    stored = api.get(f"/{resource_type}/{row['id']}").json()["data"]["attributes"]
    assert stored["resumingPurchase"] == "2024-05-06T07:08:09Z"


def test_availability_date_alias_is_stored_as_availability_date(api):
    created = create(api, "supplierProducts", availability_date="2024-01-02T03:04:05Z")

    assert created["attributes"]["availabilityDate"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize(
    "resource_type", ["products", "suppliers", "buyOrders", "supplierProducts", "receiptLines"]
)
def test_missing_required_attributes_are_all_reported(api, resource_type):
    spec = get_spec(resource_type)

    response = api.post(
        f"/{resource_type}", json={"data": {"type": resource_type, "attributes": {}}}
    )

    assert response.status_code == 400
    pointers = {error["source"]["pointer"] for error in response.json()["errors"]}
    required = {f"/data/attributes/{a.name}" for a in spec.attributes if a.required}
    assert pointers == required
    assert {error["code"] for error in response.json()["errors"]} == {"REQUIRED"}


def test_several_bad_attributes_are_reported_together(api):
    response = api.post(
        "/suppliers",
        json={
            "data": {
                "type": "suppliers",
                "attributes": {
                    "name": "S",
                    "deliveryTime": 0,
                    "lostSalesReaction": 3,
                    "emails": ["nope"],
                },
            }
        },
    )

    assert response.status_code == 400
    pointers = sorted(e["source"]["pointer"] for e in response.json()["errors"])
    assert pointers == [
        "/data/attributes/deliveryTime",
        "/data/attributes/emails",
        "/data/attributes/lostSalesReaction",
    ]


def test_patch_applies_the_same_rules_and_keeps_the_row(api):
    supplier = create(api, "suppliers", deliveryTime=10)

    response = api.patch(
        f"/suppliers/{supplier['id']}",
        json={"data": {"type": "suppliers", "attributes": {"deliveryTime": 0, "name": "Renamed"}}},
    )

    assert response.status_code == 400
    assert api.get(f"/suppliers/{supplier['id']}").json()["data"] == supplier


def test_patch_with_explicit_null_clears_and_absent_keeps(api):
    product = create(api, "products", skuCode="SKU-1", eanCode="EAN-1")

    response = api.patch(
        f"/products/{product['id']}",
        json={"data": {"type": "products", "attributes": {"skuCode": None}}},
    )

    attributes = response.json()["data"]["attributes"]
    assert attributes["skuCode"] is None
    assert attributes["eanCode"] == "EAN-1"


def test_unknown_and_read_only_attributes_are_ignored(api):
    response = api.post(
        "/products",
        json={
            "data": {
                "type": "products",
                "attributes": {
                    "name": "P",
                    "stockLevel": 1,
                    "lotSize": 5,
                    "uuid": "nope",
                    "novel": True,
                    "createdAt": "2000-01-01T00:00:00Z",
                    "createdFromPublicApi": False,
                    "remoteIdMap": {"x": "y"},
                    "id": "12",
                },
            }
        },
    )

    assert response.status_code == 201
    attributes = response.json()["data"]["attributes"]
    assert attributes["uuid"] != "nope"
    assert attributes["novel"] is False
    assert attributes["createdFromPublicApi"] is True
    assert attributes["remoteIdMap"] == {}
    assert not attributes["createdAt"].startswith("2000")
    assert "lotSize" not in attributes


def test_defaults_are_applied_on_create(api):
    product = create(api, "products")["attributes"]
    supplier = create(api, "suppliers")["attributes"]
    promotion = create(api, "promotions")["attributes"]

    assert (
        product["unlimitedStock"],
        product["status"],
        product["ignored"],
        product["notBeingBought"],
        product["assembled"],
    ) == (False, "enabled", False, False, False)
    assert (supplier["type"], supplier["backorders"], supplier["reactingToLostSales"]) == (
        "vendor",
        False,
        False,
    )
    assert (promotion["enabled"], promotion["productCount"]) == (True, 0)
