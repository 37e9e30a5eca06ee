"""The record shapes of the two HotGlue Optiply targets ``target-optiply`` replaces, and records
in those shapes.

Two targets run in HotGlue flows today; both are Meltano-SDK sinks fed by HotGlue ETLs:

- **TGT-J**: github.com/joaoraposooptiply/target-optiply, ``main`` at fb3df24 (2025-08-12),
  ``target_optiply/sinks.py`` (``field_mappings``, ``_add_additional_attributes`` and
  ``get_mandatory_fields`` of each sink) and ``target_optiply/target.py`` (``get_sink_class``).
  It declares no record schema: a field's type is what its sink passes on or converts
  (``int(float(v))`` -> a whole number that may come as a float, ``float(v)`` -> a number,
  ``json.loads(v)`` -> JSON text, a ``datetime`` turned into ISO text -> a ``date-time`` the
  SDK parsed). References are Optiply ids only (no ``Remote_*`` keys), so a flow writes
  parents and children in separate jobs, the ETL filling the ids from the previous job's id
  snapshot.
- **TGT-M**: github.com/mariocostaoptiply/target-optiply-v2, ``main`` at 260008f (2026-03-26),
  Pydantic models in ``target_optiply/unified_schemas/*.py`` (the declared types below),
  ``Remote_*`` resolution and ``line_items`` in ``target_optiply/sinks.py`` and
  ``target_optiply/base_sink.py`` (``_FIELD_ALIASES``: ``optiply_id``->``id``,
  ``remoteId``->``externalId``, ``updated_at``->``updatedAt``, ``created_at``->
  ``createdAtRemote``; deletes by ``deleted_at``/``_sdc_deleted_at``; the source id is
  ``externalId``, else ``inputId``). ``Remote_*`` keys name source ids of records written
  earlier in the same run; ``SellOrderLines`` resolves none, so they need Optiply ids.

Neither target has Promotions or PromotionProducts.

The tables map stream -> field -> declared type, one of the keys of ``JSON_SCHEMA`` (the
JSON-schema type the SCHEMA message carries). The records are rendered from ``FACTS``, one
small shop written in the API's own rendering (decimals as two-place text, UTC date-times with
``Z``), through each field's declared type: the test compares what the API reads back with the
facts. Nothing here is copied from those repositories; the tables restate their types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Declared types -> the JSON schema of a SCHEMA message property.
JSON_SCHEMA: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date-time": {"type": ["string", "null"], "format": "date-time"},
    "string[]": {"type": ["array", "null"], "items": {"type": "string"}},
    "json": {"type": ["string", "null"]},  # JSON text (a list, serialised by the ETL)
    "id": {"type": ["string", "integer", "null"]},  # an Optiply id, or null for a new record
}

LINE_ITEMS = "line_items"  # an order's lines, as JSON text
LINES = "lines"  # where a fact keeps an order's embedded lines
SOURCE_KEYS = ("externalId", "remoteId")


@dataclass(frozen=True)
class Ref:
    """A reference to another fact: its stream and source id."""

    stream: str
    source_id: str


# --------------------------------------------------------------------------------------------
# The facts: what the API must hold afterwards, as it renders it.
# --------------------------------------------------------------------------------------------

PRODUCTS: dict[str, dict[str, Any]] = {
    "P-100": {
        "name": "Blue mug",
        "skuCode": "MUG-BLUE-01",
        "eanCode": "8712345678906",
        "articleCode": "ART-100",
        "price": "4.50",
        "unlimitedStock": False,
        "stockLevel": 12,
        "notBeingBought": False,
        "resumingPurchase": None,  # sent as a boolean (SOURCE_ONLY): the API ignores it
        "status": "enabled",
        "assembled": False,
        "minimumStock": 2,
        "maximumStock": 40,
        "ignored": False,
        "manualServiceLevel": "95.00",
        "createdAtRemote": "2023-11-05T14:30:00Z",
        "stockMeasurementUnit": "pcs",
    },
    "P-200": {
        "name": "Tea set for four",
        "skuCode": "TEASET-4",
        "eanCode": "8712345678913",
        "articleCode": "ART-200",
        "price": "39.95",
        "unlimitedStock": False,
        "stockLevel": 3,
        "notBeingBought": True,
        "resumingPurchase": None,
        "status": "enabled",
        "assembled": True,
        "minimumStock": 1,
        "maximumStock": 10,
        "ignored": False,
        "manualServiceLevel": "97.50",
        "createdAtRemote": "2023-12-01T08:00:00Z",
        "stockMeasurementUnit": "set",
    },
    "P-300": {
        "name": "Saucer",
        "skuCode": "SAUCER-WHT",
        "eanCode": "8712345678920",
        "articleCode": "ART-300",
        "price": "1.25",
        "unlimitedStock": True,
        "stockLevel": 250,
        "notBeingBought": False,
        "resumingPurchase": None,
        "status": "enabled",
        "assembled": False,
        "minimumStock": 50,
        "maximumStock": 600,
        "ignored": True,
        "manualServiceLevel": "90.00",
        "createdAtRemote": "2024-01-10T12:15:00Z",
        "stockMeasurementUnit": "pcs",
    },
}

SUPPLIERS: dict[str, dict[str, Any]] = {
    "S-1": {
        "name": "Acme Ceramics",
        "emails": ["orders@acme-ceramics.example.com", "sales@acme-ceramics.example.com"],
        "minimumOrderValue": "250.00",
        "fixedCosts": "15.50",
        "deliveryTime": 7,
        "userReplenishmentPeriod": 14,
        "reactingToLostSales": True,
        "lostSalesReaction": 1,
        "lostSalesMovReaction": 0,
        "backorders": True,
        "backorderThreshold": 1,
        "backordersReaction": 0,
        "maxLoadCapacity": "1000.00",
        "containerVolume": "33.00",
        "ignored": False,
        "globalLocationNumber": "8712345000004",
        "type": "vendor",
        "remoteDataSyncedToDate": "2024-03-01T06:00:00Z",
    },
    "S-2": {
        "name": "Nordic Glass",
        "emails": ["info@nordic-glass.example.com"],
        "minimumOrderValue": "0.00",
        "fixedCosts": "42.00",
        "deliveryTime": 21,
        "userReplenishmentPeriod": 30,
        "reactingToLostSales": False,
        "lostSalesReaction": 0,
        "lostSalesMovReaction": 1,
        "backorders": False,
        "backorderThreshold": 0,
        "backordersReaction": 1,
        "maxLoadCapacity": "250.00",
        "containerVolume": "12.00",
        "ignored": False,
        "globalLocationNumber": "8712345000011",
        "type": "producer",
        "remoteDataSyncedToDate": "2024-03-01T06:00:00Z",
    },
}

SUPPLIER_PRODUCTS: dict[str, dict[str, Any]] = {
    "SP-1": {
        "productId": Ref("Products", "P-100"),
        "supplierId": Ref("Suppliers", "S-1"),
        "name": "Blue mug (Acme)",
        "skuCode": "ACME-MUG-6",
        "eanCode": "8712345678906",
        "articleCode": "AC-1001",
        "price": "3.10",
        "minimumPurchaseQuantity": 6,
        "lotSize": 6,
        "availability": True,
        "availabilityDate": "2024-04-01T00:00:00Z",
        "preferred": True,
        "deliveryTime": 5,
        "status": "enabled",
        "freeStock": 120,
        "weight": "0.35",
        "volume": "0.80",
    },
    "SP-2": {
        "productId": Ref("Products", "P-200"),
        "supplierId": Ref("Suppliers", "S-1"),
        "name": "Tea set (Acme)",
        "skuCode": "ACME-TEA-4",
        "eanCode": "8712345678913",
        "articleCode": "AC-2001",
        "price": "30.00",
        "minimumPurchaseQuantity": 1,
        "lotSize": 1,
        "availability": False,
        "availabilityDate": "2024-05-15T00:00:00Z",
        "preferred": True,
        "deliveryTime": 10,
        "status": "enabled",
        "freeStock": 0,
        "weight": "2.40",
        "volume": "6.00",
    },
    "SP-3": {
        "productId": Ref("Products", "P-300"),
        "supplierId": Ref("Suppliers", "S-2"),
        "name": "Saucer (Nordic)",
        "skuCode": "NG-SAUCER",
        "eanCode": "8712345678920",
        "articleCode": "NG-77",
        "price": "0.85",
        "minimumPurchaseQuantity": 12,
        "lotSize": 12,
        "availability": True,
        "availabilityDate": "2024-03-18T00:00:00Z",
        "preferred": True,
        "deliveryTime": 21,
        "status": "disabled",
        "freeStock": 500,
        "weight": "0.20",
        "volume": "0.30",
    },
}

PRODUCT_COMPOSITIONS: dict[str, dict[str, Any]] = {
    "PC-1": {
        "composedProductId": Ref("Products", "P-200"),
        "partProductId": Ref("Products", "P-100"),
        "partQuantity": 4,
    },
    "PC-2": {
        "composedProductId": Ref("Products", "P-200"),
        "partProductId": Ref("Products", "P-300"),
        "partQuantity": 4,
    },
}

BUY_ORDERS: dict[str, dict[str, Any]] = {
    "BO-1": {
        "supplierId": Ref("Suppliers", "S-1"),
        "placed": "2024-02-20T08:00:00Z",
        "completed": "2024-02-28T16:00:00Z",
        "expectedDeliveryDate": "2024-02-27T00:00:00Z",
        "totalValue": "97.20",
        "assembly": False,
        LINES: [
            {
                "productId": Ref("Products", "P-100"),
                "quantity": 12,
                "subtotalValue": "37.20",
                "expectedDeliveryDate": "2024-02-26T00:00:00Z",
            },
            {"productId": Ref("Products", "P-200"), "quantity": 2, "subtotalValue": "60.00"},
        ],
    },
    "BO-2": {  # its line comes as a BuyOrderLines record
        "supplierId": Ref("Suppliers", "S-2"),
        "placed": "2024-03-05T10:30:00Z",
        "totalValue": "10.20",
        "assembly": False,
    },
}

BUY_ORDER_LINES: dict[str, dict[str, Any]] = {
    "BOL-1": {
        "buyOrderId": Ref("BuyOrders", "BO-2"),
        "productId": Ref("Products", "P-300"),
        "quantity": 12,
        "subtotalValue": "10.20",
        "expectedDeliveryDate": "2024-03-26T00:00:00Z",
    },
}

RECEIPT_LINES: dict[str, dict[str, Any]] = {
    "RL-1": {
        "buyOrderLineId": Ref("BuyOrderLines", "BOL-1"),
        "occurred": "2024-03-20T09:00:00Z",
        "quantity": 8,
        "remoteDataSyncedToDate": "2024-03-20T10:00:00Z",
    },
    "RL-2": {
        "buyOrderLineId": Ref("BuyOrderLines", "BOL-1"),
        "occurred": "2024-03-27T09:00:00Z",
        "quantity": 4,
        "remoteDataSyncedToDate": "2024-03-27T10:00:00Z",
    },
}

SELL_ORDERS: dict[str, dict[str, Any]] = {
    "SO-1": {
        "placed": "2024-03-01T09:15:00Z",
        "completed": "2024-03-01T09:20:00Z",
        "totalValue": "14.00",
        LINES: [
            {"productId": Ref("Products", "P-100"), "quantity": 2, "subtotalValue": "9.00"},
            {"productId": Ref("Products", "P-300"), "quantity": 4, "subtotalValue": "5.00"},
        ],
    },
    "SO-2": {  # its line comes as a SellOrderLines record
        "placed": "2024-03-02T13:45:00Z",
        "totalValue": "39.95",
    },
}

SELL_ORDER_LINES: dict[str, dict[str, Any]] = {
    "SOL-1": {
        "sellOrderId": Ref("SellOrders", "SO-2"),
        "productId": Ref("Products", "P-200"),
        "quantity": 1,
        "subtotalValue": "39.95",
    },
}

FACTS: dict[str, dict[str, dict[str, Any]]] = {
    "Products": PRODUCTS,
    "Suppliers": SUPPLIERS,
    "SupplierProducts": SUPPLIER_PRODUCTS,
    "ProductCompositions": PRODUCT_COMPOSITIONS,
    "BuyOrders": BUY_ORDERS,
    "BuyOrderLines": BUY_ORDER_LINES,
    "ReceiptLines": RECEIPT_LINES,
    "SellOrders": SELL_ORDERS,
    "SellOrderLines": SELL_ORDER_LINES,
}

# Values an ETL sends that the API does not keep as sent: booleans where the API has a
# date-time (``resumingPurchase``, integrator-needs Q21: ignored), and ``updatedAt``, which the
# server sets itself.
SOURCE_ONLY: dict[str, dict[str, dict[str, Any]]] = {
    "Products": {
        "P-100": {"resumingPurchase": False, "updatedAt": "2024-02-29T23:59:59Z"},
        "P-200": {"resumingPurchase": True, "updatedAt": "2024-02-29T23:59:59Z"},
        "P-300": {"resumingPurchase": False, "updatedAt": "2024-03-01T00:00:00Z"},
    },
}

# Stream -> the API type its records land in.
RESOURCE_TYPES: dict[str, str] = {
    "Products": "products",
    "Suppliers": "suppliers",
    "SupplierProducts": "supplierProducts",
    "ProductCompositions": "productCompositions",
    "BuyOrders": "buyOrders",
    "BuyOrderLines": "buyOrderLines",
    "ReceiptLines": "receiptLines",
    "SellOrders": "sellOrders",
    "SellOrderLines": "sellOrderLines",
}

# Order stream -> (its line stream, the line's reference to the order).
ORDER_LINES: dict[str, tuple[str, str]] = {
    "BuyOrders": ("BuyOrderLines", "buyOrderId"),
    "SellOrders": ("SellOrderLines", "sellOrderId"),
}


# --------------------------------------------------------------------------------------------
# TGT-J: joaoraposooptiply/target-optiply @ fb3df24, target_optiply/sinks.py
# --------------------------------------------------------------------------------------------

TGT_J_TABLES: dict[str, dict[str, str]] = {
    # ProductsSink.field_mappings, passed on unchanged (a Decimal becomes a float, a datetime ISO
    # text); mandatory: name, stockLevel, unlimitedStock. Numbers are the ETL's float columns.
    "Products": {
        "externalId": "string",
        "name": "string",
        "skuCode": "string",
        "eanCode": "string",
        "articleCode": "string",
        "price": "number",
        "unlimitedStock": "boolean",
        "stockLevel": "number",
        "notBeingBought": "boolean",
        "resumingPurchase": "boolean",  # as is (2a39877 removed a commented-out bool mapping)
        "status": "string",
        "assembled": "boolean",
        "minimumStock": "number",
        "maximumStock": "number",
        "ignored": "boolean",
        "manualServiceLevel": "number",
        "createdAtRemote": "date-time",
        "stockMeasurementUnit": "string",
    },
    # SupplierSink.field_mappings; BaseOptiplySink._add_additional_attributes: emails through
    # json.loads, int(float(v)) for the integer fields (maxLoadCapacity and containerVolume
    # included), float(v) for minimumOrderValue/fixedCosts, remoteDataSyncedToDate dropped.
    "Suppliers": {
        "externalId": "string",
        "name": "string",
        "emails": "json",
        "minimumOrderValue": "number",
        "fixedCosts": "number",
        "deliveryTime": "number",
        "userReplenishmentPeriod": "number",
        "reactingToLostSales": "boolean",
        "lostSalesReaction": "number",
        "lostSalesMovReaction": "number",
        "backorders": "boolean",
        "backorderThreshold": "number",
        "backordersReaction": "number",
        "maxLoadCapacity": "number",
        "containerVolume": "number",
        "ignored": "boolean",
        "globalLocationNumber": "string",
        "type": "string",
    },
    # SupplierProductSink (95238f0, 2520c05): productId/supplierId/deliveryTime/freeStock/
    # minimumPurchaseQuantity/lotSize int(float(v)); price/weight/volume round(float(v), 2);
    # availability/preferred booleans (or "true"/"1"/"yes" text); status lower-cased with
    # active/inactive/true/false/1/0 aliases. Mandatory: name, productId, supplierId.
    "SupplierProducts": {
        "externalId": "string",
        "name": "string",
        "skuCode": "string",
        "eanCode": "string",
        "articleCode": "string",
        "price": "number",
        "minimumPurchaseQuantity": "number",
        "lotSize": "number",
        "availability": "boolean",
        "availabilityDate": "date-time",
        "preferred": "boolean",
        "productId": "number",
        "supplierId": "number",
        "deliveryTime": "number",
        "status": "string",
        "freeStock": "number",
        "weight": "number",
        "volume": "number",
    },
    # BuyOrderSink: mandatory placed, totalValue, supplierId, accountId (from the record);
    # line_items is JSON text whose subtotals replace totalValue (str(float)).
    "BuyOrders": {
        "externalId": "string",
        "placed": "date-time",
        "completed": "date-time",
        "expectedDeliveryDate": "date-time",
        "totalValue": "number",
        "supplierId": "integer",
        "accountId": "integer",
        "assembly": "boolean",
        LINE_ITEMS: "json",
    },
    "BuyOrderLines": {
        "externalId": "string",
        "quantity": "integer",
        "subtotalValue": "number",
        "productId": "integer",
        "buyOrderId": "integer",
        "expectedDeliveryDate": "date-time",
    },
    # SellOrderSink.field_mappings: placed and totalValue only (no completed).
    "SellOrders": {
        "externalId": "string",
        "placed": "date-time",
        "totalValue": "number",
        LINE_ITEMS: "json",
    },
    "SellOrderLines": {
        "externalId": "string",
        "quantity": "integer",
        "subtotalValue": "number",
        "productId": "integer",
        "sellOrderId": "integer",
    },
}

# One element of line_items (BuyOrderSink/SellOrderSink._add_additional_attributes):
# item["quantity"] as is, float(item["subtotalValue"]), item["productId"] as is (an Optiply id).
TGT_J_LINE_ITEMS: dict[str, dict[str, str]] = {
    "BuyOrders": {
        "productId": "integer",
        "quantity": "integer",
        "subtotalValue": "number",
        "expectedDeliveryDate": "date-time",
    },
    "SellOrders": {"productId": "integer", "quantity": "integer", "subtotalValue": "number"},
}


# --------------------------------------------------------------------------------------------
# TGT-M: mariocostaoptiply/target-optiply-v2 @ 260008f, target_optiply/unified_schemas/
# --------------------------------------------------------------------------------------------

TGT_M_TABLES: dict[str, dict[str, str]] = {
    # unified_schemas/products.py ProductSchema: stockLevel int (a float until 0a8eff5),
    # price float (rounded, <= 9 integer digits), minimumStock/maximumStock/manualServiceLevel
    # float, resumingPurchase bool, createdAtRemote/updatedAt str read by dateutil (naive ->
    # UTC), unlimitedStock bool defaulting to False.
    "Products": {
        "externalId": "string",
        "optiply_id": "id",
        "name": "string",
        "stockLevel": "integer",
        "unlimitedStock": "boolean",
        "skuCode": "string",
        "eanCode": "string",
        "articleCode": "string",
        "price": "number",
        "notBeingBought": "boolean",
        "resumingPurchase": "boolean",
        "status": "string",
        "assembled": "boolean",
        "minimumStock": "number",
        "maximumStock": "number",
        "ignored": "boolean",
        "manualServiceLevel": "number",
        "createdAtRemote": "string",
        "updatedAt": "string",
        "stockMeasurementUnit": "string",
    },
    # unified_schemas/suppliers.py SupplierSchema: emails List[str] (a JSON-list text or one
    # plain address also accepted), deliveryTime/userReplenishmentPeriod int clamped to 1..365,
    # maxLoadCapacity/containerVolume int, remoteDataSyncedToDate datetime.
    "Suppliers": {
        "externalId": "string",
        "optiply_id": "id",
        "name": "string",
        "emails": "string[]",
        "minimumOrderValue": "number",
        "fixedCosts": "number",
        "deliveryTime": "integer",
        "userReplenishmentPeriod": "integer",
        "remoteDataSyncedToDate": "date-time",
        "reactingToLostSales": "boolean",
        "lostSalesReaction": "integer",
        "lostSalesMovReaction": "integer",
        "backorders": "boolean",
        "backorderThreshold": "integer",
        "backordersReaction": "integer",
        "maxLoadCapacity": "integer",
        "containerVolume": "integer",
        "ignored": "boolean",
        "globalLocationNumber": "string",
        "type": "string",
    },
    # unified_schemas/supplier_products.py: productId/supplierId str (Optiply ids as text);
    # SupplierProductSink resolves Remote_productId/Remote_supplierId first.
    "SupplierProducts": {
        "externalId": "string",
        "optiply_id": "id",
        "name": "string",
        "productId": "string",
        "supplierId": "string",
        "Remote_productId": "string",
        "Remote_supplierId": "string",
        "skuCode": "string",
        "eanCode": "string",
        "articleCode": "string",
        "price": "number",
        "minimumPurchaseQuantity": "integer",
        "lotSize": "integer",
        "availability": "boolean",
        "availabilityDate": "string",
        "preferred": "boolean",
        "deliveryTime": "integer",
        "status": "string",
        "freeStock": "integer",
        "weight": "number",
        "volume": "number",
    },
    # unified_schemas/product_compositions.py; ProductCompositionSink resolves Remote_*.
    "ProductCompositions": {
        "externalId": "string",
        "optiply_id": "id",
        "composedProductId": "string",
        "partProductId": "string",
        "Remote_composedProductId": "string",
        "Remote_partProductId": "string",
        "partQuantity": "integer",
    },
    # unified_schemas/buy_orders.py: placed/completed/expectedDeliveryDate str, totalValue str
    # (from a float), supplierId/accountId int (accountId replaced by the config's),
    # line_items JSON text (excluded from the payload, parsed by base_sink._parse_line_items).
    "BuyOrders": {
        "externalId": "string",
        "optiply_id": "id",
        "placed": "string",
        "supplierId": "integer",
        "Remote_supplierId": "string",
        "accountId": "integer",
        "totalValue": "string",
        "completed": "string",
        "expectedDeliveryDate": "string",
        "assembly": "boolean",
        LINE_ITEMS: "json",
    },
    # unified_schemas/buy_order_lines.py: subtotalValue str, productId/quantity/buyOrderId int
    # (quantity a float until 5ae821f).
    "BuyOrderLines": {
        "externalId": "string",
        "optiply_id": "id",
        "subtotalValue": "string",
        "productId": "integer",
        "quantity": "integer",
        "buyOrderId": "integer",
        "Remote_productId": "string",
        "Remote_buyOrderId": "string",
        "expectedDeliveryDate": "string",
    },
    # unified_schemas/receipt_lines.py: occurred str, quantity int, buyOrderLineId str,
    # remoteId str (the source id, aliased to externalId), remoteDataSyncedToDate str.
    "ReceiptLines": {
        "remoteId": "string",
        "optiply_id": "id",
        "occurred": "string",
        "quantity": "integer",
        "buyOrderLineId": "string",
        "Remote_buyOrderLineId": "string",
        "remoteDataSyncedToDate": "string",
    },
    # unified_schemas/sell_orders.py: placed/completed str, totalValue str, line_items JSON.
    "SellOrders": {
        "externalId": "string",
        "optiply_id": "id",
        "placed": "string",
        "totalValue": "string",
        "completed": "string",
        LINE_ITEMS: "json",
    },
    # unified_schemas/sell_order_lines.py: every field mandatory, no Remote_* resolution.
    "SellOrderLines": {
        "externalId": "string",
        "optiply_id": "id",
        "subtotalValue": "string",
        "productId": "integer",
        "quantity": "integer",
        "sellOrderId": "integer",
    },
}

# One element of line_items (base_sink._parse_line_items): float(subtotalValue),
# int(quantity), productId (may be null) else Remote_productId through the products cache,
# expectedDeliveryDate passed on when present.
TGT_M_LINE_ITEM: dict[str, str] = {
    "productId": "integer",
    "Remote_productId": "string",
    "quantity": "integer",
    "subtotalValue": "string",
    "expectedDeliveryDate": "string",
}


def _naive_text(value: str) -> str:
    """``2023-11-05T14:30:00Z`` as a database column prints it: ``2023-11-05 14:30:00``."""
    return value.replace("T", " ").removesuffix("Z")


def _date_text(value: str) -> str:
    """The date part of an ISO date-time."""
    return value[:10]


@dataclass(frozen=True)
class Shape:
    """One existing target's record contract."""

    name: str
    source: str
    tables: Mapping[str, Mapping[str, str]]
    line_items: Mapping[str, Mapping[str, str]]
    # Streams per HotGlue job: a job writes only what earlier jobs' ids let it reference.
    jobs: tuple[tuple[str, ...], ...]
    # Integer-declared fields the ETL sends as whole floats (pandas columns): 12.0.
    whole_floats: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Text forms of date-times for fields declared as plain strings.
    text_forms: Mapping[str, Mapping[str, Callable[[str], str]]] = field(default_factory=dict)

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(stream for job in self.jobs for stream in job)


