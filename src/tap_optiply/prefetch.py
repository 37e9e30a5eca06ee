"""Streams read ahead of their output, a bounded number at a time.

The SDK writes one stream after the other; ``Prefetch`` reads them concurrently meanwhile. Each
stream's walk runs on a thread of its own and hands pages to the writer through a queue of a
few pages, so the API's latency hides behind writing and at most ``depth`` pages per stream
wait in memory. At most ``concurrency`` walks run at once, started in output order (a walk ends
and the next one starts): the stream being written has always started, so a walk waiting for
room in its queue can never hold up the one being written.

>>> prefetch = Prefetch({"a": lambda: iter([1, 2]), "b": lambda: iter([3])}, concurrency=1)
>>> list(prefetch.take("a")), list(prefetch.take("b"))
([1, 2], [3])
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetch:
    """Runs each named producer on a thread, ``concurrency`` at a time, in the given order."""

    def __init__(
        self,
        producers: Mapping[str, Callable[[], Iterable[Any]]],
        *,
        concurrency: int,
        depth: int = 4,
    ) -> None:
        self._order = list(producers)
        self._producers = dict(producers)
        self._queues: dict[str, queue.Queue[Any]] = {
            name: queue.Queue(maxsize=depth) for name in self._order
        }
        self._lock = threading.Lock()
        self._next = 0
        self._closed = threading.Event()
        self._abandoned: set[str] = set()  # streams whose reader stopped early
        for _ in range(min(concurrency, len(self._order))):
            self._start_next()

    def _start_next(self) -> None:
        with self._lock:
            if self._next >= len(self._order) or self._closed.is_set():
                return
            name = self._order[self._next]
            self._next += 1
        thread = threading.Thread(
            target=self._run, args=(name,), name=f"tap-optiply {name}", daemon=True
        )
        thread.start()

    def _put(self, name: str, item: Any) -> bool:
        """Queue ``item``, waiting for room; False once the prefetch is closed."""
        target = self._queues[name]
        while not self._closed.is_set() and name not in self._abandoned:
            try:
                target.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, name: str) -> None:
        try:
            for item in self._producers[name]():
                if not self._put(name, item):
                    return
            self._put(name, _END)
        except BaseException as error:  # handed to the writer, raised there
            self._put(name, _Failed(error))
        finally:
            self._start_next()

    def take(self, name: str) -> Iterator[Any]:
        """The items of ``name``'s producer, in order; its error is raised here."""
        source = self._queues[name]
        try:
            while True:
                item = source.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            self._abandoned.add(name)  # its walk stops at its next page, if still running

    def close(self) -> None:
        """Stop every walk at its next page (threads end on their own)."""
        self._closed.set()
