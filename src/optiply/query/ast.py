"""The typed form of a list request's query string: filters, sort keys and the page.

A ``ListQuery`` is produced once by ``optiply.query.parse`` and consumed by the storage layer's
compiler and by ``optiply.query.build``; nothing after the parser looks at raw query text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from optiply.jsonapi.errors import Problem
from optiply.query.operators import Operator
from optiply.resources.spec import Access, Attribute, Kind

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

DELETED_AT = Attribute(
    "deletedAt",
    Kind.DATETIME,
    nullable=False,  # a deleted row always has it: keyset cursors may resume on it
    access=Access.READ_ONLY,
    description="When the row was deleted (the deleted-rows extension; never an attribute).",
)
"""``filter[deletedAt]`` and ``sort=deletedAt`` (an extension of this server, the deleted-rows
one): no attribute of any resource, but the ``deleted_at`` column every resource table has. A
query that filters on it lists deleted rows only (``ListQuery.deleted``), each with
``meta.deletedAt``."""


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition: ``attribute operator value``.

    ``values`` are canonical Python values (see ``optiply.resources.types.parse_text``); ``None``
    stands for the ``null`` literal. Several values mean IN for ``EQ`` and NOT IN for ``NEQ``;
    the other operators always carry exactly one value. ``LIKE`` values are the raw text.

    ``key`` is set only on ``filter[remoteId]`` (an extension of this server, EQ only): the
    ``remoteIdMap`` key its values are matched under, the request's ``couplingId`` or
    ``publicApi``; the filter then selects rows by their remote ids, not by a column.
    """

    attribute: Attribute
    operator: Operator
    values: tuple[Any, ...]
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``sort`` key; ``descending`` for a ``-`` prefix."""

    attribute: Attribute
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """``limit`` rows from ``offset`` (a multiple of ``limit``), or after a keyset cursor.

    With ``after`` (decoded from ``page[after]``: the sort-key values of the previous page's
    last row, ending with its id) the rows follow that position and ``offset`` only numbers the
    page; ``total`` is the count carried by the cursor from the first page of the walk.
    """

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: tuple[Any, ...] | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Everything a collection GET asks for: the filters (ANDed), the order and the page."""

    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    page: Page = Page()

    @property
    def deleted(self) -> bool:
        """Whether the query lists deleted rows (it filters on ``DELETED_AT``), not live ones."""
        return any(condition.attribute is DELETED_AT for condition in self.filters)


class QueryError(Exception):
    """A query string that cannot be parsed; ``problems`` lists every fault found (never empty),
    each an ``INVALID_QUERY`` ``Problem`` naming its parameter."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("a QueryError needs at least one problem")
        super().__init__("; ".join(f"{p.parameter}: {p.detail}" for p in self.problems))
