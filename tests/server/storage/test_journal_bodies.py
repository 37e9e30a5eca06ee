"""How the journal stores bodies (``storage/journal_writes.py``): large ones compressed, and a
page answered from the page cache stored once for all the rows that carry its key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from optiply.server.storage import journal_writes
from optiply.server.storage.engine import make_engine
from optiply.server.storage.journal_writes import BODY_KEY, decode_body, insert_rows
from optiply.server.storage.migrate import upgrade
from optiply.server.storage.tables import sandbox_requests

PAGE = b'{"data":[' + b",".join(b'{"id":"%d","n":"%d"}' % (i, i * 7) for i in range(3000)) + b"]}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def row(body: bytes, key: object | None) -> dict[str, Any]:
    return {
        BODY_KEY: key,
        "at": datetime.now(UTC),
        "account_id": None,
        "account_ids": None,
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


def stored(engine: sa.Engine) -> list[bytes]:
    with engine.connect() as connection:
        column = sandbox_requests.c.response_body
        return list(connection.scalars(sa.select(column).order_by(sandbox_requests.c.id)))


def test_rows_of_one_page_key_store_its_body_once_and_read_back_whole(
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
    bodies = stored(engine)
    assert bodies[0] == bodies[1] == bodies[3] != bodies[2]
    assert [decode_body(body) for body in bodies] == [
        PAGE.decode(),
        PAGE.decode(),
        other.decode(),
        PAGE.decode(),
    ]
    assert len(bodies[0]) < len(PAGE) // 4  # compressed
