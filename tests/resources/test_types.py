"""Loose input parsing (§3.6) and the canonical forms, attribute kind by attribute kind."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from optiply.resources import get
from optiply.resources.types import (
    InvalidValue,
    coerce,
    format_datetime,
    parse_datetime,
    parse_text,
)

PRICE = get("products").attribute("price")
STOCK = get("products").attribute("stockLevel")
PRODUCT_ID = get("supplierProducts").attribute("productId")
STATUS = get("products").attribute("status")
PLACED = get("sellOrders").attribute("placed")
EMAILS = get("suppliers").attribute("emails")
ID = get("products").attribute("id")


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        (PRICE, 1.239, Decimal("1.23")),
        (PRICE, "-0", Decimal("0.00")),
        (PRICE, 10, Decimal("10.00")),
        (PRICE, "0.005", Decimal("0.00")),
        (STOCK, "12", 12),
        (STOCK, 12.0, 12),
        (STOCK, "12.0", 12),
        (PRODUCT_ID, "7", 7),
        (STATUS, " Enabled ", "enabled"),
        (EMAILS, "a@example.com; b@example.com", ["a@example.com", "b@example.com"]),
        (PLACED, "2024-01-01T01:00:00+01:00", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_coerce(attribute, value, expected):
    assert coerce(attribute, value) == expected


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        (STOCK, 1.5, "must be an integer"),
        (STOCK, "1e3", "must be an integer"),
        (STOCK, float("nan"), "must be an integer"),
        (PRODUCT_ID, 0, "positive id"),
        (PRODUCT_ID, "nan", "must be an integer"),
        (PRICE, float("inf"), "finite"),
        (PRICE, {"a": 1}, "must be a number"),
        (STATUS, 1, "must be a string"),
        (EMAILS, ["x"], "is not a valid address"),
        (EMAILS, 5, "array of e-mail addresses"),
        (PLACED, None, "must not be null"),
    ],
)
def test_coerce_refuses(attribute, value, message):
    with pytest.raises(InvalidValue, match=message):
        coerce(attribute, value)


def test_filters_accept_any_integer_for_ids():
    assert parse_text(ID, "0") == 0


def test_unencoded_plus_in_query_datetimes_is_understood():
    assert parse_text(PLACED, "2025-04-01T10:00:00 00:00") == datetime(2025, 4, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.500000Z"),
        ("2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456Z"),
        ("2024-01-02", "2024-01-02T00:00:00Z"),
        ("2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05Z"),
    ],
)
def test_datetime_round_trip(text, expected):
    assert format_datetime(parse_datetime(text)) == expected
