"""``build`` is the inverse of ``parse``: the client's side of the same grammar."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from optiply.query import Filter, ListQuery, Operator, Page, SortKey, build, parse
from optiply.resources import get


def over_the_wire(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Encode as a client would and decode as the server does."""
    return parse_qsl(urlencode(items), keep_blank_values=True)


def condition(name: str, operator: str, *values: Any, resource_type: str = "products") -> Filter:
    attribute = get(resource_type).attribute(name)
    assert attribute is not None, name
    return Filter(attribute, Operator(operator), values)


def sort_key(name: str, descending: bool = False) -> SortKey:
    attribute = get("products").attribute(name)
    assert attribute is not None
    return SortKey(attribute, descending)


BUILT = [
    (ListQuery(), [("page[limit]", "50")], "defaults-send-the-limit"),
    (
        ListQuery(filters=(condition("name", "EQ", "Chair"),)),
        [("filter[name]", "Chair"), ("page[limit]", "50")],
        "eq-uses-the-short-form",
    ),
    (
        ListQuery(filters=(condition("id", "EQ", 1, 2),)),
        [("filter[id]", "1"), ("filter[id]", "2"), ("page[limit]", "50")],
        "in-repeats-the-key",
    ),
    (
        ListQuery(filters=(condition("resumingPurchase", "NEQ", None),)),
        [("filter[resumingPurchase][NEQ]", "null"), ("page[limit]", "50")],
        "null-literal",
    ),
    (
        ListQuery(
            filters=(
                condition("updatedAt", "GT", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
                condition("updatedAt", "LE", datetime(2024, 1, 2, 3, 4, 5, 120, tzinfo=UTC)),
            )
        ),
        [
            ("filter[updatedAt][GT]", "2024-01-02T03:04:05Z"),
            ("filter[updatedAt][LE]", "2024-01-02T03:04:05.000120Z"),
            ("page[limit]", "50"),
        ],
        "datetimes-q7",
    ),
    (
        ListQuery(filters=(condition("price", "GE", Decimal("9.50")),)),
        [("filter[price][GE]", "9.50"), ("page[limit]", "50")],
        "decimals-q8",
    ),
    (
        ListQuery(filters=(condition("ignored", "EQ", False), condition("novel", "NEQ", True))),
        [("filter[ignored]", "false"), ("filter[novel][NEQ]", "true"), ("page[limit]", "50")],
        "booleans-lowercase",
    ),
    (
        ListQuery(sort=(sort_key("price", True), sort_key("id")), page=Page(100, 300)),
        [("sort", "-price,id"), ("page[limit]", "100"), ("page[offset]", "300")],
        "sort-and-page",
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"), [pytest.param(q, items, id=name) for q, items, name in BUILT]
)
def test_build(query: ListQuery, expected: list[tuple[str, str]]) -> None:
    assert build(query) == expected


ROUND_TRIPS = [
    ("products", ""),
    ("products", "filter[name]=Red chair&filter[name][NEQ]=x"),
    ("products", "filter[name][LIKE]=a+b%, c_d\\"),
    ("products", "filter[name]=a,b"),
    ("products", "filter[id]=3,1,2&filter[id][NEQ]=7,null"),
    ("products", "filter[minimumStock]=3&filter[minimumStock]=null"),
    ("products", "filter[status]=disabled&filter[ignored]=true&filter[novel][NEQ]=false"),
    ("products", "filter[price][GT]=9.5&filter[price][LE]=100&filter[price][LE]=50"),
    ("products", "filter[price]=0&filter[manualServiceLevel][LT]=99.999"),
    ("products", "filter[updatedAt][GE]=2024-01-01T10:00:00.5+01:00"),
    ("products", "filter[updatedAt][LT]=2024-01-01&filter[createdAtRemote]=2024-01-01T10:00:00Z"),
    ("products", "filter[resumingPurchase]=null&filter[uuid]=ABC-def"),
    ("products", "filter[remoteIdMap][LIKE]=x&filter[stockLevel][GE]=-4"),
    ("products", "sort=-updatedAt,name,id&page[limit]=100&page[offset]=200"),
    ("products", "page[limit]=7&page[offset]=0"),
    ("suppliers", "filter[emails][LIKE]=@example.com&filter[type]=PRODUCER"),
    ("supplierProducts", "filter[availability_date][GT]=2024-05-01&filter[accountId]=1,2"),
    ("buyOrders", "filter[completed]=null&filter[supplierId][EQ]=4&sort=-placed"),
    ("sellOrderLines", "filter[accountId][NEQ]=9&sort=accountId"),
]


@pytest.mark.parametrize(
    ("resource_type", "query_string"),
    [pytest.param(t, qs, id=f"{t}?{qs}") for t, qs in ROUND_TRIPS],
)
def test_parse_build_round_trip(resource_type: str, query_string: str) -> None:
    spec = get(resource_type)
    query = parse(parse_qsl(query_string, keep_blank_values=True), spec)
    assert parse(over_the_wire(build(query)), spec) == query


def test_built_items_are_already_normalized() -> None:
    """Parsing a built query and building it again gives the same items."""
    spec = get("products")
    query = parse(parse_qsl("filter[id]=2,1,2&filter[status]=ENABLED"), spec)
    once = build(query)
    assert build(parse(over_the_wire(once), spec)) == once
    assert once[:3] == [("filter[id]", "2"), ("filter[id]", "1"), ("filter[status]", "enabled")]
