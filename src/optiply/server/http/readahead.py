"""Read-ahead of list walks: the next page made while the client reads this one.

A client walking a list by ``links.next`` (an export, a tap, a sync) spends as long reading a
page as the server spends making it, and the server sits idle meanwhile. After answering a list
page that has a next link, the server makes that next page once it has nothing else to do, and
keeps it in the page cache (``storage.caches.PAGES``) under the key the client's request for it
will have: the same URL, link base and accounts, and the accounts' data versions as this
request read them with its token, before the page's rows are read (so the page is at least as
new as its key says). The request itself then goes through everything as
before (sandbox controls, the token, its scopes, the account scope: all before the cache is
looked at) and is answered from the cache only if nothing was committed in its accounts since:
a write in between changes the versions, so the key, and the page is made anew. Nothing stale,
on any worker.

Speculative work is only done when the process is idle: a page is read ahead only when no
request is in flight (``Idle``), one page ahead, and never again for a page already cached. A
page answered from a read-ahead page reads its own next page ahead, so a walk stays one page
ahead of its client. ``--no-read-ahead`` (``OPTIPLY_READ_AHEAD=false``) turns it off.

A page answered from the cache says so in ``Server-Timing`` (``cache;desc="hit"``, or
``"read-ahead"`` for a page this module made).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from optiply.server.storage.caches import Lru

logger = logging.getLogger(__name__)

Made = tuple[object, str | None]
"""A page made ahead: its cache key and its own next link (None at the end of the list)."""

HIT = (b"server-timing", b'cache;desc="hit"')
AHEAD = (b"server-timing", b'cache;desc="read-ahead"')


class Idle:
    """Pure-ASGI middleware counting the HTTP requests in flight in this process."""

    def __init__(self, app: ASGIApp, read_ahead: ReadAhead) -> None:
        self.app = app
        self.read_ahead = read_ahead

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.read_ahead.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.read_ahead.in_flight -= 1


class ReadAhead:
    """Schedules the making of next pages, and remembers which cached pages it made."""

    def __init__(self) -> None:
        self.in_flight = 0  # kept by ``Idle``
        self._made: Lru[tuple[str | None]] = Lru(4096)  # page key -> (its next link,)

    def made(self, key: object) -> tuple[str | None] | None:
        """``(next link,)`` when the cached page under ``key`` was read ahead, else None."""
        return self._made.get(key)

    def after(self, response: Response, make: Callable[[], Made | None]) -> None:
        """Once ``response`` is sent and the process is idle, run ``make`` (which makes and
        caches a page, returning its key and next link, or None when there was nothing to do).
        """
        response.background = BackgroundTask(self._schedule, make)

    async def _schedule(self, make: Callable[[], Made | None]) -> None:
        # Not here: this runs inside the request (its journal time, the Idle count). Next turn.
        asyncio.get_running_loop().call_soon(self._run, make)

    def _run(self, make: Callable[[], Made | None]) -> None:
        if self.in_flight:
            return
        try:
            made = make()
        except Exception as error:  # a page that can't be made now is made by its request
            logger.warning("read-ahead failed: %s", type(error).__name__)
            return
        if made is not None:
            key, following = made
            self._made.put(key, (following,))
