"""Parse a list request's query string into a ``ListQuery`` (§5 of the API reference).

The grammar, in one place:

- ``filter[attr]=v`` (EQ) and ``filter[attr][OP]=v``, with ``OP`` any case of an ``Operator``;
  ``filter[<type>][attr]...`` with the endpoint's own type as a prefix means the same.
- ``null`` (any case) with EQ/NEQ means IS NULL / IS NOT NULL.
- Repeated EQ (or NEQ) keys for one attribute merge into IN (NOT IN); ``id`` and ``*Id``
  values are also split on commas (Q27). Everything else is ANDed.
- ``sort=a,-b``; ``page[limit]`` (1 to 100, default 50) and ``page[offset]`` (a multiple of the
  limit).
- Other parameters (``accountId``, ``couplingId``, ``include``, ``fields[...]``, ...) are ignored.
- Given a ``remote_id_key`` (the remote-id extension is on), ``filter[remoteId]=X`` (EQ only;
  repeat the key for IN; never split on commas, no ``null``) on a type with ``remoteIdMap``
  matches the rows whose map holds X under that key. Without one it is refused like any
  write-only attribute (v1).
- With ``deleted_rows`` (the deleted-rows extension is on), ``filter[deletedAt][OP]=T`` (EQ,
  LT, LE, GT or GE; no ``null``) on a type whose rows can be deleted makes the query one of
  deleted rows (``ListQuery.deleted``), which ``sort=deletedAt`` may then order. Without it
  ``deletedAt`` is an unknown attribute (v1).

Every fault of the whole query string is collected and raised together in one ``QueryError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from optiply.jsonapi.errors import Problem
from optiply.query.ast import (
    DEFAULT_LIMIT,
    DELETED_AT,
    MAX_LIMIT,
    Filter,
    ListQuery,
    Page,
    QueryError,
    SortKey,
)
from optiply.query.cursor import decode, keyset_keys
from optiply.query.operators import EQUALITY, ORDERING, Operator
from optiply.resources.spec import Attribute, Kind, ResourceSpec
from optiply.resources.types import INT64_MAX, InvalidValue, parse_text

_BRACKETS = re.compile(r"(?:\[[^\[\]]*\])+")  # one or more [segment], nothing else
_DIGITS = re.compile(r"[0-9]+")
_OPERATORS = ", ".join(Operator)
_SPLIT_ON_COMMAS = (Kind.ID, Kind.REFERENCE)
_LIKE_ONLY = (Kind.EMAILS, Kind.OBJECT)
_UNORDERED = (Kind.BOOLEAN, Kind.EMAILS, Kind.OBJECT)
REMOTE_ID = "remoteId"
MAX_REMOTE_ID = 255  # the longest remoteId a write takes, and the longest coupling key looked up
DELETED_OPERATORS = (Operator.EQ, Operator.LT, Operator.LE, Operator.GT, Operator.GE)  # deletedAt


def parse(
    params: Iterable[tuple[str, str]],
    spec: ResourceSpec,
    *,
    remote_id_key: str | None = None,
    deleted_rows: bool = False,
) -> ListQuery:
    """Parse the decoded query items of a collection GET on ``spec``.

    Args:
        params: The query items in request order; a key may repeat.
        spec: The resource the collection belongs to.
        remote_id_key: The ``remoteIdMap`` key ``filter[remoteId]`` matches under (the
            request's ``couplingId``, else ``publicApi``); None refuses that filter (v1).
        deleted_rows: Whether ``filter[deletedAt]`` (deleted rows) is offered; False refuses
            it as an unknown attribute (v1).

    Returns:
        The filters, sort keys and page the request asks for.

    Raises:
        QueryError: With one ``Problem`` per fault, each naming the offending parameter.

    >>> from optiply.resources.registry import get
    >>> products = get("products")
    >>> query = parse([("filter[status]", "ENABLED"), ("filter[id]", "3,1"),
    ...                ("filter[price][gt]", "9.5"), ("sort", "-price"),
    ...                ("page[limit]", "20"), ("accountId", "7")], products)
    >>> [(f.attribute.name, f.operator.value, f.values) for f in query.filters]
    [('status', 'EQ', ('enabled',)), ('id', 'EQ', (3, 1)), ('price', 'GT', (Decimal('9.50'),))]
    >>> [(key.attribute.name, key.descending) for key in query.sort]
    [('price', True)]
    >>> query.page
    Page(limit=20, offset=0, after=None, total=None)
    >>> parse([("filter[completed]", "null")], get("buyOrders")).filters[0].values
    (None,)
    >>> try:
    ...     parse([("filter[nope]", "1"), ("page[limit]", "20"), ("page[offset]", "30")], products)
    ... except QueryError as error:
    ...     [(problem.parameter, problem.detail) for problem in error.problems]
    [('filter[nope]', "unknown attribute 'nope' of products"), \
('page[offset]', 'offset 30 is not a multiple of limit 20')]
    >>> found = parse([("filter[remoteId]", "A,1"), ("filter[remoteId]", "B")], products,
    ...               remote_id_key="42").filters[0]
    >>> (found.attribute.name, found.operator.value, found.values, found.key)
    ('remoteId', 'EQ', ('A,1', 'B'), '42')
    >>> gone = parse([("filter[deletedAt][gt]", "2024-01-02"), ("sort", "deletedAt,id")],
    ...              products, deleted_rows=True)
    >>> gone.deleted, [key.attribute.name for key in gone.sort]
    (True, ['deletedAt', 'id'])
    """
    problems: list[Problem] = []
    filters = _Filters(
        spec,
        problems,
        remote_id_key if spec.has_remote_ids else None,
        deleted_rows=deleted_rows and spec.deletable,
    )
    sorts: list[str] = []
    paging: dict[str, list[str]] = {}
    for key, value in params:
        if _in_family(key, "filter"):
            filters.add(key, value)
        elif key == "sort":
            sorts.append(value)
        elif _in_family(key, "page"):
            paging.setdefault(key, []).append(value)
    sort = _sort(sorts, spec, problems, filters.deleted_used if filters.deleted_rows else None)
    page = _page(paging, problems)
    if "page[after]" in paging and not any(p.parameter == "page[after]" for p in problems):
        page = _after(paging["page[after]"][0], sort, spec, page, problems)
    if filters.remote_ids_used:
        _check_remote_id_key(remote_id_key or "", problems)
    if problems:
        raise QueryError(problems)
    return ListQuery(filters=filters.result(), sort=sort, page=page)


def _check_remote_id_key(key: str, problems: list[Problem]) -> None:
    """A coupling key that no stored remote id can be under (too long to be indexed, or NUL)."""
    if len(key) > MAX_REMOTE_ID or "\x00" in key:
        detail = (
            f"filter[remoteId] needs a couplingId of at most {MAX_REMOTE_ID} characters without NUL"
        )
        problems.append(Problem.query("couplingId", detail))


def _in_family(key: str, family: str) -> bool:
    """Whether ``key`` is ``family`` itself or ``family`` followed by brackets (even broken)."""
    return key.startswith(family) and key[len(family) : len(family) + 1] in ("", "[", "]")


def _segments(key: str, family: str) -> list[str] | None:
    """The bracketed parts of ``key`` after ``family``, or None when malformed.

    >>> _segments("filter[products][name][eq]", "filter")
    ['products', 'name', 'eq']
    >>> _segments("filter[name", "filter") is None
    True
    """
    rest = key[len(family) :]
    if not _BRACKETS.fullmatch(rest):
        return None
    return rest[1:-1].split("][")


class _Filters:
    """Accumulates the filters of one query string, merging repeated EQ/NEQ keys."""

    def __init__(
        self,
        spec: ResourceSpec,
        problems: list[Problem],
        remote_id_key: str | None = None,
        *,
        deleted_rows: bool = False,
    ) -> None:
        self._spec = spec
        self._problems = problems
        self._remote_id_key = remote_id_key  # None: filter[remoteId] is refused (v1)
        self.deleted_rows = deleted_rows  # False: filter[deletedAt] is unknown (v1)
        self.deleted_used = False  # whether a filter[deletedAt] parameter was read
        self._entries: list[tuple[Attribute, Operator, list[Any]]] = []
        self._merged: dict[tuple[str, Operator], list[Any]] = {}
        self.remote_ids_used = False  # whether a filter[remoteId] parameter was read

    def add(self, key: str, value: str) -> None:
        """Read one ``filter...`` parameter; faults go to the shared problem list."""
        target = self._target(key)
        if target is None:
            return
        attribute, operator = target
        values = self._values(key, attribute, operator, value)
        if values is None:
            return
        if operator in EQUALITY:
            merged = self._merged.get((attribute.name, operator))
            if merged is not None:
                merged.extend(values)
                return
            self._merged[(attribute.name, operator)] = values
        self._entries.append((attribute, operator, values))

    def result(self) -> tuple[Filter, ...]:
        """The filters in order of first appearance, duplicate values removed."""
        return tuple(
            Filter(attribute, operator, tuple(dict.fromkeys(values)), self._key(attribute))
            for attribute, operator, values in self._entries
        )

    def _key(self, attribute: Attribute) -> str | None:
        return self._remote_id_key if attribute.name == REMOTE_ID else None

    def _problem(self, key: str, detail: str) -> None:
        self._problems.append(Problem.query(key, detail))

    def _target(self, key: str) -> tuple[Attribute, Operator] | None:
        spec = self._spec
        segments = _segments(key, "filter")
        if segments and len(segments) > 1 and segments[0] == spec.type:
            if spec.attribute(segments[0]) is None:
                segments = segments[1:]  # filter[<own type>][attr]...: the crnk prefix
        if segments is None or not 1 <= len(segments) <= 2 or "" in segments:
            self._problem(
                key, "malformed filter parameter; use filter[attribute] or filter[attribute][OP]"
            )
            return None
        name = segments[0]
        if name == DELETED_AT.name and self.deleted_rows:
            return self._deleted_target(key, segments)
        attribute = spec.attribute(name)
        if attribute is None:
            self._problem(key, f"unknown attribute {_show(name)} of {spec.type}")
            return None
        if attribute.name == REMOTE_ID and self._remote_id_key is not None:
            return self._remote_id_target(key, segments)
        if not attribute.filterable:
            self._problem(key, f"attribute {_show(name)} of {spec.type} cannot be filtered")
            return None
        operator = Operator.EQ if len(segments) == 1 else Operator.lookup(segments[1])
        if operator is None:
            self._problem(key, f"unknown operator {_show(segments[1])}; use one of {_OPERATORS}")
            return None
        if operator in ORDERING and attribute.kind in _UNORDERED:
            self._problem(key, f"operator {operator} cannot be used on {name}")
            return None
        if operator in EQUALITY and attribute.kind in _LIKE_ONLY:
            self._problem(key, f"operator {operator} cannot be used on {name}; use LIKE")
            return None
        return attribute, operator

    def _remote_id_target(self, key: str, segments: list[str]) -> tuple[Attribute, Operator] | None:
        """``filter[remoteId]`` and ``filter[remoteId][EQ]`` (the extension); IN is a repeat."""
        self.remote_ids_used = True
        if len(segments) == 2 and Operator.lookup(segments[1]) is not Operator.EQ:
            self._problem(key, "filter[remoteId] takes EQ only; repeat the key to match several")
            return None
        attribute = self._spec.attribute(REMOTE_ID)
        assert attribute is not None
        return attribute, Operator.EQ

    def _deleted_target(self, key: str, segments: list[str]) -> tuple[Attribute, Operator] | None:
        """``filter[deletedAt][OP]`` (the deleted-rows extension): the query lists deleted rows."""
        self.deleted_used = True
        operator = Operator.EQ if len(segments) == 1 else Operator.lookup(segments[1])
        if operator not in DELETED_OPERATORS:
            self._problem(key, "filter[deletedAt] takes EQ, LT, LE, GT or GE")
            return None
        return DELETED_AT, operator

    def _values(
        self, key: str, attribute: Attribute, operator: Operator, value: str
    ) -> list[Any] | None:
        if attribute.name == REMOTE_ID:
            return self._remote_id_values(key, value)
        if attribute is DELETED_AT and value.strip().lower() == "null":
            self._problem(key, "filter[deletedAt] takes a date-time: every deleted row has one")
            return None
        texts = [value]
        if operator in EQUALITY and attribute.kind in _SPLIT_ON_COMMAS:
            texts = value.split(",")
        values: list[Any] = []
        failed = False
        for text in texts:
            if text.strip().lower() == "null":
                if operator not in EQUALITY:
                    self._problem(key, f"null cannot be used with {operator}; only EQ or NEQ")
                    failed = True
                values.append(None)
            elif operator is Operator.LIKE:
                if "\x00" in text:
                    self._problem(key, "filter values must not contain NUL characters")
                    failed = True
                values.append(text)
            else:
                try:
                    values.append(parse_text(attribute, text))
                except InvalidValue as error:
                    self._problem(key, str(error))
                    failed = True
        return None if failed else values

    def _remote_id_values(self, key: str, value: str) -> list[Any] | None:
        """One remote id, as sent (commas included): not ``null``, NUL or over 255 characters."""
        if value.lower() == "null":  # a remote id is taken exactly as sent, spaces and all
            detail = "filter[remoteId] takes remote ids; rows without one cannot be looked up"
        elif "\x00" in value:
            detail = "filter values must not contain NUL characters"
        elif len(value) > MAX_REMOTE_ID:
            detail = f"a remoteId has at most {MAX_REMOTE_ID} characters"
        else:
            return [value]
        self._problem(key, detail)
        return None


def _sort(
    values: list[str], spec: ResourceSpec, problems: list[Problem], deleted: bool | None = None
) -> tuple[SortKey, ...]:
    """The sort keys of the (single) ``sort`` parameter; blank means none. ``deleted``: whether
    ``deletedAt`` may be a key (the query lists deleted rows); None: the extension is off."""
    if len(values) > 1:
        problems.append(
            Problem.query("sort", "sort must be given at most once; separate keys by ','")
        )
        return ()
    if not values or not values[0].strip():
        return ()
    keys: list[SortKey] = []
    seen: set[str] = set()
    for item in values[0].split(","):
        text = item.strip()
        name = text.removeprefix("-")
        attribute = DELETED_AT if deleted and name == DELETED_AT.name else spec.attribute(name)
        if deleted is False and name == DELETED_AT.name:
            problems.append(Problem.query("sort", "sort=deletedAt needs a filter[deletedAt]"))
        elif not name:
            problems.append(Problem.query("sort", f"empty sort key in {_show(values[0])}"))
        elif attribute is None:
            problems.append(
                Problem.query("sort", f"unknown attribute {_show(name)} of {spec.type}")
            )
        elif not (attribute.sortable or attribute.kind is Kind.ID):
            problems.append(Problem.query("sort", f"{spec.type} cannot be sorted by {_show(name)}"))
        elif attribute.name in seen:
            problems.append(Problem.query("sort", f"{_show(name)} appears more than once in sort"))
        else:
            seen.add(attribute.name)
            keys.append(SortKey(attribute, descending=text.startswith("-")))
    return tuple(keys)


def _page(values: dict[str, list[str]], problems: list[Problem]) -> Page:
    """The page from ``page[limit]`` and ``page[offset]``; any other ``page`` key is a fault."""
    texts: dict[str, str] = {}
    for key, given in values.items():
        if key not in ("page[limit]", "page[offset]", "page[after]"):
            problems.append(
                Problem.query(
                    key, f"unknown page parameter {_show(key)}; use page[limit] and page[offset]"
                )
            )
        elif len(given) > 1:
            problems.append(Problem.query(key, f"{key} must be given at most once"))
        else:
            texts[key] = given[0].strip()
    limit = _limit(texts.get("page[limit]"), problems)
    offset = _offset(texts.get("page[offset]"), limit, problems)
    return Page(limit=limit or DEFAULT_LIMIT, offset=offset or 0)


def _after(
    text: str, sort: tuple[SortKey, ...], spec: ResourceSpec, page: Page, problems: list[Problem]
) -> Page:
    """Add the keyset position of ``page[after]`` (see ``cursor``) to ``page``."""
    keys = keyset_keys(sort, spec)
    if keys is None:
        problems.append(
            Problem.query(
                "page[after]", "page[after] needs a sort on attributes that are never null"
            )
        )
        return page
    try:
        after, total = decode(text.strip(), keys)
    except ValueError as error:
        problems.append(Problem.query("page[after]", str(error)))
        return page
    return Page(limit=page.limit, offset=page.offset, after=after, total=total)


def _limit(text: str | None, problems: list[Problem]) -> int | None:
    """The page size, DEFAULT_LIMIT when absent; None when invalid (already reported)."""
    if text is None:
        return DEFAULT_LIMIT
    limit = _natural(text)
    if limit is None or limit == 0:
        detail = f"page[limit] must be a positive integer, got {_show(text)}"
    elif limit > MAX_LIMIT:
        detail = (
            f"page[limit] {_show(text, quote='')} is larger than the maximum allowed of {MAX_LIMIT}"
        )
    else:
        return limit
    problems.append(Problem.query("page[limit]", detail))
    return None


def _offset(text: str | None, limit: int | None, problems: list[Problem]) -> int | None:
    """The offset, 0 when absent; None when invalid (already reported)."""
    if text is None:
        return 0
    offset = _natural(text)
    if offset is None:
        detail = f"page[offset] must be a non-negative integer, got {_show(text)}"
    elif offset > INT64_MAX:
        detail = f"page[offset] {_show(text, quote='')} is too large"
    elif limit is not None and offset % limit:
        detail = f"offset {offset} is not a multiple of limit {limit}"
    else:
        return offset
    problems.append(Problem.query("page[offset]", detail))
    return None


def _natural(text: str) -> int | None:
    """A non-negative integer in ASCII digits (huge ones capped just above INT64_MAX), or None."""
    if not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    return INT64_MAX + 1 if len(digits) > len(str(INT64_MAX)) else int(digits)


def _show(text: str, quote: str = "'") -> str:
    """Client text for a message, quoted and cut short.

    >>> _show("x" * 50)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"
    """
    shown = text if len(text) <= 32 else text[:29] + "..."
    return f"{quote}{shown}{quote}"
