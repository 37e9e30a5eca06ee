"""Fixtures of the target tests.

``login`` is overridden here: every target test that takes it runs twice, against a server
that offers the extensions (atomic batches, ``Idempotency-Key``, ``filter[remoteId]``; the
target uses them) and against ``optiply serve --no-extensions`` (the hosted API's behaviour:
one request per record, read-back after an ambiguous POST).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_support import Run, run_process

from live import LiveServer, Login, make_login
from optiply.server.settings import Settings


@pytest.fixture
def run_target(tmp_path: Path) -> Any:
    """``run_target(config, lines, env=None)``: run the executable on Singer lines."""

    def run(config: dict[str, Any], lines: list[str], env: dict[str, str] | None = None) -> Run:
        return run_process(tmp_path, config, lines, env)

    return run


@pytest.fixture(scope="session")
def plain_servers(database_urls: dict[str, str]) -> Iterator[dict[str, LiveServer]]:
    """Per backend, a server with the extensions off (started on first use)."""
    started: dict[str, LiveServer] = {}
    yield started
    for live in started.values():
        live.stop()


@pytest.fixture(params=["extensions", "v1"])
def login(
    request: pytest.FixtureRequest,
    server: LiveServer,
    plain_servers: dict[str, LiveServer],
    database_urls: dict[str, str],
) -> Login:
    """A fresh login, on the server with extensions or on its ``--no-extensions`` twin (the
    same database)."""
    if request.param == "extensions":
        return make_login(server)
    url = server.settings.database_url
    backend = next(name for name, value in database_urls.items() if value == url)
    if backend not in plain_servers:
        settings = Settings(database_url=url, journal=True, extensions=False)
        plain_servers[backend] = LiveServer(settings).start()
    return make_login(plain_servers[backend])
