"""``filter[deletedAt]`` and ``sort=deletedAt`` in the grammar (the deleted-rows extension): with
``deleted_rows`` a filter on it makes the query one of deleted rows; without, ``deletedAt`` is
an unknown attribute as in v1; a type whose rows cannot be deleted never has it."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from optiply.query import DELETED_AT, Filter, ListQuery, Operator, QueryError, build, parse
from optiply.query.cursor import decode, encode, keyset_keys
from optiply.resources import REGISTRY, get

T = datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
T_TEXT = "2024-01-02T03:04:05.006Z"


def parsed(query: str, *, deleted_rows: bool = True, resource: str = "products") -> ListQuery:
    items = parse_qsl(query, keep_blank_values=True)
    return parse(items, get(resource), deleted_rows=deleted_rows)


@pytest.mark.parametrize(
    ("query", "operator"),
    [
        (f"filter[deletedAt][GT]={T_TEXT}", Operator.GT),
        (f"filter[deletedAt][gt]={T_TEXT}", Operator.GT),
        (f"filter[deletedAt][GE]={T_TEXT}", Operator.GE),
        (f"filter[deletedAt][LT]={T_TEXT}", Operator.LT),
        (f"filter[deletedAt][LE]={T_TEXT}", Operator.LE),
        (f"filter[deletedAt]={T_TEXT}", Operator.EQ),
        (f"filter[deletedAt][EQ]={T_TEXT}", Operator.EQ),
        (f"filter[products][deletedAt][GT]={T_TEXT}", Operator.GT),  # the type prefix
        ("filter[deletedAt][GT]=2024-01-02T04:04:05.006%2B01:00", Operator.GT),  # an offset
    ],
)
def test_accepted(query: str, operator: Operator) -> None:
    query_ = parsed(query)
    assert query_.filters == (Filter(DELETED_AT, operator, (T,)),)
    assert query_.deleted


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.type) for s in REGISTRY if s.deletable])
def test_every_deletable_type_takes_it(spec) -> None:
    assert parsed(f"filter[deletedAt][GT]={T_TEXT}", resource=spec.type).deleted


def test_it_goes_with_other_filters_and_sorts_by_deleted_at() -> None:
    query = parsed(f"filter[deletedAt][GT]={T_TEXT}&filter[name]=mug&sort=-deletedAt,id")
    assert [f.attribute.name for f in query.filters] == ["deletedAt", "name"]
    assert [(k.attribute, k.descending) for k in query.sort] == [
        (DELETED_AT, True),
        (get("products").attribute("id"), False),
    ]


def test_a_query_without_it_lists_live_rows() -> None:
    assert not parsed("filter[name]=mug").deleted
    assert not parsed("filter[updatedAt][GT]=2024-01-02").deleted


@pytest.mark.parametrize(
    ("query", "deleted_rows", "parameter", "detail"),
    [
        (f"filter[deletedAt][NEQ]={T_TEXT}", True, "filter[deletedAt][NEQ]", "EQ, LT, LE, GT"),
        ("filter[deletedAt][LIKE]=2024", True, "filter[deletedAt][LIKE]", "EQ, LT, LE, GT"),
        ("filter[deletedAt][SOON]=2024", True, "filter[deletedAt][SOON]", "EQ, LT, LE, GT"),
        ("filter[deletedAt]=null", True, "filter[deletedAt]", "every deleted row has one"),
        ("filter[deletedAt][GT]=NULL", True, "filter[deletedAt][GT]", "every deleted row"),
        ("filter[deletedAt][GT]=yesterday", True, "filter[deletedAt][GT]", "ISO-8601"),
        ("filter[deletedAt][GT]=", True, "filter[deletedAt][GT]", "ISO-8601"),
        ("sort=deletedAt", True, "sort", "needs a filter[deletedAt]"),
        # The extension off: an unknown attribute, as in v1.
        (f"filter[deletedAt][GT]={T_TEXT}", False, "filter[deletedAt][GT]", "unknown attribute"),
        ("sort=deletedAt", False, "sort", "unknown attribute 'deletedAt'"),
    ],
)
def test_rejected(query: str, deleted_rows: bool, parameter: str, detail: str) -> None:
    with pytest.raises(QueryError) as caught:
        parsed(query, deleted_rows=deleted_rows)
    (problem,) = caught.value.problems
    assert problem.parameter == parameter
    assert detail in problem.detail


def test_a_type_whose_rows_cannot_be_deleted_has_no_deleted_rows() -> None:
    assert not get("accounts").deletable
    with pytest.raises(QueryError, match="unknown attribute 'deletedAt' of accounts"):
        parsed(f"filter[deletedAt][GT]={T_TEXT}", resource="accounts")


def test_build_and_cursors_round_trip() -> None:
    query = parsed(f"filter[deletedAt][GE]={T_TEXT}&sort=deletedAt,id")
    items = build(query)
    assert ("filter[deletedAt][GE]", "2024-01-02T03:04:05.006000Z") in items
    assert parse(items, get("products"), deleted_rows=True) == query
    keys = keyset_keys(query.sort, get("products"))
    assert keys is not None  # deletedAt is never null in a list of deleted rows: keyset paging
    assert decode(encode((T, 7), 3), keys) == ((T, 7), 3)


def test_every_type_a_cascade_deletes_is_deletable() -> None:
    """Rows a cascade soft-deletes are listed too: their type takes filter[deletedAt]."""
    for spec in REGISTRY:
        for relationship in spec.relationships:
            if relationship.cascade:
                assert get(relationship.target).deletable, relationship.target
