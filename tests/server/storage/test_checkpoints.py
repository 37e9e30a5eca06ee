"""SQLite's checkpoints run on a thread of the server, not inside a request's commit
(``storage/checkpoints.py``)."""

from __future__ import annotations

import time
from typing import Any

from live import LiveServer, make_login
from optiply.server.storage.checkpoints import Checkpointer
from optiply.server.storage.engine import BACKSTOP_PAGES


def test_a_sqlite_server_checkpoints_on_a_thread_of_its_own(server: LiveServer) -> None:
    checkpointer = server.app.state.checkpointer
    if server.engine.dialect.name == "sqlite":
        assert isinstance(checkpointer, Checkpointer)
        assert checkpointer._thread.is_alive()
    else:  # PostgreSQL has no such thing to do
        assert checkpointer is None


def test_a_requests_commit_leaves_the_checkpoint_to_that_thread(server: LiveServer) -> None:
    if server.engine.dialect.name != "sqlite":
        return
    with server.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == BACKSTOP_PAGES


def test_the_log_reaches_the_database_file_within_a_second(start_server: Any) -> None:
    live: LiveServer = start_server()
    login = make_login(live)
    checkpointer: Checkpointer = live.app.state.checkpointer
    before = checkpointer.moved
    with login.client() as api:
        for index in range(20):
            document = {"attributes": {"name": f"Checkpoint {index}", "stockLevel": 1}}
            created = api.post("/products", json={"data": {"type": "products", **document}})
            assert created.status_code == 201
    deadline = time.monotonic() + 5
    while checkpointer.moved == before:
        assert time.monotonic() < deadline, "nothing was checkpointed"
        time.sleep(0.05)