TGT_J = Shape(
    name="TGT-J",
    source="joaoraposooptiply/target-optiply@fb3df24 target_optiply/sinks.py",
    tables=TGT_J_TABLES,
    line_items=TGT_J_LINE_ITEMS,
    jobs=(
        ("Products", "Suppliers"),
        ("SupplierProducts", "BuyOrders", "SellOrders"),
        ("BuyOrderLines", "SellOrderLines"),
    ),
)

TGT_M = Shape(
    name="TGT-M",
    source="mariocostaoptiply/target-optiply-v2@260008f target_optiply/unified_schemas/",
    tables=TGT_M_TABLES,
    line_items={"BuyOrders": TGT_M_LINE_ITEM, "SellOrders": TGT_M_LINE_ITEM},
    jobs=(
        (
            "Products",
            "Suppliers",
            "SupplierProducts",
            "ProductCompositions",
            "BuyOrders",
            "BuyOrderLines",
            "ReceiptLines",
            "SellOrders",
        ),
        ("SellOrderLines",),
    ),
    # 0a8eff5 and 5ae821f: stockLevel and line quantities arrived as floats.
    whole_floats={
        "Products": frozenset({"stockLevel"}),
        "BuyOrderLines": frozenset({"quantity"}),
        "SellOrderLines": frozenset({"quantity"}),
    },
    text_forms={
        "Products": {"createdAtRemote": _naive_text, "updatedAt": _naive_text},
        "SupplierProducts": {"availabilityDate": _date_text},
        "BuyOrderLines": {"expectedDeliveryDate": _date_text},
    },
)

