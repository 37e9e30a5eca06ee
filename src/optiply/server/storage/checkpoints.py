"""SQLite's checkpoints off the request path: a thread per server process moves the write-ahead
log into the database file twice a second.

SQLite checkpoints inside whichever commit takes the log past ``wal_autocheckpoint`` pages (1,000
by default): a POST's commit, as often as not, blocking the event loop while it copies pages and
syncs the file. Measured in-process (`benchmarks/inprocess.py --only post`), a POST took 1,111 µs
with SQLite's own checkpoints and 849 µs without. The server's connections now checkpoint only
past ``BACKSTOP_PAGES`` (should this thread fall behind), and the ``Checkpointer`` does a PASSIVE
checkpoint (it waits for nobody and blocks nobody) on a connection of its own; SQLite runs it
without the GIL, so the event loop goes on meanwhile.
"""

from __future__ import annotations

import logging
import threading

from optiply.server.storage.engine import in_memory, make_engine
from optiply.server.storage.repository import Engine

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5


class Checkpointer:
    """The thread that checkpoints a SQLite database file every ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = make_engine(engine.url.render_as_string(hide_password=False))
        self.interval = interval
        self.moved = 0  # log frames moved into the database file so far
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.engine.connect() as connection:
                    row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            except Exception:  # a busy or vanished file: the next turn tries again
                logger.debug("sqlite checkpoint failed", exc_info=True)
                continue
            busy, _log, moved = row
            if not busy and moved > 0:
                self.moved += moved


def checkpointer_for(engine: Engine) -> Checkpointer | None:
    """A checkpointer for a server on ``engine``: SQLite database files only."""
    if engine.dialect.name != "sqlite" or in_memory(engine):
        return None
    return Checkpointer(engine)
