"""In-process caches of what the database computed, keyed by the accounts' data versions.

Every write transaction bumps ``accounts.data_version`` of the account it changes (see
``repository.lock_account``), in the same transaction as the change, and every read learns the
versions of its accounts with its token. A key holding those versions can't be served after a
committed change, in this process or in any other sharing the database; stale entries simply
age out of the LRU.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    """A small least-recently-used map (not thread-safe: the server runs on one event loop)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[object, V] = OrderedDict()

    def get(self, key: object) -> V | None:
        """The value for ``key``, marking it recently used."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: object, value: V) -> None:
        """Remember ``value``, forgetting the least recently used entry when full."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


# COUNT(*) of a list query: milliseconds on a large account, on every page request.
COUNTS: Lru[int] = Lru(4096)
# The attributes JSON of a row: rendering is most of a list request's database time; readers
# that poll the same pages (incremental syncs, dashboards) get them without rendering again.
RENDERED: Lru[str] = Lru(20_000)
