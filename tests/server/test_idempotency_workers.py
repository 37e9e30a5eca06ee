"""Two requests with one Idempotency-Key at the same moment, on ``optiply serve --workers 2``
(one worker's event loop would serialise them): the workers agree on one write.

The first request is held inside its transaction by a lock the test takes on the database
(PostgreSQL: the account's row, which every write locks first; SQLite: the database's write
lock), so it is in flight for as long as the test wants. Then, on PostgreSQL the second request
is refused at once with 409 and a third, after the first ended, is replayed; on SQLite, which
has one writer, the second waits for the first and is replayed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import web
from live import JSONAPI, LiveServer, Login, make_login

REPLAYED = "idempotent-replayed"


def send(base: str, login: Login, key: str, name: str) -> httpx.Response:
    """POST a product with ``key`` on a connection of its own."""
    headers = {"Authorization": f"Bearer {login.access_token}", "Content-Type": JSONAPI}
    body = {"data": {"type": "products", "attributes": {"name": name, "stockLevel": 1}}}
    headers["Idempotency-Key"] = key
    with web.Client(base_url=f"{base}/v1", headers=headers, timeout=30) as client:
        return client.post("/products", json=body)


def in_thread(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def names(login: Login, name: str) -> list[str]:
    with login.client() as api:
        rows = api.get("/products", params={"filter[name]": name}).json()["data"]
    return [row["attributes"]["name"] for row in rows]


def wait_for_advisory_lock(server: LiveServer, before: int) -> None:
    """Until some session holds one more advisory lock than ``before`` (the first request's
    claim), or 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if advisory_locks(server) > before:
            return
        time.sleep(0.02)
    raise AssertionError("the first request never claimed its key")


def advisory_locks(server: LiveServer) -> int:
    statement = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with server.engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def test_a_key_in_flight_is_refused_409_by_the_other_worker(
    server: LiveServer, two_workers: str, backend_name: str
) -> None:
    if backend_name != "postgresql":
        pytest.skip("SQLite has one writer: the second request waits (next test)")
    login = make_login(server)
    key, name = f"k-{uuid.uuid4()}", f"in flight {uuid.uuid4().hex[:6]}"
    locks_before = advisory_locks(server)
    with holding_the_writes(server, login):
        thread, first = in_thread(lambda: send(two_workers, login, key, name))
        wait_for_advisory_lock(server, locks_before)
        second = send(two_workers, login, key, name)
    thread.join(30)
    assert second.status_code == 409, second.text
    (error,) = second.json()["errors"]
    assert (error["code"], error["source"]) == (
        "IDEMPOTENCY_KEY_IN_USE",
        {"header": "Idempotency-Key"},
    )
    assert first[0].status_code == 201
    third = send(two_workers, login, key, name)
    assert third.status_code == 201 and third.headers[REPLAYED] == "true"
    assert third.content == first[0].content
    assert names(login, name) == [name]


def test_two_requests_with_one_key_make_one_write(
    server: LiveServer, two_workers: str, backend_name: str
) -> None:
    """Both sent while the writes are held, then released: one write. The other request is
    refused 409 while the first is in flight (PostgreSQL), or waits for the database's one
    writer and gets the first one's answer (SQLite; also when one worker took both)."""
    login = make_login(server)
    key, name = f"k-{uuid.uuid4()}", f"together {uuid.uuid4().hex[:6]}"
    with holding_the_writes(server, login):
        threads = [in_thread(lambda: send(two_workers, login, key, name)) for _ in range(2)]
        time.sleep(0.5)
    answers = []
    for thread, answer in threads:
        thread.join(30)
        answers += answer
    answers.sort(key=lambda a: (a.status_code, a.headers.get(REPLAYED, "")))
    written, other = answers
    assert written.status_code == 201 and REPLAYED not in written.headers
    if other.status_code == 409:
        assert backend_name == "postgresql"
        assert other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    else:
        assert other.status_code == 201 and other.headers[REPLAYED] == "true"
        assert other.content == written.content
    assert names(login, name) == [name]


@contextmanager
def holding_the_writes(server: LiveServer, login: Login) -> Iterator[None]:
    """Hold what the account's writes wait for until the block ends: PostgreSQL the account's
    row (every write locks it first), SQLite the database's write lock."""
    url = make_url(server.settings.database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with server.engine.connect() as connection:
        lock = text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE")
        connection.execute(lock, {"id": login.account_id})
        try:
            yield
        finally:
            connection.rollback()


@pytest.fixture
def backend_name(server: LiveServer) -> str:
    return make_url(server.settings.database_url).get_backend_name()
