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

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def put(self, key: object, value: V) -> None:
        """Remember ``value``, forgetting the least recently used entry when full."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


class SizedLru(Lru[bytes]):
    """An ``Lru`` of byte strings bounded by their total size, ``max_bytes``, not their count."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(size=0)  # unused: the bytes held are the bound
        self.max_bytes = max_bytes
        self.held = 0

    def put(self, key: object, value: bytes) -> None:
        """Remember ``value`` (unless it alone is over a quarter of the budget), forgetting the
        least recently used entries until the total fits."""
        if len(value) > self.max_bytes // 4:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.held -= len(old)
        self._items[key] = value
        self.held += len(value)
        while self.held > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.held -= len(dropped)


# COUNT(*) of a list query: milliseconds on a large account, on every page request.
COUNTS: Lru[int] = Lru(4096)
# A whole list page as answered (the collection endpoints): a reader that asks for the same
# page again before the account changes (polling, a dashboard, several workers of one sync)
# gets the bytes without a query or a rendering. The key holds the request's URL, link base,
# accounts and their data versions; 32 MiB at most.
PAGES = SizedLru(32 * 1024 * 1024)
