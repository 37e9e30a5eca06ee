"""The query grammar as a specification: query string in, ``ListQuery`` or problems out."""

from __future__ import annotations

import doctest
import importlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from optiply.query import Filter, ListQuery, Operator, Page, Problem, QueryError, SortKey, parse
from optiply.resources import get


def parse_qs(url: str) -> ListQuery:
    """Parse ``"[type?]query"`` as the list endpoint of ``type`` (default products) would."""
    match = re.fullmatch(r"(?:([A-Za-z]+)\?)?(.*)", url, re.DOTALL)
    assert match is not None
    resource_type, query_string = match.group(1) or "products", match.group(2)
    return parse(parse_qsl(query_string, keep_blank_values=True), get(resource_type))


def condition(name: str, operator: str, *values: Any, resource_type: str = "products") -> Filter:
    """A filter written compactly: ``condition("price", "GT", Decimal("9.50"))``."""
    attribute = get(resource_type).attribute(name)
    assert attribute is not None, name
    return Filter(attribute, Operator(operator), values)


def sort_key(name: str, descending: bool = False, resource_type: str = "products") -> SortKey:
    attribute = get(resource_type).attribute(name)
    assert attribute is not None
    return SortKey(attribute, descending)


def only(*filters: Filter) -> ListQuery:
    return ListQuery(filters=filters)


