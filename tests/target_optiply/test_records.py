"""Singer record -> API attributes: aliases, id normalisation, coercion, field paths."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from optiply.resources import get
from target_optiply.records import BadRecord, convert, normalise_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("nan", None),
        ("None", None),
        (float("nan"), None),
        (float("inf"), None),
        (12345.0, 12345),
        ("12345.0", 12345),
        (Decimal("7"), 7),
        ("12.5", None),
        (0, None),
    ],
)
def test_ids_are_normalised(value, expected):
    assert normalise_id(value) == expected


def test_aliases_and_loose_values():
    mapped = convert(
        get("products"),
        {
            "remoteId": "SKU-1",
            "optiply_id": "42.0",
            "created_at": "2024-01-02",
            "name": "x" * 300,
            "price": "nan",
            "stockLevel": Decimal("5"),
            "status": "DISABLED",
            "uuid": "ignored, read-only",
        },
    )
    assert mapped.external_id == "SKU-1" and mapped.optiply_id == 42
    assert len(mapped.attributes["name"]) == 255
    assert "price" not in mapped.attributes and "uuid" not in mapped.attributes
    assert mapped.attributes["stockLevel"] == 5 and mapped.attributes["status"] == "disabled"
    assert mapped.attributes["createdAtRemote"].isoformat() == "2024-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("resource_type", "record", "path"),
    [
        ("products", {"name": "a", "stockLevel": 1.5}, "/stockLevel"),
        ("suppliers", {"name": "a", "deliveryTime": 400}, "/deliveryTime"),
        ("suppliers", {"name": "a", "type": "reseller"}, "/type"),
        ("suppliers", {"name": "a", "emails": "not-an-address"}, "/emails"),
        ("supplierProducts", {"lotSize": 0}, "/lotSize"),
        ("buyOrders", {"line_items": "[{"}, "/line_items"),
        (
            "buyOrders",
            {"line_items": json.dumps([{"productId": 1, "quantity": "x"}])},
            "/line_items/0/quantity",
        ),
        (
            "buyOrders",
            {"line_items": json.dumps([{"quantity": 1, "subtotalValue": 1}])},
            "/line_items/0/productId",
        ),
    ],
)
def test_a_bad_value_fails_the_record_with_its_path(resource_type, record, path):
    with pytest.raises(BadRecord) as raised:
        convert(get(resource_type), record)
    assert raised.value.path == path


def test_line_items_string_becomes_lines_and_a_total():
    mapped = convert(
        get("buyOrders"),
        {
            "externalId": "BO1",
            "line_items": json.dumps(
                [
                    {"Remote_productId": "P1", "quantity": 2, "subtotalValue": "1.50"},
                    {"productId": "9", "quantity": 1.0, "subtotalValue": 3},
                ]
            ),
        },
    )
    assert mapped.lines is not None and len(mapped.lines) == 2
    assert mapped.lines[0].remote_product_id == "P1" and mapped.lines[1].product_id == 9
    assert mapped.attributes["totalValue"] == Decimal("4.50")


def test_deletes_are_signalled_by_either_key():
    assert convert(get("products"), {"deleted_at": "2024-01-01"}).deleted
    assert convert(get("products"), {"_sdc_deleted_at": "2024-01-01"}).deleted
    assert not convert(get("products"), {"_sdc_deleted_at": None}).deleted


@pytest.mark.parametrize(
    ("resource_type", "name", "value", "expected"),
    [
        ("supplierProducts", "status", "active", "enabled"),
        ("supplierProducts", "status", "Inactive", "disabled"),
        ("supplierProducts", "status", 1, "enabled"),
        ("supplierProducts", "status", "false", "disabled"),
        ("supplierProducts", "availability", "yes", True),
        ("supplierProducts", "availability", "NO", False),
        ("supplierProducts", "availability", 1, True),
        ("supplierProducts", "availability", "0", False),
        ("products", "unlimitedStock", "true", True),
    ],
)
def test_words_the_hotglue_targets_translate_are_translated(resource_type, name, value, expected):
    mapped = convert(get(resource_type), {"externalId": "X", name: value})
    assert mapped.attributes[name] == expected


@pytest.mark.parametrize("value", ["maybe", 2, "enabledish"])
def test_other_words_still_fail_the_record(value):
    with pytest.raises(BadRecord, match="/status"):
        convert(get("products"), {"externalId": "X", "status": value})


def test_input_id_is_a_source_id_when_nothing_better_is_given():
    assert convert(get("products"), {"inputId": "IN-1", "name": "M"}).external_id == "IN-1"
    both = {"inputId": "IN-1", "remoteId": "R-1", "name": "M"}
    assert convert(get("products"), both).external_id == "R-1"
