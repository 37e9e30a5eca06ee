"""List queries and page following for the client.

Queries are built in the one grammar the server parses (``optiply.query``): keyword filters are
written as query items and run through ``optiply.query.parse`` against the registry, so an
unknown attribute, a bad value or an illegal page fails here, before any request, with the same
message the server would give. ``optiply.query.build`` turns the result into query parameters.

Pages are followed through ``links.next``, verbatim, until it is null or absent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from optiply.client.errors import ConfigurationError, ErrorDetail, FatalError
from optiply.query import MAX_LIMIT, Filter, ListQuery, Operator, QueryError, format_value, parse
from optiply.resources import ResourceSpec, find


class _Linked(Protocol):
    @property
    def next_url(self) -> str | None: ...


PageT = TypeVar("PageT", bound=_Linked)


def resource_spec(resource_type: str, method: str | None = None) -> ResourceSpec:
    """The registry spec of ``resource_type``, checking that it supports ``method``.

    Raises:
        ConfigurationError: Unknown type, or a method the type does not offer.
    """
    spec = find(resource_type)
    if spec is None:
        raise ConfigurationError(f"unknown resource type {resource_type!r}")
    if method is not None and method not in spec.methods:
        raise ConfigurationError(f"{resource_type} does not support {method}")
    return spec


def filters(
    resource_type: str,
    *conditions: Filter,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    **equals: Any,
) -> ListQuery:
    """A ``ListQuery`` from ``Filter`` objects and ``attribute=value`` equality filters.

    A list, tuple or set value means IN; ``None`` means IS NULL. ``sort`` takes the wire form
    (``"-updatedAt"``) or a sequence of such keys.

    Args:
        resource_type: The JSON:API type the query is for.
        *conditions: Filters made by ``condition`` (or by hand).
        sort: Sort keys, ``-`` for descending.
        limit: The page size (1 to 100); the server's default (50) when None.
        offset: The first row, a multiple of ``limit``.
        **equals: Equality filters by attribute name.

    Returns:
        The query, validated against the registry.

    Raises:
        ConfigurationError: An unknown attribute, a value of the wrong type, a bad page.

    >>> query = filters("supplierProducts", supplierId=3, productId=[7, 8], limit=10)
    >>> from optiply.query import build
    >>> build(query)  # doctest: +NORMALIZE_WHITESPACE
    [('filter[supplierId]', '3'), ('filter[productId]', '7'), ('filter[productId]', '8'),
     ('page[limit]', '10')]
    """
    spec = resource_spec(resource_type)
    items = [
        (f"filter[{name}]", _text(item)) for name, value in equals.items() for item in _many(value)
    ]
    if sort:
        items.append(("sort", sort if isinstance(sort, str) else ",".join(sort)))
    if limit is not None:
        items.append(("page[limit]", str(limit)))
    if offset:
        items.append(("page[offset]", str(offset)))
    query = _parse(items, spec)
    if not conditions:
        return query
    return ListQuery(filters=(*conditions, *query.filters), sort=query.sort, page=query.page)


def condition(resource_type: str, attribute: str, operator: Operator | str, value: Any) -> Filter:
    """One ``Filter``, such as ``updatedAt GT <datetime>``, parsed as the server would.

    >>> condition("products", "stockLevel", "le", 0).values
    (0,)

    Raises:
        ConfigurationError: An unknown attribute or operator, or a value of the wrong type.
    """
    spec = resource_spec(resource_type)
    op = operator if isinstance(operator, Operator) else Operator.lookup(operator)
    if op is None:
        raise ConfigurationError(f"unknown operator {operator!r}; use one of {', '.join(Operator)}")
    key = f"filter[{attribute}][{op}]"
    (parsed,) = _parse([(key, _text(item)) for item in _many(value)], spec).filters
    return parsed


def updated_since(
    resource_type: str, since: datetime, *, limit: int = MAX_LIMIT, **equals: Any
) -> ListQuery:
    """Rows changed after ``since``, oldest change first, for incremental reads.

    Sorting by ``updatedAt`` then ``id`` keeps offset paging stable; keep the largest
    ``updatedAt`` seen as the next ``since``.

    >>> from datetime import UTC
    >>> from optiply.query import build
    >>> build(updated_since("products", datetime(2024, 1, 2, tzinfo=UTC)))
    [('filter[updatedAt][GT]', '2024-01-02T00:00:00Z'), ('sort', 'updatedAt,id'), \
('page[limit]', '100')]
    """
    changed = condition(resource_type, "updatedAt", Operator.GT, since)
    return filters(resource_type, changed, sort="updatedAt,id", limit=limit, **equals)


def merge(query: ListQuery | None, extra: ListQuery | None) -> ListQuery:
    """``query`` with the filters of ``extra`` added; ``extra``'s sort and page win when set."""
    if query is None:
        return extra or ListQuery()
    if extra is None:
        return query
    return ListQuery(
        filters=(*query.filters, *extra.filters),
        sort=extra.sort or query.sort,
        page=extra.page if extra.page != ListQuery().page else query.page,
    )


def follow(first: PageT, fetch: Callable[[str], PageT]) -> Iterator[PageT]:
    """``first`` and every page after it, fetching each ``next_url`` verbatim.

    Raises:
        FatalError: A ``links.next`` that was already followed (the server would loop).
    """
    page = first
    seen: set[str] = set()
    while True:
        yield page
        url = page.next_url
        if not url:
            return
        _check_new(url, seen)
        page = fetch(url)


async def afollow(first: PageT, fetch: Callable[[str], Awaitable[PageT]]) -> AsyncIterator[PageT]:
    """The async twin of ``follow``."""
    page = first
    seen: set[str] = set()
    while True:
        yield page
        url = page.next_url
        if not url:
            return
        _check_new(url, seen)
        page = await fetch(url)


def _check_new(url: str, seen: set[str]) -> None:
    if url in seen:
        raise FatalError("links.next points to a page that was already read", url=url)
    seen.add(url)


def _many(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return value
    return (value,)


def _text(value: Any) -> str:
    """The query text of a value; a naive datetime is taken as UTC, like the server does."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_value(value)


def _parse(items: list[tuple[str, str]], spec: ResourceSpec) -> ListQuery:
    try:
        return parse(items, spec)
    except QueryError as error:
        problems = tuple(
            ErrorDetail(detail=p.detail, parameter=p.parameter) for p in error.problems
        )
        first = problems[0]
        raise ConfigurationError(
            first.detail, parameter=first.parameter, problems=problems
        ) from None