ACCEPTED = [
    ("", ListQuery(), "nothing"),
    # §5.2 syntax: EQ by default, operators in any case, the resource-type prefix
    ("filter[name]=Chair", only(condition("name", "EQ", "Chair")), "eq-short"),
    ("filter[name][EQ]=Chair", only(condition("name", "EQ", "Chair")), "eq-explicit"),
    ("filter[name][eq]=Chair", only(condition("name", "EQ", "Chair")), "operator-lowercase"),
    ("filter[name][Neq]=Chair", only(condition("name", "NEQ", "Chair")), "operator-mixed-case"),
    ("filter[products][name]=Chair", only(condition("name", "EQ", "Chair")), "type-prefix"),
    (
        "filter[products][name][LIKE]=Ch",
        only(condition("name", "LIKE", "Ch")),
        "type-prefix-with-operator",
    ),
    (
        "supplierProducts?filter[supplierProducts][accountId][EQ]=1",
        only(condition("accountId", "EQ", 1, resource_type="supplierProducts")),
        "type-prefix-early-tap",
    ),
    ("filter[name]=", only(condition("name", "EQ", "")), "empty-string-value"),
    # values are parsed to the attribute's type
    ("filter[status]=ENABLED", only(condition("status", "EQ", "enabled")), "enum-any-case-q6"),
    ("filter[status][NEQ]=Disabled", only(condition("status", "NEQ", "disabled")), "enum-neq"),
    ("filter[price][GT]=9.5", only(condition("price", "GT", Decimal("9.50"))), "decimal"),
    ("filter[price][le]=10", only(condition("price", "LE", Decimal("10.00"))), "decimal-int"),
    ("filter[stockLevel][GE]=-5", only(condition("stockLevel", "GE", -5)), "integer-negative"),
    ("filter[ignored]=TRUE", only(condition("ignored", "EQ", True)), "boolean-any-case"),
    ("filter[ignored][NEQ]=false", only(condition("ignored", "NEQ", False)), "boolean-neq"),
    (
        "filter[updatedAt][gt]=2025-04-01T10:00:00%2B00:00",
        only(condition("updatedAt", "GT", datetime(2025, 4, 1, 10, tzinfo=UTC))),
        "datetime-encoded-offset-tap",
    ),
    (
        "filter[updatedAt][GT]=2025-04-01T12:00:00+02:00",
        only(condition("updatedAt", "GT", datetime(2025, 4, 1, 10, tzinfo=UTC))),
        "datetime-unencoded-plus",
    ),
    (
        "filter[updatedAt][LT]=2024-03-05T10:00:00.1234567Z",
        only(condition("updatedAt", "LT", datetime(2024, 3, 5, 10, 0, 0, 123456, tzinfo=UTC))),
        "datetime-long-fraction",
    ),
    (
        "filter[createdAtRemote][GE]=2024-03-05",
        only(condition("createdAtRemote", "GE", datetime(2024, 3, 5, tzinfo=UTC))),
        "date-only",
    ),
    (
        "filter[uuid]=2c1a4d3e-0000-4000-8000-000000000001",
        only(condition("uuid", "EQ", "2c1a4d3e-0000-4000-8000-000000000001")),
        "uuid",
    ),
    # the null literal, any case, EQ/NEQ only
    ("filter[resumingPurchase]=null", only(condition("resumingPurchase", "EQ", None)), "null"),
    ("filter[minimumStock]=NULL", only(condition("minimumStock", "EQ", None)), "null-uppercase"),
    (
        "buyOrders?filter[completed][NEQ]=Null",
        only(condition("completed", "NEQ", None, resource_type="buyOrders")),
        "not-null",
    ),
    # several values: repeated keys (any id-like attribute also splits commas, Q27)
    ("filter[id]=1&filter[id]=2", only(condition("id", "EQ", 1, 2)), "repeated-key-is-in"),
    ("filter[id]=1,2,3", only(condition("id", "EQ", 1, 2, 3)), "id-comma-list"),
    ("filter[id]=1, 2", only(condition("id", "EQ", 1, 2)), "id-comma-list-spaces"),
    (
        "filter[id]=1,2&filter[id][eq]=2,3&filter[products][id]=1",
        only(condition("id", "EQ", 1, 2, 3)),
        "spellings-merge-and-values-dedupe",
    ),
    (
        "filter[accountId]=4,5",
        only(condition("accountId", "EQ", 4, 5)),
        "reference-comma-list",
    ),
    ("filter[id]=1,null", only(condition("id", "EQ", 1, None)), "id-or-null"),
    (
        "filter[id][NEQ]=1&filter[id][NEQ]=2",
        only(condition("id", "NEQ", 1, 2)),
        "repeated-neq-is-not-in",
    ),
    (
        "filter[minimumStock]=3&filter[minimumStock]=null",
        only(condition("minimumStock", "EQ", 3, None)),
        "value-or-null",
    ),
    ("filter[name]=a,b", only(condition("name", "EQ", "a,b")), "strings-never-split"),
    (
        "filter[id]=1&filter[name]=x&filter[id][NEQ]=2&filter[id]=3",
        only(
            condition("id", "EQ", 1, 3),
            condition("name", "EQ", "x"),
            condition("id", "NEQ", 2),
        ),
        "filters-in-order-of-first-appearance",
    ),
    (
        "filter[price][GT]=1&filter[price][gt]=2",
        only(condition("price", "GT", Decimal("1.00")), condition("price", "GT", Decimal("2.00"))),
        "repeated-ordering-filters-are-anded",
    ),
    (
        "supplierProducts?filter[supplierId]=3&filter[productId]=9",
        only(
            condition("supplierId", "EQ", 3, resource_type="supplierProducts"),
            condition("productId", "EQ", 9, resource_type="supplierProducts"),
        ),
        "different-keys-are-anded",
    ),
    # LIKE keeps the raw text, on any kind
    ("filter[name][LIKE]=Ch%25", only(condition("name", "LIKE", "Ch%")), "like-pattern"),
    ("filter[price][like]=9.5", only(condition("price", "LIKE", "9.5")), "like-is-not-parsed"),
    ("filter[id][LIKE]=1,2", only(condition("id", "LIKE", "1,2")), "like-is-not-split"),
    ("filter[ignored][LIKE]=tr", only(condition("ignored", "LIKE", "tr")), "like-on-boolean"),
    (
        "filter[remoteIdMap][LIKE]=A-1",
        only(condition("remoteIdMap", "LIKE", "A-1")),
        "like-on-object",
    ),
    (
        "suppliers?filter[emails][LIKE]=example.com",
        only(condition("emails", "LIKE", "example.com", resource_type="suppliers")),
        "like-on-emails",
    ),
    # read-only, hidden and aliased attributes
    (
        "sellOrderLines?filter[accountId]=1",
        only(condition("accountId", "EQ", 1, resource_type="sellOrderLines")),
        "hidden-account-of-a-child",
    ),
    (
        "supplierProducts?filter[availability_date][GT]=2024-01-01",
        only(
            condition(
                "availabilityDate",
                "GT",
                datetime(2024, 1, 1, tzinfo=UTC),
                resource_type="supplierProducts",
            )
        ),
        "input-alias-q19",
    ),
    ("filter[novel]=true", only(condition("novel", "EQ", True)), "read-only-is-filterable"),
    # sorting
    ("sort=name", ListQuery(sort=(sort_key("name"),)), "sort-ascending"),
    (
        "sort=-price,id",
        ListQuery(sort=(sort_key("price", True), sort_key("id"))),
        "sort-several-keys",
    ),
    ("sort=-updatedAt", ListQuery(sort=(sort_key("updatedAt", True),)), "sort-descending"),
    ("sort=", ListQuery(), "blank-sort-is-no-sort"),
    (
        "sort=name%2C%20-id",
        ListQuery(sort=(sort_key("name"), sort_key("id", True))),
        "sort-spaces-around-keys",
    ),
    (
        "sellOrderLines?sort=accountId",
        ListQuery(sort=(sort_key("accountId", resource_type="sellOrderLines"),)),
        "sort-hidden-account",
    ),
    # paging
    ("page[limit]=100", ListQuery(page=Page(100, 0)), "max-limit"),
    ("page[limit]=1", ListQuery(page=Page(1, 0)), "min-limit"),
    ("page[limit]=20&page[offset]=40", ListQuery(page=Page(20, 40)), "limit-and-offset"),
    ("page[offset]=40&page[limit]=20", ListQuery(page=Page(20, 40)), "any-order"),
    ("page[offset]=100", ListQuery(page=Page(50, 100)), "offset-with-default-limit"),
    ("page[offset]=0", ListQuery(), "offset-zero"),
    ("page[limit]=1&page[offset]=7", ListQuery(page=Page(1, 7)), "limit-one"),
    # everything else is ignored
    (
        "accountId=1&couplingId=x&include=supplierProducts&fields[products]=name"
        "&foo=bar&filters[x]=1&pages=2&sorting=x&Filter[nope]=1",
        ListQuery(),
        "other-parameters-ignored",
    ),
]


