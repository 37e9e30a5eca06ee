"""Pages of lists: the rows a ``ListQuery`` selects in some accounts, rendered, with the total.

Live rows, or, for a query of deleted rows (``ListQuery.deleted``: the deleted-rows extension,
``filter[deletedAt]``), the deleted ones alone with when each was deleted. Counts are cached
under the accounts' data versions (``caches``); whole pages are, by the endpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    select,
)

from optiply.query import ListQuery
from optiply.query.ast import Filter, SortKey
from optiply.query.cursor import keyset_keys
from optiply.resources import Kind, ResourceSpec
from optiply.server.storage import caches
from optiply.server.storage.compile import after, order_by, sort_columns, where
from optiply.server.storage.render import attributes_sql
from optiply.server.storage.repository import Rendered, table_of
from optiply.server.storage.tables import RESOURCE_TABLES


def _scope(
    table: Table, account_ids: Collection[int], *, deleted: bool
) -> list[ColumnElement[bool]]:
    """The rows of ``account_ids``: the live ones, or with ``deleted`` the deleted ones."""
    owner = table.c.account_id if "account_id" in table.c else table.c.id
    ids = list(account_ids)
    owned = owner == ids[0] if len(ids) == 1 else owner.in_(ids)
    marker = table.c.deleted_at
    return [owned, marker.is_not(None) if deleted else marker.is_(None)]


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of rows, the total, and the sort-key values of the last row (for a cursor)."""

    total: int
    rows: list[Rendered]
    last: tuple[Any, ...] | None  # None when the order can't resume by key, or no more rows
    more: bool = False  # whether rows follow this page
    deleted_at: tuple[datetime, ...] = ()  # a list of deleted rows: when each was deleted


def list_page(
    connection: Connection,
    spec: ResourceSpec,
    account_ids: Collection[int],
    query: ListQuery,
    related: tuple[str, int] | None = None,
    versions: tuple[int, ...] = (),
) -> Listing:
    """One rendered page of the rows matching ``query``, with the total count.

    ``related`` (column, id) narrows to the rows pointing at one parent (related endpoints).
    With a keyset position (``page[after]``) the page starts after it and the total is the one
    the cursor carries, so every page of a walk costs the same however deep it is. A query of
    deleted rows (``query.deleted``) lists those alone, with when each was deleted.
    """
    dialect = connection.dialect.name
    keys = keyset_keys(query.sort, spec)
    page = query.page
    resume = page.after is not None and keys is not None
    statements = _statements(
        spec,
        dialect,
        tuple(account_ids),
        query.filters,
        query.sort,
        None if related is None else related[0],
        resume,
    )
    parameters: dict[str, Any] = {"page_limit": page.limit + 1}
    if related is not None:
        parameters["related_id"] = related[1]
    versions = _versions(connection, account_ids, versions)
    database = str(connection.engine.url)
    counted = (database, spec.type, tuple(account_ids), versions, query.filters, related)
    total: int | None
    if resume:
        assert page.after is not None
        parameters.update(zip(_after_names(len(page.after)), page.after, strict=True))
        total, parameters["page_offset"] = page.total or 0, 0
    else:
        # A first page that holds every match is its own count: no COUNT for a lookup (by
        # ids, by remote ids) or a short list.
        offset = parameters["page_offset"] = page.offset
        total = None if offset == 0 else _count(connection, statements, parameters, counted)
        if total is not None and offset >= total:
            return Listing(total, [], None)
    found = connection.execute(statements.page, parameters).all()
    more = len(found) > page.limit
    found = found[: page.limit]
    if total is None:
        total = _count(connection, statements, parameters, counted) if more else len(found)
    last = tuple(found[-1][1 : 1 + len(keys)]) if found and keys and more else None
    if statements.renders:
        return Listing(total, [(row[0], row[-1]) for row in found], last, more)
    ids = [row[0] for row in found]
    rendered: dict[int, str] = dict(_render_many(connection, spec, ids)) if ids else {}
    deleted_at = tuple(row[-1] for row in found) if query.deleted else ()
    return Listing(total, [(row_id, rendered[row_id]) for row_id in ids], last, more, deleted_at)


def _count(
    connection: Connection,
    statements: _Statements,
    parameters: dict[str, Any],
    key: tuple[Any, ...],
) -> int:
    """COUNT(*) of the matching rows, cached under the accounts' data versions (``caches``)."""
    total = caches.COUNTS.get(key)
    if total is None:
        total = int(connection.execute(statements.count, parameters).scalar_one())
        caches.COUNTS.put(key, total)
    return total


