"""Fixtures of the target tests.

``login`` is overridden here: a login on the server that offers the extensions (atomic
batches, ``Idempotency-Key``, ``filter[remoteId]``; the target uses them). The tests of the
modules in ``TWICE`` run a second time against ``optiply serve --no-extensions`` (the hosted
API's behaviour: one request per record, read-back after an ambiguous POST): the end-to-end
runs, the exactly-once rules and the request counts, not every test (each run of the target
costs a process).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_support import Run, run_in_process

from live import LiveServer, Login, make_login
from optiply.server.settings import Settings

TWICE = frozenset(
    {
        "test_end_to_end",
        "test_sandbox_faults",
        "test_ambiguous_writes",
        "test_orders",
        "test_systemic_stops",
    }
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "login" in metafunc.fixturenames and module in TWICE:
        metafunc.parametrize("login", ["extensions", "v1"], indirect=True)


@pytest.fixture
def run_target(tmp_path: Path) -> Any:
    """``run_target(config, lines, env=None)``: run the target's command on Singer lines (in
    this process; ``target_support.run_process`` runs the executable)."""

    def run(config: dict[str, Any], lines: list[str], env: dict[str, str] | None = None) -> Run:
        return run_in_process(tmp_path, config, lines, env)

    return run


@pytest.fixture(scope="session")
def plain_servers(database_urls: dict[str, str]) -> Iterator[dict[str, LiveServer]]:
    """Per backend, a server with the extensions off (started on first use)."""
    started: dict[str, LiveServer] = {}
    yield started
    for live in started.values():
        live.stop()


@pytest.fixture
def login(
    request: pytest.FixtureRequest,
    server: LiveServer,
    plain_servers: dict[str, LiveServer],
    database_urls: dict[str, str],
) -> Login:
    """A fresh login, on the server with extensions or on its ``--no-extensions`` twin (the
    same database)."""
    if getattr(request, "param", "extensions") == "extensions":
        return make_login(server)
    url = server.settings.database_url
    backend = next(name for name, value in database_urls.items() if value == url)
    if backend not in plain_servers:
        settings = Settings(database_url=url, journal=True, extensions=False)
        plain_servers[backend] = LiveServer(settings).start()
    return make_login(plain_servers[backend])