@pytest.mark.parametrize(
    ("url", "expected"),
    [pytest.param(qs, expected, id=name) for qs, expected, name in ACCEPTED],
)
def test_accepted(url: str, expected: ListQuery) -> None:
    assert parse_qs(url) == expected


OPERATORS = "use one of EQ, NEQ, LIKE, LT, LE, GT, GE"
MALFORMED = r"malformed filter parameter; use filter\[attribute\] or filter\[attribute\]\[OP\]"

REJECTED = [
    # filter keys
    ("filter[nope]=1", [("filter[nope]", "^unknown attribute 'nope' of products$")], "unknown"),
    (
        "filter[products][nope][GT]=1",
        [("filter[products][nope][GT]", "^unknown attribute 'nope' of products$")],
        "unknown-with-prefix",
    ),
    (
        "filter[suppliers][name]=x",
        [("filter[suppliers][name]", "^unknown attribute 'suppliers' of products$")],
        "other-type-prefix",
    ),
    (
        "filter[remoteId]=x",
        [("filter[remoteId]", "^attribute 'remoteId' of products cannot be filtered$")],
        "write-only-not-stored",
    ),
    (
        "buyOrders?filter[orderLines]=x",
        [("filter[orderLines]", "cannot be filtered")],
        "embedded-lines",
    ),
    (
        "filter[name][XX]=1",
        [("filter[name][XX]", f"^unknown operator 'XX'; {OPERATORS}$")],
        "unknown-operator",
    ),
    ("filter[name][between]=1", [("filter[name][between]", "'between'")], "unknown-op-lower"),
    ("filter=1", [("filter", MALFORMED)], "bare-filter"),
    ("filter[]=1", [("filter[]", MALFORMED)], "empty-attribute"),
    ("filter[name][]=1", [("filter[name][]", MALFORMED)], "empty-operator"),
    ("filter[a][b][c][d]=1", [("filter[a][b][c][d]", MALFORMED)], "too-many-parts"),
    ("filter[name][EQ][x]=1", [("filter[name][EQ][x]", MALFORMED)], "three-parts-no-prefix"),
    (
        "filter[products][name][EQ][x]=1",
        [("filter[products][name][EQ][x]", MALFORMED)],
        "four-parts-with-prefix",
    ),
    ("filter[name=1", [("filter[name", MALFORMED)], "unclosed-bracket"),
    ("filter]name[=1", [("filter]name[", MALFORMED)], "reversed-brackets"),
    ("filter[name]]=1", [("filter[name]]", MALFORMED)], "extra-closing-bracket"),
    ("filter[[name]]=1", [("filter[[name]]", MALFORMED)], "nested-brackets"),
    ("filter[name]x=1", [("filter[name]x", MALFORMED)], "text-after-brackets"),
    # the null literal
    (
        "filter[price][LT]=null",
        [("filter[price][LT]", "^null cannot be used with LT; only EQ or NEQ$")],
        "null-with-lt",
    ),
    ("filter[name][LIKE]=NULL", [("filter[name][LIKE]", "null cannot be used")], "null-like"),
    # values
    ("filter[price]=abc", [("filter[price]", "^price must be a number, got 'abc'$")], "decimal"),
    ("filter[price][GT]=NaN", [("filter[price][GT]", "finite")], "decimal-nan"),
    ("filter[id]=1,x", [("filter[id]", "^id must be an integer, got 'x'$")], "id-in-list"),
    (
        "filter[id]=x,y",
        [("filter[id]", "got 'x'"), ("filter[id]", "got 'y'")],
        "every-bad-value-reported",
    ),
    ("filter[id]=1,,2", [("filter[id]", "^id must be an integer, got ''$")], "empty-list-item"),
    ("filter[stockLevel]=1.5", [("filter[stockLevel]", "must be an integer")], "integer"),
    ("filter[stockLevel]=99999999999999999999", [("filter[stockLevel]", "64-bit")], "int64"),
    ("filter[ignored]=maybe", [("filter[ignored]", "'maybe' is not a boolean")], "boolean"),
    (
        "filter[updatedAt][GT]=yesterday",
        [("filter[updatedAt][GT]", "^'yesterday' is not an ISO-8601 date-time$")],
        "datetime",
    ),
    ("filter[status]=paused", [("filter[status]", "^status must be one of")], "enum"),
    # operators that do not fit the attribute's kind
    (
        "filter[ignored][GT]=true",
        [("filter[ignored][GT]", "^operator GT cannot be used on ignored$")],
        "ordering-boolean",
    ),
    (
        "filter[remoteIdMap][le]=x",
        [("filter[remoteIdMap][le]", "^operator LE cannot be used on remoteIdMap$")],
        "ordering-object",
    ),
    (
        "suppliers?filter[emails]=a@example.com",
        [("filter[emails]", "^operator EQ cannot be used on emails; use LIKE$")],
        "eq-emails",
    ),
    (
        "filter[remoteIdMap][NEQ]=x",
        [("filter[remoteIdMap][NEQ]", "^operator NEQ cannot be used on remoteIdMap; use LIKE$")],
        "neq-object",
    ),
    (
        "suppliers?filter[emails][GT]=a",
        [("filter[emails][GT]", "^operator GT cannot be used on emails$")],
        "ordering-emails",
    ),
    # sorting
    ("sort=nope", [("sort", "^unknown attribute 'nope' of products$")], "sort-unknown"),
    ("sort=-nope", [("sort", "'nope'")], "sort-unknown-descending"),
    ("sort=remoteIdMap", [("sort", "^products cannot be sorted by 'remoteIdMap'$")], "sort-json"),
    ("sort=remoteId", [("sort", "cannot be sorted")], "sort-write-only"),
    ("sort=name,-name", [("sort", "^'name' appears more than once in sort$")], "sort-duplicate"),
    ("sort=name&sort=id", [("sort", "^sort must be given at most once")], "sort-repeated"),
    ("sort=name,,id", [("sort", "^empty sort key in 'name,,id'$")], "sort-empty-key"),
    ("sort=-", [("sort", "empty sort key")], "sort-only-minus"),
    ("sort=nope,name,bad", [("sort", "'nope'"), ("sort", "'bad'")], "sort-all-reported"),
    # paging (Q16)
    (
        "page[limit]=200",
        [("page[limit]", "^page\\[limit\\] 200 is larger than the maximum allowed of 100$")],
        "limit-above-max",
    ),
    ("page[limit]=101", [("page[limit]", "larger than the maximum")], "limit-101"),
    (
        "page[limit]=0",
        [("page[limit]", "^page\\[limit\\] must be a positive integer, got '0'$")],
        "limit-zero",
    ),
    ("page[limit]=-5", [("page[limit]", "got '-5'")], "limit-negative"),
    ("page[limit]=ten", [("page[limit]", "got 'ten'")], "limit-text"),
    ("page[limit]=1.5", [("page[limit]", "got '1.5'")], "limit-fraction"),
    ("page[limit]=", [("page[limit]", "got ''")], "limit-blank"),
    ("page[limit]=%D9%A1", [("page[limit]", "positive integer")], "limit-non-ascii-digit"),
    (
        "page[limit]=" + "9" * 5000,
        [("page[limit]", r"^page\[limit\] 9{29}\.\.\. is larger")],
        "limit-huge",
    ),
    (
        "page[offset]=-1",
        [("page[offset]", "^page\\[offset\\] must be a non-negative integer, got '-1'$")],
        "offset-negative",
    ),
    ("page[offset]=x", [("page[offset]", "got 'x'")], "offset-text"),
    ("page[offset]=" + "5" * 30, [("page[offset]", "too large")], "offset-huge"),
    (
        "page[limit]=20&page[offset]=30",
        [("page[offset]", "^offset 30 is not a multiple of limit 20$")],
        "offset-not-multiple",
    ),
    (
        "page[offset]=30",
        [("page[offset]", "^offset 30 is not a multiple of limit 50$")],
        "offset-not-multiple-of-default",
    ),
    ("page[limit]=10&page[limit]=20", [("page[limit]", "at most once")], "limit-repeated"),
    ("page[offset]=0&page[offset]=0", [("page[offset]", "at most once")], "offset-repeated"),
    (
        "page[number]=2",
        [("page[number]", "^unknown page parameter 'page\\[number\\]'; use page")],
        "page-number",
    ),
    ("page[size]=2", [("page[size]", "unknown page parameter")], "page-size"),
    ("page[after]=5", [("page[after]", "not a cursor")], "page-after-not-a-cursor"),
    ("page=2", [("page", "unknown page parameter")], "bare-page"),
    ("page[limit=2", [("page[limit", "unknown page parameter")], "page-unclosed"),
    (
        "page[limit]=200&page[offset]=30",
        [("page[limit]", "larger")],
        "offset-not-checked-against-a-bad-limit",
    ),
    # every problem of the query string at once, filters first, then sort, then page
    (
        "page[limit]=200&filter[nope]=1&sort=nope&filter[price]=x&filter[name]=ok",
        [
            ("filter[nope]", "unknown attribute"),
            ("filter[price]", "must be a number"),
            ("sort", "unknown attribute"),
            ("page[limit]", "larger"),
        ],
        "all-problems-reported",
    ),
]


