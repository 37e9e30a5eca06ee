"""How the journal stores bodies (``storage/journal_writes.py``): large ones compressed, and a
page answered from the page cache kept once (``sandbox_bodies``) for all the rows that carry
its key, until no row points at it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from optiply.server.storage import journal_writes
from optiply.server.storage.journal import JournalFilter, Visible, get_request, select_requests
from optiply.server.storage.journal_writes import BODY_KEY, insert_rows, prune
from optiply.server.storage.tables import sandbox_bodies, sandbox_requests

PAGE = b'{"data":[' + b",".join(b'{"id":"%d","n":"%d"}' % (i, i * 7) for i in range(3000)) + b"]}"


@pytest.fixture
def engine(storage_engine: sa.Engine) -> sa.Engine:
    """A database (SQLite, and PostgreSQL when configured) with an empty journal."""
    with storage_engine.begin() as connection:
        connection.execute(sa.delete(sandbox_requests))
        connection.execute(sa.delete(sandbox_bodies))
    return storage_engine


def row(body: bytes, key: object | None, *, account: int = 1, age: float = 0) -> dict[str, Any]:
    return {
        BODY_KEY: key,
        "at": datetime.now(UTC) - timedelta(seconds=age),
        "account_id": account,
        "account_ids": f",{account},",
        "method": "GET",
        "path": "/v1/products",
        "resource": "products",
        "query": "",
        "status": 200,
        "duration_ms": 1.0,
        "client_id": None,
        "username": None,
        "request_headers": "{}",
        "request_body": b"",
        "request_truncated": False,
        "response_body": body,
        "response_truncated": False,
        "error_code": None,
        "fault": None,
    }


def read_back(engine: sa.Engine, account: int = 1) -> list[str]:
    """The response bodies of the account's rows, oldest first, as the journal's readers see
    them."""
    with engine.connect() as connection:
        found = select_requests(connection, Visible((account,)), JournalFilter(limit=1000))
        one = get_request(connection, Visible((account,)), found[0]["id"]) if found else None
    assert one is None or one["responseBody"] == found[0]["responseBody"]
    return [item["responseBody"] for item in found]


def stored(engine: sa.Engine) -> tuple[list[tuple[bytes, bytes | None]], list[bytes]]:
    """(each row's own response body and digest, the shared bodies)."""
    t, b = sandbox_requests, sandbox_bodies
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(t.c.response_body, t.c.response_digest).order_by(t.c.id)
        ).all()
        shared = list(connection.scalars(sa.select(b.c.body).order_by(b.c.used_at)))
    return [(body, digest) for body, digest in rows], shared


def test_rows_of_one_page_key_keep_its_body_once_compressed_and_read_back_whole(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    compress = journal_writes._compress

    def counting(large: list[tuple[list[Any], int]]) -> None:
        calls.append(len(large))
        compress(large)

    monkeypatch.setattr(journal_writes, "_compress", counting)
    other = PAGE.replace(b'"n"', b'"m"')
    key = ("page", object())
    assert insert_rows(engine, [row(PAGE, key), row(PAGE, key), row(other, None)]) == 3
    assert insert_rows(engine, [row(PAGE, key)]) == 1
    assert calls == [2, 0]  # the keyed page once, the unkeyed one; then nothing
    rows, shared = stored(engine)
    assert len(shared) == 1 and len(shared[0]) < len(PAGE) // 4  # once, compressed
    assert [digest is not None for _, digest in rows] == [True, True, False, True]
    assert rows[0] == rows[1] == rows[3] == (b"", rows[0][1])  # no copy in the rows
    assert len(rows[2][0]) < len(PAGE) // 4
    assert read_back(engine) == [PAGE.decode(), PAGE.decode(), other.decode(), PAGE.decode()]


def test_a_shared_body_is_kept_per_account(engine: sa.Engine) -> None:
    insert_rows(engine, [row(PAGE, ("page", 1), account=1), row(PAGE, ("page", 2), account=2)])
    rows, shared = stored(engine)
    assert len(shared) == 2 and rows[0][1] != rows[1][1]
    assert read_back(engine, 1) == read_back(engine, 2) == [PAGE.decode()]


def test_pruning_drops_a_shared_body_once_no_kept_row_points_at_it(engine: sa.Engine) -> None:
    old, new = PAGE.replace(b'"n"', b'"o"'), PAGE
    age = journal_writes.KEEP_SHARED + 60
    insert_rows(engine, [row(old, ("old",), age=age + 2), row(old, ("old",), age=age + 1)])
    insert_rows(engine, [row(new, ("new",), age=age), row(new, ("new",), age=age)])
    assert len(stored(engine)[1]) == 2
    assert prune(engine, [1], 2) == 2  # the two rows of the old page go, and so does its body
    assert stored(engine)[1] == [stored(engine)[1][0]] and read_back(engine) == [new.decode()] * 2
    assert prune(engine, [1], 1) == 1  # a row of the new page is kept: its body stays
    assert len(stored(engine)[1]) == 1 and read_back(engine) == [new.decode()]


def test_a_body_written_with_recently_is_kept_even_when_no_row_points_at_it(
    engine: sa.Engine,
) -> None:
    """Another process may be about to write rows that point at it (separate statements)."""
    insert_rows(engine, [row(PAGE, ("page",)), row(PAGE.replace(b'"n"', b'"o"'), None)])
    assert prune(engine, [1], 1) == 1  # the keyed row goes; its body was used just now
    assert len(stored(engine)[1]) == 1