SHAPES: tuple[Shape, ...] = (TGT_J, TGT_M)

Ids = Mapping[str, Mapping[str, int]]  # stream -> source id -> Optiply id, from earlier jobs


def typed(declared: str, value: Any, *, whole_float: bool = False) -> Any:
    """An API-form value (``"4.50"``, ``12``, ISO text) as a field declared ``declared``."""
    if value is None:
        return None
    if declared == "boolean":
        assert isinstance(value, bool), value
        return value
    if declared in ("integer", "number"):
        assert not isinstance(value, bool), value
        number = Decimal(str(value))
        if declared == "number":
            return float(number)
        assert number == number.to_integral_value(), value
        return float(number) if whole_float else int(number)
    if declared in ("string", "date-time"):
        return value if isinstance(value, str) else str(value)
    if declared == "string[]":
        assert isinstance(value, list), value
        return list(value)
    if declared == "json":
        return json.dumps(value)
    if declared == "id":
        return value
    raise AssertionError(f"unknown declared type {declared!r}")


def _render(
    table: Mapping[str, str],
    fact: Mapping[str, Any],
    ids: Ids,
    *,
    whole_floats: frozenset[str] = frozenset(),
    text_forms: Mapping[str, Callable[[str], str]] | None = None,
) -> dict[str, Any]:
    """The fields of ``table`` that ``fact`` has, each typed as declared; references as
    ``Remote_*`` source ids where the table has that key, else as Optiply ids from ``ids``."""
    record: dict[str, Any] = {}
    for name, declared in table.items():
        if name.startswith("Remote_"):
            ref = fact.get(name.removeprefix("Remote_"))
            if isinstance(ref, Ref):
                record[name] = ref.source_id
            continue
        if name not in fact:
            continue
        value = fact[name]
        if isinstance(value, Ref):
            if f"Remote_{name}" in table:
                record[name] = None  # the column is there, empty: Remote_* names the parent
                continue
            value = ids[value.stream][value.source_id]
        value = typed(declared, value, whole_float=name in whole_floats)
        form = (text_forms or {}).get(name)
        if form is not None and value is not None:
            value = form(value)
        record[name] = value
    return record