@pytest.mark.parametrize(
    ("url", "expected"),
    [pytest.param(qs, expected, id=name) for qs, expected, name in REJECTED],
)
def test_rejected(url: str, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(QueryError) as caught:
        parse_qs(url)
    problems = caught.value.problems
    assert [p.parameter for p in problems] == [parameter for parameter, _ in expected]
    for problem, (_, pattern) in zip(problems, expected, strict=True):
        assert re.search(pattern, problem.detail), problem.detail


def test_problems_name_the_endpoint_type() -> None:
    with pytest.raises(QueryError, match="unknown attribute 'name' of sellOrderLines"):
        parse_qs("sellOrderLines?filter[name]=x")


def test_the_type_prefix_of_another_endpoint_is_not_dropped() -> None:
    with pytest.raises(QueryError, match="unknown attribute 'products' of suppliers"):
        parse_qs("suppliers?filter[products][name]=x")


def test_params_may_be_any_iterable() -> None:
    pairs = (pair for pair in [("filter[id]", "1"), ("page[limit]", "10")])
    assert parse(pairs, get("products")) == ListQuery(
        filters=(condition("id", "EQ", 1),), page=Page(10, 0)
    )


def test_query_error_message_lists_every_problem() -> None:
    error = QueryError([Problem.query("sort", "a"), Problem.query("page[limit]", "b")])
    assert str(error) == "sort: a; page[limit]: b"
    assert error.problems == (Problem.query("sort", "a"), Problem.query("page[limit]", "b"))


def test_query_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        QueryError([])


def test_parsed_queries_are_hashable_values() -> None:
    query = parse_qs("filter[id]=1,2&filter[updatedAt][GT]=2024-01-01&sort=-price")
    assert hash(query) == hash(
        parse_qs("filter[id]=1,2&filter[updatedAt][GT]=2024-01-01&sort=-price")
    )


@pytest.mark.parametrize(
    "module", ["optiply.query.operators", "optiply.query.parse", "optiply.query.build"]
)
def test_docstring_examples(module: str) -> None:
    results = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
