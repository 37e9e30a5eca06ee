"""The stream table (``streams.py``): which streams exist, in what order, what is special."""

from __future__ import annotations

import pytest

from target_optiply.streams import LEVELS, STREAMS, WRITABLE, match_stream


@pytest.mark.parametrize(
    ("name", "resource_type"),
    [
        ("Products", "products"),
        ("sell_order_lines", "sellOrderLines"),
        ("RECEIPTLINES", "receiptLines"),
    ],
)
def test_stream_names_match_case_insensitively(name, resource_type):
    spec = match_stream(name)
    assert spec is not None and spec.type == resource_type


def test_every_writable_type_has_one_row_in_registry_order():
    assert [row.type for row in STREAMS.values()] == [spec.type for spec in WRITABLE]


def test_levels_put_parents_first():
    assert [[row.name for row in level] for level in LEVELS] == [
        ["Products", "Suppliers", "Promotions"],
        ["SupplierProducts", "ProductCompositions", "SellOrders", "BuyOrders", "PromotionProducts"],
        ["SellOrderLines", "BuyOrderLines"],
        ["ReceiptLines"],
    ]


@pytest.mark.parametrize(
    ("stream", "rule", "value"),
    [
        ("Products", "soft_delete", {"status": "disabled"}),
        ("SupplierProducts", "soft_delete", {"status": "disabled"}),
        ("Suppliers", "soft_delete", {"ignored": True}),
        ("BuyOrders", "soft_delete", None),
        ("SupplierProducts", "recreate_on_404", True),
        ("Products", "recreate_on_404", False),
        ("Products", "create_defaults", {"unlimitedStock": False}),
        ("Suppliers", "create_defaults", {}),
        ("SellOrders", "total_from_lines", "totalValue"),
        ("Products", "total_from_lines", None),
        ("SupplierProducts", "adopt_on_409", ("supplierId", "productId")),
        ("ProductCompositions", "adopt_on_409", ("composedProductId", "partProductId")),
        ("Products", "adopt_on_409", None),
        ("Products", "read_back_key", ("name", "stockLevel")),
        ("Products", "read_back_by_source_id", True),
    ],
)
def test_what_is_special_about_a_stream(stream, rule, value):
    assert getattr(STREAMS[stream], rule) == value
