"""``filter[remoteId]`` in the grammar (an extension): given a remoteIdMap key it is an EQ filter
on remote ids, taken exactly as sent; without one it is refused as in v1."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from optiply.query import Filter, Operator, QueryError, parse
from optiply.resources import get

PRODUCTS = get("products")
REMOTE_ID = PRODUCTS.attribute("remoteId")


def parsed(query: str, key: str | None = "7", resource: str = "products") -> tuple[Filter, ...]:
    return parse(parse_qsl(query, keep_blank_values=True), get(resource), remote_id_key=key).filters


@pytest.mark.parametrize(
    ("query", "values"),
    [
        ("filter[remoteId]=A", ("A",)),
        ("filter[remoteId][EQ]=A", ("A",)),
        ("filter[remoteId][eq]=A", ("A",)),
        ("filter[products][remoteId]=A", ("A",)),
        ("filter[remoteId]=A&filter[remoteId]=B", ("A", "B")),  # IN
        ("filter[remoteId]=A&filter[remoteId][EQ]=B&filter[remoteId]=A", ("A", "B")),
        ("filter[remoteId]=A,B", ("A,B",)),  # never split on commas
        ("filter[remoteId]=%20A%20", (" A ",)),  # as sent
        ("filter[remoteId]=", ("",)),
        ("filter[remoteId]=%20null", (" null",)),
    ],
)
def test_accepted(query: str, values: tuple[str, ...]) -> None:
    assert parsed(query) == (Filter(REMOTE_ID, Operator.EQ, values, "7"),)


def test_it_goes_with_other_filters() -> None:
    (remote, name) = parsed("filter[remoteId]=A&filter[name]=x", key="publicApi")
    assert (remote.key, name.key) == ("publicApi", None)
    assert name.attribute.name == "name"


@pytest.mark.parametrize(
    ("query", "key", "parameter", "detail"),
    [
        ("filter[remoteId][NEQ]=A", "7", "filter[remoteId][NEQ]", "takes EQ only"),
        ("filter[remoteId][LIKE]=A", "7", "filter[remoteId][LIKE]", "takes EQ only"),
        ("filter[remoteId][BOGUS]=A", "7", "filter[remoteId][BOGUS]", "takes EQ only"),
        ("filter[remoteId]=null", "7", "filter[remoteId]", "takes remote ids"),
        ("filter[remoteId]=NULL", "7", "filter[remoteId]", "takes remote ids"),
        ("filter[remoteId]=" + "x" * 256, "7", "filter[remoteId]", "at most 255"),
        ("filter[remoteId]=a%00b", "7", "filter[remoteId]", "NUL"),
        ("filter[remoteId]=A", "9" * 256, "couplingId", "at most 255"),
        ("filter[remoteId]=A", "a\x00", "couplingId", "without NUL"),
        ("filter[remoteId]=A", None, "filter[remoteId]", "cannot be filtered"),  # v1
    ],
)
def test_rejected(query: str, key: str | None, parameter: str, detail: str) -> None:
    with pytest.raises(QueryError) as caught:
        parsed(query, key)
    (problem,) = caught.value.problems
    assert problem.parameter == parameter
    assert detail in problem.detail


def test_a_type_without_remote_id_map_has_no_such_attribute() -> None:
    with pytest.raises(QueryError, match="unknown attribute 'remoteId' of accounts"):
        parsed("filter[remoteId]=A", resource="accounts")


def test_the_key_is_part_of_the_filter() -> None:
    assert parsed("filter[remoteId]=A", key="1") != parsed("filter[remoteId]=A", key="2")