def record(shape: Shape, stream: str, source_id: str, ids: Ids, account_id: int) -> dict[str, Any]:
    """The record ``shape``'s ETL emits for one fact."""
    table = shape.tables[stream]
    fact = {**FACTS[stream][source_id], **SOURCE_ONLY.get(stream, {}).get(source_id, {})}
    out = _render(
        table,
        fact,
        ids,
        whole_floats=shape.whole_floats.get(stream, frozenset()),
        text_forms=shape.text_forms.get(stream),
    )
    for key in SOURCE_KEYS:
        if key in table:
            out[key] = source_id
    if "optiply_id" in table:
        out["optiply_id"] = None  # a new record: no Optiply id yet
    if "accountId" in table:
        out["accountId"] = account_id
    lines = fact.get(LINES)
    if LINE_ITEMS in table and lines:
        items = [_render(shape.line_items[stream], line, ids) for line in lines]
        out[LINE_ITEMS] = typed(table[LINE_ITEMS], items)
    return {name: out[name] for name in table if name in out}  # in the table's order


def job(shape: Shape, index: int, ids: Ids, account_id: int) -> dict[str, list[dict[str, Any]]]:
    """Stream -> records of job ``index`` of ``shape``'s flow."""
    return {
        stream: [record(shape, stream, source_id, ids, account_id) for source_id in FACTS[stream]]
        for stream in shape.jobs[index]
    }