@dataclass(frozen=True, slots=True)
class _Statements:
    """The statements of one shape of list query: its page of ids and its count. When
    ``renders``, the page's rows end with their rendered attributes."""

    page: Select[Any]
    count: Select[Any]
    renders: bool = False


@cache
def _after_names(count: int) -> tuple[str, ...]:
    """The parameter names of a cursor's ``count`` values (``compile.after``), in key order."""
    return tuple(f"after_{index}" for index in range(count))


@lru_cache(maxsize=256)  # a shape per (accounts, filters, sort): a walk needs one
def _statements(
    spec: ResourceSpec,
    dialect: str,
    account_ids: tuple[int, ...],
    filters: tuple[Filter, ...],
    sort: tuple[SortKey, ...],
    related: str | None,
    resume: bool,
) -> _Statements:
    """The statements of a list query of this shape; what varies from page to page (the limit,
    the offset, the cursor's values, the related id) is bound at execution. Building a
    statement cost about as much as running it: a walk builds its statements once."""
    table = table_of(spec)
    query = ListQuery(filters=filters, sort=sort)
    keys, deleted = keyset_keys(sort, spec), query.deleted
    # A cursor's bounds go ahead of the filters': of two ranges on one index column, SQLite
    # searches the first it is given, and the cursor's is the narrow one.
    position = [after(table, keys, _after_names(len(keys)), dialect)] if resume and keys else []
    scope = _scope(table, account_ids, deleted=deleted)
    matching = where(table, query, dialect, account_ids)
    if related is not None:
        matching.append(table.c[related] == bindparam("related_id"))
    # The page's ids (index-only where possible, one row more to know whether another page
    # follows), the sort keys of the last (for the next cursor), and when each was deleted.
    # A plain walk of one account's live rows by id (an export) renders its rows in the same
    # statement: the account's (account_id, id) index gives them in order, so only the page's
    # rows are rendered, read in id order. Any other shape may sort the matches first, which
    # would render every one of them: its page renders by id afterwards (``_render_many``).
    renders = (
        len(account_ids) == 1
        and not filters
        and related is None
        and keys is not None
        and [key.attribute.kind for key in keys] == [Kind.ID]
    )
    tail: list[ColumnElement[Any]] = [table.c.deleted_at] if deleted else []
    if renders:  # never a list of deleted rows: filter[deletedAt] is a filter
        tail = [literal_column(attributes_sql(spec, dialect))]
    page = (
        select(table.c.id, *sort_columns(table, keys or ()), *tail)
        .where(*scope, *position, *matching)
        .order_by(*order_by(table, query, dialect))
        .limit(bindparam("page_limit"))
        .offset(bindparam("page_offset"))
    )
    count = select(func.count()).select_from(table).where(*scope, *matching)
    return _Statements(page, count, renders)


def _versions(
    connection: Connection, account_ids: Collection[int], versions: tuple[int, ...]
) -> tuple[int, ...]:
    """The accounts' data versions: as read with the token, or read now."""
    if len(versions) == len(account_ids):
        return versions
    accounts = RESOURCE_TABLES["accounts"]
    statement = (
        select(accounts.c.data_version)
        .where(accounts.c.id.in_(list(account_ids)))
        .order_by(accounts.c.id)
    )
    return tuple(row[0] for row in connection.execute(statement))


def _render_many(connection: Connection, spec: ResourceSpec, ids: list[int]) -> Sequence[Any]:
    """The (id, rendered attributes) of the rows ``ids``, in no particular order."""
    dialect = connection.dialect.name
    ids_parameter: Any = orjson.dumps(ids).decode() if dialect == "sqlite" else ids
    return connection.exec_driver_sql(_render_many_sql(spec, dialect), (ids_parameter,)).all()


@cache
def _render_many_sql(spec: ResourceSpec, dialect: str) -> str:
    """The statement rendering rows by id, with one parameter for all the ids: a JSON array on
    SQLite, an array on PostgreSQL. Its text never changes with the number of ids, so it is
    neither compiled nor rendered per request (an expanding ``IN`` is rendered on each call)."""
    ids = "IN (SELECT value FROM json_each(?))" if dialect == "sqlite" else "= ANY(%s)"
    attributes, table = attributes_sql(spec, dialect), table_of(spec).name
    return f'SELECT id, {attributes} FROM "{table}" WHERE id {ids}'  # noqa: S608 - names from the registry
