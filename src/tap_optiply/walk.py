"""Reading a collection in (``updatedAt``, ``id``) order by key, so no row is skipped or looped;
and, on a server with the deleted-rows extension, the rows deleted since, in (``deletedAt``,
``id``) order the same way.

Offset paging over rows that change while they are read skips rows: a row updated mid-walk moves
to the end of an ``updatedAt`` order and every row behind it moves one place forward. So every
request here says *where to continue* by key, never by offset:

- ``Position(T, I)`` is a bookmark: every row up to (``updatedAt`` T, ``id`` I) was read;
  ``I == 0`` means no row at T was read yet.
- From ``(T, I)`` the rows still to read are the *tie* (``updatedAt = T`` and ``id > I``,
  sorted by ``id``) and then the *rest* (``updatedAt > T``, sorted by ``updatedAt,id``); from
  ``(T, 0)`` just ``updatedAt >= T``. Both are ordinary filters and sorts of API v1.
- A ``links.next`` that resumes by key (``page[after]``: this server's keyset cursors) is
  followed as is; any other (offset paging: the hosted API) is not: the walk asks again from
  the last row read instead, which costs a request per page for the tie and never skips.
- ``until`` bounds the walk (``updatedAt <= until``), so a sync ends even while rows keep
  changing; rows changed after it are the next sync's.

A full-table walk goes by ``id`` alone (``id > I``), which no update moves.

``deleted`` walks the rows deleted after a position exactly so, with ``filter[deletedAt]`` and
``sort=deletedAt,id`` (an extension of this server, docs/extensions.md; the hosted API has no
such filter): its positions are (``deletedAt``, ``id``), read from each row's
``meta.deletedAt``, and its batches are marked ``deleted``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from optiply.client import OptiplyClient, Resource
from optiply.query import DELETED_AT, Filter, ListQuery, Operator, Page, SortKey
from optiply.resources import Attribute, ResourceSpec

_KEYSET_MARKERS = ("page[after]=", "page%5Bafter%5D=", "page%5bafter%5d=")


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Every row up to ``(at, id)`` was read; ``id == 0``: none at ``at``. ``at`` is an
    ``updatedAt`` (or, in a walk of deleted rows, a ``deletedAt``)."""

    at: datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class Batch:
    """One page of rows, in walk order, and the position after its last row; ``deleted``: the
    rows are deleted ones (``meta.deletedAt`` says when)."""

    rows: tuple[Resource, ...]
    last: Position
    deleted: bool = False


def parse_timestamp(text: str) -> datetime:
    """The API's ``updatedAt`` text as an aware datetime.

    >>> parse_timestamp("2024-05-01T10:00:00.250000Z")
    datetime.datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=datetime.timezone.utc)
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resumes_by_key(next_url: str) -> bool:
    """Whether a ``links.next`` continues by key (``page[after]``), not by offset.

    >>> resumes_by_key("http://h/v1/products?sort=id&page[offset]=100&page[after]=WzFd")
    True
    >>> resumes_by_key("https://api.optiply.com/v1/products?page[offset]=100")
    False
    """
    return any(marker in next_url for marker in _KEYSET_MARKERS)


class Walk:
    """The reads of one stream: ``changed`` (incremental) or ``everything`` (full table).

    Args:
        client: The run's client (shared by every stream; thread-safe).
        spec: The resource read.
        extra: The stream's own filters (``stream_filters``), ANDed to the walk's.
        page_size: Rows per request.
    """

    def __init__(
        self, client: OptiplyClient, spec: ResourceSpec, extra: ListQuery, page_size: int
    ) -> None:
        self.client = client
        self.spec = spec
        self.extra = extra.filters
        self.page_size = page_size
        self.requests = 0
        updated, identity = spec.attribute("updatedAt"), spec.attribute("id")
        assert updated is not None and identity is not None
        self._updated = updated
        self._id = identity

    def changed(self, start: Position | None, until: datetime | None) -> Iterator[Batch]:
        """The rows after ``start`` (all when None) up to ``until``, oldest change first."""
        return self._by_key(self._updated, start, until)

    def deleted(self, start: Position | None, until: datetime | None) -> Iterator[Batch]:
        """The rows deleted after ``start`` up to ``until``, oldest deletion first (only on a
        server that offers the deleted-rows extension: elsewhere the filter is refused)."""
        return self._by_key(DELETED_AT, start, until)

    def _by_key(
        self, key: Attribute, start: Position | None, until: datetime | None
    ) -> Iterator[Batch]:
        position = start
        while True:
            resume = None
            for query in self._phases(key, position, until):
                resume = yield from self._follow(query, key)
                if resume is not None:
                    break
            if resume is None:
                return
            position = resume

    def everything(self) -> Iterator[Batch]:
        """Every row, by id."""
        after = 0
        while True:
            conditions = (Filter(self._id, Operator.GT, (after,)),) if after else ()
            query = self._query(conditions, (SortKey(self._id),))
            resume = yield from self._follow(query, self._updated)
            if resume is None:
                return
            after = resume.id

    def _phases(
        self, key: Attribute, position: Position | None, until: datetime | None
    ) -> Iterator[ListQuery]:
        bound = () if until is None else (Filter(key, Operator.LE, (until,)),)
        by_key = (SortKey(key), SortKey(self._id))
        if position is None:
            yield self._query(bound, by_key)
            return
        at = position.at
        if position.id:
            tie = (Filter(key, Operator.EQ, (at,)), Filter(self._id, Operator.GT, (position.id,)))
            yield self._query(tie, (SortKey(self._id),))
            yield self._query((Filter(key, Operator.GT, (at,)), *bound), by_key)
        else:
            yield self._query((Filter(key, Operator.GE, (at,)), *bound), by_key)

    def _query(self, conditions: tuple[Filter, ...], sort: tuple[SortKey, ...]) -> ListQuery:
        return ListQuery(
            filters=(*self.extra, *conditions), sort=sort, page=Page(limit=self.page_size)
        )

    def _follow(self, query: ListQuery, key: Attribute) -> Generator[Batch, None, Position | None]:
        """Yield the pages of ``query`` while ``links.next`` resumes by key; return the
        position to ask again from when it does not (None: the query is exhausted). Positions
        are (``key``, ``id``) of a page's last row."""
        self.requests += 1
        deleted = key is DELETED_AT
        for page in self.client.pages(self.spec.type, query):
            position = None
            if page.data:
                last = page.data[-1]
                stamp = (last.meta if deleted else last.attributes).get(key.name)
                moment = (
                    parse_timestamp(stamp)
                    if isinstance(stamp, str)
                    else datetime.min.replace(tzinfo=UTC)
                )
                position = Position(moment, last.id)
                yield Batch(page.data, position, deleted)
            next_url = page.next_url
            if not next_url or not page.data:  # an empty page ends the walk, next or not
                return None
            if not resumes_by_key(next_url):
                return position
            self.requests += 1
        return None
