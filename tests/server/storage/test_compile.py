"""``where`` and ``order_by`` against real databases: each query string selects the right ids.

The same table of expectations runs on SQLite and (when configured) PostgreSQL, so every row is
also a check that both dialects agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine, Table, delete, insert, select

from optiply.query import ListQuery, parse
from optiply.resources import get
from optiply.server.storage.compile import order_by, where
from optiply.server.storage.tables import RESOURCE_TABLES

CREATED = datetime(2023, 1, 1, tzinfo=UTC)
PRODUCTS = RESOURCE_TABLES["products"]
SUPPLIERS = RESOURCE_TABLES["suppliers"]
ACCOUNTS = RESOURCE_TABLES["accounts"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def uuid(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


# id, name, skuCode, price, stockLevel, status, ignored, minimumStock, resumingPurchase,
# updatedAt, remoteIdMap, accountId
CATALOGUE = [
    (1, "Red Chair", "CH-001", "9.50", 5, "enabled", False, None, None,
     "2024-01-01T10:00:00Z", {"publicApi": "A-1"}, 1),
    (2, "Blue chair", "CH-002", "10.00", 0, "enabled", True, 3, "2024-06-01T00:00:00Z",
     "2024-01-01T10:00:00.5Z", None, 1),
    (3, "Table 100%", None, "100.00", -2, "disabled", False, 0, None,
     "2024-01-01T10:00:00.000001Z", {"shop": "X_9"}, 1),
    (4, "Lamp_1", "LA-1", None, 12, "enabled", False, None, "2023-12-31T23:59:59.999999Z",
     "2024-01-02T00:00:00Z", None, 1),
    (5, "lamp 2", "la-2", "1234567.89", 7, "disabled", True, 3, None,
     "2023-12-31T23:59:59Z", None, 1),
    (6, "Stool\\", None, "0.00", 1, "enabled", False, 1, None,
     "2024-01-03T00:00:00Z", None, 2),
]  # fmt: skip


def product_row(values: tuple[Any, ...]) -> dict[str, Any]:
    (number, name, sku, price, stock, status, ignored, minimum, resuming, updated, remote_ids,
     account) = values  # fmt: skip
    row = {
        "id": number,
        "uuid": uuid(number),
        "account_id": account,
        "name": name,
        "sku_code": sku,
        "price": None if price is None else Decimal(price),
        "unlimited_stock": False,
        "stock_level": stock,
        "status": status,
        "not_being_bought": False,
        "assembled": False,
        "ignored": ignored,
        "minimum_stock": minimum,
        "resuming_purchase": None if resuming is None else at(resuming),
        "novel": False,
        "created_from_public_api": True,
        "created_at": CREATED,
        "updated_at": at(updated),
    }
    if remote_ids is not None:  # absent, not None: None would be stored as the JSON null
        row["remote_id_map"] = remote_ids
    return row


def supplier_row(number: int, emails: list[str] | None) -> dict[str, Any]:
    row = {
        "id": number,
        "uuid": uuid(100 + number),
        "account_id": 1,
        "name": f"Supplier {number}",
        "reacting_to_lost_sales": False,
        "backorders": False,
        "ignored": False,
        "type": "vendor",
        "created_from_public_api": True,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    if emails is not None:
        row["emails"] = emails
    return row


@pytest.fixture(scope="module")
def engine(storage_engine: Engine) -> Engine:
    """The storage engine, holding exactly the rows of CATALOGUE and two suppliers."""
    with storage_engine.begin() as connection:
        for table in (PRODUCTS, SUPPLIERS, ACCOUNTS):
            connection.execute(delete(table))
        for number in (1, 2):
            connection.execute(
                insert(ACCOUNTS).values(
                    id=number, uuid=uuid(900 + number), created_at=CREATED, updated_at=CREATED
                )
            )
        for values in CATALOGUE:
            connection.execute(insert(PRODUCTS).values(product_row(values)))
        connection.execute(
            insert(SUPPLIERS).values(supplier_row(1, ["Orders@Example.com", "b@x.org"]))
        )
        connection.execute(insert(SUPPLIERS).values(supplier_row(2, None)))
        if connection.dialect.name == "postgresql":  # later tests of this database create rows
            for table in (PRODUCTS, SUPPLIERS, ACCOUNTS):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
    return storage_engine


def ids(engine: Engine, query_string: str, resource_type: str = "products") -> list[int]:
    """The ids a collection GET with ``query_string`` selects, in order (paging aside)."""
    spec = get(resource_type)
    table: Table = RESOURCE_TABLES[spec.type]
    query = parse(parse_qsl(query_string, keep_blank_values=True), spec)
    dialect = engine.dialect.name
    statement = (
        select(table.c.id)
        .where(*where(table, query, dialect))
        .order_by(*order_by(table, query, dialect))
    )
    with engine.connect() as connection:
        return list(connection.scalars(statement))


FILTERS = [
    ("", [1, 2, 3, 4, 5, 6], "no-filter"),
    # ids and references, with the comma lists of Q27
    ("filter[id]=3", [3], "id"),
    ("filter[id]=5,1,3", [1, 3, 5], "id-in"),
    ("filter[id]=1&filter[id]=3", [1, 3], "id-repeated-key"),
    ("filter[id][NEQ]=1,2", [3, 4, 5, 6], "id-not-in"),
    ("filter[id][GT]=4", [5, 6], "id-gt"),
    ("filter[accountId]=2", [6], "reference"),
    ("filter[accountId][NEQ]=2", [1, 2, 3, 4, 5], "reference-neq"),
    ("filter[id][GE]=2&filter[id][LE]=4&filter[accountId]=1", [2, 3, 4], "anded"),
    # strings, enums (stored lowercase, Q6), booleans, uuids
    ("filter[name]=Red Chair", [1], "string"),
    ("filter[name]=red chair", [], "string-eq-is-exact"),
    ("filter[name][NEQ]=Red Chair", [2, 3, 4, 5, 6], "string-neq"),
    ("filter[skuCode][NEQ]=CH-001", [2, 3, 4, 5, 6], "string-neq-keeps-nulls"),
    ("filter[skuCode][LT]=CH-002", [1], "string-lt"),
    ("filter[status]=ENABLED", [1, 2, 4, 6], "enum-any-case"),
    ("filter[status][NEQ]=enabled", [3, 5], "enum-neq"),
    ("filter[ignored]=true", [2, 5], "boolean"),
    ("filter[ignored][NEQ]=true", [1, 3, 4, 6], "boolean-neq"),
    (f"filter[uuid]={uuid(3)}", [3], "uuid"),
    # integers, with NULLs
    ("filter[stockLevel][LT]=1", [2, 3], "integer-lt"),
    ("filter[stockLevel][GE]=7", [4, 5], "integer-ge"),
    ("filter[minimumStock]=3", [2, 5], "integer-eq"),
    ("filter[minimumStock][GT]=0", [2, 5, 6], "ordering-never-matches-null"),
    ("filter[minimumStock]=null", [1, 4], "null"),
    ("filter[minimumStock][NEQ]=null", [2, 3, 5, 6], "not-null"),
    ("filter[minimumStock][NEQ]=3", [1, 3, 4, 6], "neq-includes-nulls"),
    ("filter[minimumStock][NEQ]=3&filter[minimumStock][NEQ]=null", [3, 6], "neq-value-and-null"),
    ("filter[minimumStock]=3&filter[minimumStock]=null", [1, 2, 4, 5], "eq-value-or-null"),
    # decimals compare as numbers, not as text ("9.50" > "10.00" as text)
    ("filter[price]=9.5", [1], "decimal-eq"),
    ("filter[price]=10", [2], "decimal-eq-integer-text"),
    ("filter[price]=0", [6], "decimal-zero"),
    ("filter[price]=1234567.89", [5], "decimal-large"),
    ("filter[price]=9.50&filter[price]=100", [1, 3], "decimal-in"),
    ("filter[price][GT]=9.50", [2, 3, 5], "decimal-gt"),
    ("filter[price][LT]=10", [1, 6], "decimal-lt"),
    ("filter[price][LE]=10", [1, 2, 6], "decimal-le"),
    ("filter[price][GE]=100", [3, 5], "decimal-ge"),
    ("filter[price][GT]=9.999", [2, 3, 5], "decimal-truncated-q8"),
    ("filter[price]=null", [4], "decimal-null"),
    ("filter[price][NEQ]=null", [1, 2, 3, 5, 6], "decimal-not-null"),
    ("filter[price][NEQ]=10", [1, 3, 4, 5, 6], "decimal-neq-keeps-null"),
    ("filter[price][NEQ]=10&filter[price][NEQ]=null", [1, 3, 5, 6], "decimal-not-in-not-null"),
    ("filter[price]=10&filter[price]=null", [2, 4], "decimal-or-null"),
    # date-times, with and without fractions and offsets
    ("filter[updatedAt]=2024-01-01T10:00:00Z", [1], "datetime-eq"),
    ("filter[updatedAt]=2024-01-01T10:00:00.5Z", [2], "datetime-eq-fraction"),
    ("filter[updatedAt]=2024-01-01T11:00:00.500+01:00", [2], "datetime-eq-offset"),
    ("filter[updatedAt]=2024-01-01T10:00:00.000001Z", [3], "datetime-eq-microsecond"),
    ("filter[updatedAt][GT]=2024-01-01T10:00:00Z", [2, 3, 4, 6], "datetime-gt"),
    ("filter[updatedAt][LT]=2024-01-01T10:00:00.000001Z", [1, 5], "datetime-lt"),
    ("filter[updatedAt][LE]=2024-01-01T10:00:00.000001Z", [1, 3, 5], "datetime-le"),
    ("filter[updatedAt][GE]=2024-01-01T10:00:00.5Z", [2, 4, 6], "datetime-ge"),
    ("filter[updatedAt][LT]=2024-01-01", [5], "date-only"),
    ("filter[updatedAt][GT]=2024-01-01T10:00:00 00:00", [2, 3, 4, 6], "unencoded-plus-tap"),
    ("filter[updatedAt][NEQ]=2024-01-01T10:00:00Z", [2, 3, 4, 5, 6], "datetime-neq"),
    ("filter[resumingPurchase]=null", [1, 3, 5, 6], "datetime-null"),
    ("filter[resumingPurchase][NEQ]=null", [2, 4], "datetime-not-null"),
    ("filter[resumingPurchase][LT]=2024-01-01", [4], "datetime-lt-skips-null"),
    ("filter[resumingPurchase][NEQ]=2024-06-01T00:00:00Z", [1, 3, 4, 5, 6], "datetime-neq-nulls"),
    # LIKE (Q15): contains, case-insensitive; a value with % or _ is the pattern itself
    ("filter[name][LIKE]=chair", [1, 2], "like-contains"),
    ("filter[name][like]=CHAIR", [1, 2], "like-case-insensitive"),
    ("filter[name][LIKE]=lamp%25", [4, 5], "like-prefix-pattern"),
    ("filter[name][LIKE]=lamp_2", [5], "like-underscore-is-a-wildcard"),
    ("filter[name][LIKE]=%25\\_%25", [4], "like-escaped-underscore"),
    ("filter[name][LIKE]=%25100\\%25", [3], "like-escaped-percent"),
    ("filter[name][LIKE]=100%25", [], "like-pattern-is-anchored"),
    ("filter[name][LIKE]=l\\", [6], "like-backslash-in-contains"),
    ("filter[name][LIKE]=%25l\\", [6], "like-trailing-backslash-in-pattern"),
    ("filter[skuCode][LIKE]=la-", [4, 5], "like-skips-nulls"),
    ("filter[skuCode][LIKE]=", [1, 2, 4, 5], "like-empty-matches-every-value"),
    ("filter[status][LIKE]=DIS", [3, 5], "like-enum"),
    ("filter[price][LIKE]=9.5", [1], "like-decimal-text"),
    ("filter[price][LIKE]=%25.00", [2, 3, 6], "like-decimal-pattern"),
    ("filter[updatedAt][LIKE]=T10:00:00.5", [2], "like-datetime"),
    ("filter[updatedAt][LIKE]=2024-01-01T10:00:00.000000Z", [1], "like-datetime-full"),
    ("filter[ignored][LIKE]=TRU", [2, 5], "like-boolean"),
    ("filter[ignored][LIKE]=false", [1, 3, 4, 6], "like-boolean-false"),
    ("filter[id][LIKE]=6", [6], "like-id"),
    ("filter[stockLevel][LIKE]=-2", [3], "like-integer"),
    ("filter[remoteIdMap][LIKE]=a-1", [1], "like-json-object"),
    ("filter[remoteIdMap][LIKE]=%25x\\_9%25", [3], "like-json-pattern"),
    ("filter[name][LIKE]=a&filter[name][LIKE]=l", [2, 3, 4, 5], "like-repeated-is-anded"),
]


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [pytest.param(qs, expected, id=name) for qs, expected, name in FILTERS],
)
def test_filter(engine: Engine, query_string: str, expected: list[int]) -> None:
    assert ids(engine, query_string) == expected


def test_like_on_emails(engine: Engine) -> None:
    assert ids(engine, "filter[emails][LIKE]=example.COM", "suppliers") == [1]
    assert ids(engine, "filter[emails][LIKE]=%25@x.org%25", "suppliers") == [1]
    assert ids(engine, "filter[emails][LIKE]=nobody", "suppliers") == []


SORTS = [
    ("", [1, 2, 3, 4, 5, 6], "default-is-id-q24"),
    ("sort=id", [1, 2, 3, 4, 5, 6], "id"),
    ("sort=-id", [6, 5, 4, 3, 2, 1], "id-descending"),
    ("sort=price", [6, 1, 2, 3, 5, 4], "decimal-numeric-nulls-last"),
    ("sort=-price", [4, 5, 3, 2, 1, 6], "decimal-descending-nulls-first"),
    ("sort=minimumStock", [3, 6, 2, 5, 1, 4], "ties-broken-by-id"),
    ("sort=-minimumStock", [1, 4, 2, 5, 6, 3], "descending-ties-by-id-ascending"),
    ("sort=updatedAt", [5, 1, 3, 2, 4, 6], "datetime-with-fractions"),
    ("sort=-updatedAt", [6, 4, 2, 3, 1, 5], "datetime-descending"),
    ("sort=resumingPurchase", [4, 2, 1, 3, 5, 6], "datetime-nulls-last"),
    ("sort=stockLevel", [3, 2, 6, 1, 5, 4], "integer-with-negatives"),
    ("sort=status,-id", [5, 3, 6, 4, 2, 1], "enum-then-id"),
    ("sort=ignored", [1, 3, 4, 6, 2, 5], "boolean-false-first"),
    ("sort=-ignored,-price", [5, 2, 4, 3, 1, 6], "two-keys"),
    ("sort=accountId,-id", [5, 4, 3, 2, 1, 6], "reference"),
    ("sort=skuCode", [1, 2, 4, 5, 3, 6], "string-nulls-last"),
    ("filter[price][GT]=0&sort=-price", [5, 3, 2, 1], "filtered-and-sorted"),
]


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [pytest.param(qs, expected, id=name) for qs, expected, name in SORTS],
)
def test_sort(engine: Engine, query_string: str, expected: list[int]) -> None:
    assert ids(engine, query_string) == expected


@pytest.mark.parametrize(
    ("query_string", "keys"),
    [
        pytest.param("", 1, id="id-alone"),
        pytest.param("sort=name", 2, id="id-appended"),
        pytest.param("sort=-id", 1, id="id-already-a-key"),
        pytest.param("sort=name,id,price", 3, id="id-in-the-middle"),
    ],
)
def test_order_by_adds_id_only_when_missing(query_string: str, keys: int) -> None:
    query = parse(parse_qsl(query_string), get("products"))
    assert len(order_by(PRODUCTS, query, "sqlite")) == keys


def test_where_gives_one_condition_per_filter() -> None:
    query = parse(
        parse_qsl("filter[id]=1,2&filter[price][GT]=1&filter[name][LIKE]=a"), get("products")
    )
    assert len(where(PRODUCTS, query, "postgresql")) == 3
    assert where(PRODUCTS, ListQuery(), "sqlite") == []