def schema(shape: Shape, stream: str) -> dict[str, Any]:
    """The JSON schema a SCHEMA message of ``stream`` carries, in ``shape``'s declared types."""
    return {
        "type": "object",
        "properties": {name: JSON_SCHEMA[t] for name, t in shape.tables[stream].items()},
    }


def singer_lines(shape: Shape, batch: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    """SCHEMA and RECORD messages, stream after stream, as a HotGlue job sends them."""
    lines: list[str] = []
    for stream, records in batch.items():
        message = {
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema(shape, stream),
            "key_properties": [],
        }
        lines.append(json.dumps(message))
        lines += [json.dumps({"type": "RECORD", "stream": stream, "record": r}) for r in records]
    return lines


def expected(shape: Shape, stream: str, source_id: str, ids: Ids) -> dict[str, Any]:
    """The attributes the API must render for a fact written in ``shape``: the facts of the
    fields the shape sends (references resolved to Optiply ids)."""
    table = shape.tables[stream]
    out: dict[str, Any] = {}
    for name, value in FACTS[stream][source_id].items():
        if name == LINES or (name not in table and f"Remote_{name}" not in table):
            continue
        out[name] = ids[value.stream][value.source_id] if isinstance(value, Ref) else value
    return out


def expected_lines(shape: Shape, stream: str, source_id: str, ids: Ids) -> list[dict[str, Any]]:
    """The embedded lines the API must hold for an order fact, sorted by product id."""
    table = shape.line_items.get(stream, {})
    lines = []
    for line in FACTS[stream][source_id].get(LINES, []):
        lines.append(
            {
                name: ids[value.stream][value.source_id] if isinstance(value, Ref) else value
                for name, value in line.items()
                if name in table or f"Remote_{name}" in table
            }
        )
    return sorted(lines, key=lambda line: line["productId"])


def expected_counts(shape: Shape) -> dict[str, int]:
    """Rows per API type after ``shape``'s flow: its records plus the lines orders embed."""
    counts = dict.fromkeys(RESOURCE_TYPES.values(), 0)
    for stream in shape.streams:
        counts[RESOURCE_TYPES[stream]] += len(FACTS[stream])
        if stream in ORDER_LINES and LINE_ITEMS in shape.tables[stream]:
            line_type = RESOURCE_TYPES[ORDER_LINES[stream][0]]
            counts[line_type] += sum(len(f.get(LINES, [])) for f in FACTS[stream].values())
    return counts
