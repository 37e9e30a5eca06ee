"""The journal's writer in a process of its own (``sandbox.journal_process``): fed through a
pipe, each page-cache answer sent once, started again when it dies, finishing its work when the
server stops, and never given a secret on its command line."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import web
from live import LiveServer, Login, make_login, serve_workers
from optiply.server.sandbox.journal import WRITER_NICE, JournalWriter
from optiply.server.sandbox.journal_process import SHARED, JournalProcess, open_writer
from optiply.server.storage.checkpoints import checkpointer_for
from optiply.server.storage.engine import make_engine
from optiply.server.storage.tables import sandbox_requests


def writer_of(server: LiveServer) -> JournalProcess:
    journal = server.app.state.journal
    assert isinstance(journal, JournalProcess)
    return journal


def test_the_writer_is_a_child_process_of_the_server(server: LiveServer, login: Login) -> None:
    writer = writer_of(server)
    assert writer.pid is not None and writer.pid != os.getpid()
    assert Path(f"/proc/{writer.pid}").exists() or not Path("/proc").exists()
    with login.client() as api:
        assert api.get("/products").status_code == 200
    assert [r["path"] for r in login.journal(accountId=login.account_id)] == ["/v1/products"]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts threads in /proc")
def test_a_server_answers_once_its_writer_is_ready(start_server: Any) -> None:
    """The lifespan waits for the writer: its start-up (about a second of CPU on a slow
    machine) is not taken from the first requests."""
    pid = writer_of(start_server()).pid
    assert len(list(Path(f"/proc/{pid}/task").iterdir())) >= 2  # the writer thread runs


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_every_thread_of_the_writer_yields_the_cpu_to_the_server(server: LiveServer) -> None:
    """The writer process reads and writes at ``WRITER_NICE`` below the server (not lower:
    on a busy machine it must still keep up)."""
    pid = writer_of(server).pid
    own = os.getpriority(os.PRIO_PROCESS, os.getpid())
    threads = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    assert len(threads) >= 2
    assert {os.getpriority(os.PRIO_PROCESS, t) for t in threads} == {min(own + WRITER_NICE, 19)}


def test_the_database_url_is_not_on_the_writers_command_line(server: LiveServer) -> None:
    """Any user of the machine can read a command line: the URL (and its password) goes
    through the pipe."""
    pid = writer_of(server).pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return
    arguments = cmdline.read_bytes().split(b"\0")
    database = server.engine.url.database or ""
    assert not [a for a in arguments if database and database.encode() in a]
    assert not [a for a in arguments if b"://" in a]


def test_every_answer_of_pages_seen_again_is_journaled_whole(
    start_server: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """Pages asked again at the edge of what either end remembers: each row holds the very
    answer its request got, and the child never misses an answer the server thinks it holds
    (it would say so on stderr; the storage layer's own memory of encoded pages hides it
    from the rows)."""
    login = make_login(start_server())
    with login.client() as api:
        for index in range(3):
            created = api.post(
                "/products",
                json={
                    "data": {
                        "type": "products",
                        "attributes": {"name": f"Page {index}", "stockLevel": 1},
                    }
                },
            )
            assert created.status_code == 201
        # Exactly as many pages as both ends remember, twice (all found again), then one more
        # than that, twice (each forgotten just before it comes back).
        offsets = [*range(SHARED), *range(SHARED), *range(SHARED + 1), *range(SHARED + 1)]
        answers = [
            api.get("/products", params={"page[limit]": 1, "page[offset]": offset}).content
            for offset in offsets
        ]
    rows = login.journal(accountId=login.account_id, method="GET", limit=len(offsets))
    assert len(rows) == len(offsets)
    assert [row["responseBody"].encode() for row in rows] == answers
    assert "journal:" not in capfd.readouterr().err


def _wait_for(condition: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


def test_a_writer_that_dies_is_started_again(start_server: Any) -> None:
    live: LiveServer = start_server()
    writer = writer_of(live)
    writer.restart_seconds = 0.0  # at once (5 s by default)
    login = make_login(live)
    first = writer.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with login.client() as api:
        # The server learns of the death when it next writes to the pipe.
        _wait_for(lambda: api.get("/products").status_code == 200 and writer.pid != first)
        assert api.get("/products", params={"after": "restart"}).status_code == 200
    rows = login.journal(accountId=login.account_id, limit=1)
    assert rows[-1]["query"] == "after=restart"


def test_what_is_queued_when_the_server_stops_is_written(start_server: Any) -> None:
    live: LiveServer = start_server()
    login = make_login(live)
    pid = writer_of(live).pid
    with login.client() as api:
        for index in range(20):
            assert api.get("/products", params={"n": index}).status_code == 200
    live.stop()  # no flush first
    assert pid is not None
    _wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid))
    with live.engine.connect() as connection:
        queries = connection.execute(
            select(sandbox_requests.c.query).where(
                sandbox_requests.c.account_id == login.account_id,
                sandbox_requests.c.path == "/v1/products",
            )
        ).scalars()
        assert sorted(queries) == sorted(f"n={index}" for index in range(20))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_a_flush_waits_for_the_rows_of_every_request_before_it(login: Login) -> None:
    """``flush`` (what tests and benchmarks call) returns once the child wrote what came before."""
    writer = writer_of(login.server)
    with login.client() as api:
        for index in range(50):
            assert api.get("/products", params={"flush": index}).status_code == 200
    assert writer.flush()
    with login.server.engine.connect() as connection:
        count = len(
            connection.execute(
                select(sandbox_requests.c.id).where(
                    sandbox_requests.c.account_id == login.account_id
                )
            ).all()
        )
    assert count == 50


def test_a_server_without_requests_stops_at_once(start_server: Any) -> None:
    live: LiveServer = start_server()
    started = time.monotonic()
    live.stop()
    assert time.monotonic() - started < 5


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux's /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo += children.get(current, [])
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree in /proc")
def test_ctrl_c_to_the_whole_process_group_loses_no_row(start_server: Any, tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the server, its workers and their writers at once: the
    writers still write every request the workers answered. (Signals and pipes: SQLite only.)"""
    server: LiveServer = start_server()
    login = make_login(server)
    with serve_workers(
        server.settings.database_url,
        log=tmp_path / "serve.log",
        env={"OPTIPLY_PASSWORD_HASH_PROFILE": "test"},
    ) as served:
        headers = {"Authorization": f"Bearer {login.access_token}"}
        for index in range(40):  # fresh connections: both workers answer some
            answer = web.get(f"{served.url}/v1/products", params={"c": index}, headers=headers)
            assert answer.status_code == 200
        tree = _tree(served.process.pid)
        writers = [p for p in tree if b"journal_process" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(writers) == 2  # one per worker
        for pid in tree:
            os.kill(pid, signal.SIGINT)
        assert served.process.wait(30) == 0
        _wait_for(lambda: all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in tree))
    with server.engine.connect() as connection:
        queries = connection.execute(
            select(sandbox_requests.c.query).where(
                sandbox_requests.c.account_id == login.account_id
            )
        ).scalars()
        assert sorted(queries) == sorted(f"c={index}" for index in range(40))


def test_a_database_in_the_servers_memory_keeps_the_writer_thread(tmp_path: Path) -> None:
    """No other process can open an in-memory SQLite database: its server writes the journal
    from a thread, and has no checkpoints to make."""
    memory = make_engine("sqlite://")
    assert isinstance(open_writer(memory, keep=10), JournalWriter)
    assert checkpointer_for(memory) is None
    on_disk = make_engine(f"sqlite:///{tmp_path / 'file.db'}")
    assert isinstance(open_writer(on_disk, keep=10), JournalProcess)
    assert checkpointer_for(on_disk) is not None
