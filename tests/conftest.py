"""Shared fixtures: a live server on a real socket, over SQLite and (when configured) PostgreSQL.

One server runs per database backend and test session; tests isolate themselves by creating
their own account, user and OAuth client (``login``), which also exercises tenancy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

# Cheap (still Argon2id) password hashes: the suite creates a user per test.
os.environ.setdefault("OPTIPLY_PASSWORD_HASH_PROFILE", "test")

import httpx
import pytest

from live import (
    BACKENDS,
    POSTGRES_URL,
    LiveServer,
    Login,
    drop_postgres_database,
    fresh_postgres_database,
    make_login,
)
from optiply.server.settings import Settings
from optiply.server.storage.engine import make_engine
from optiply.server.storage.migrate import upgrade


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One empty, migrated database per backend for this test session (and xdist worker)."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'optiply.db'}"}
    cleanup = []
    if POSTGRES_URL:
        url, admin_engine = fresh_postgres_database(POSTGRES_URL)
        urls["postgresql"] = url
        cleanup.append((url, admin_engine))
    for url in urls.values():
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    yield urls
    for url, admin_engine in cleanup:
        drop_postgres_database(url, admin_engine)


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> Iterator[LiveServer]:
    """The live server of one backend; tests using it run once per backend."""
    # The journal is on in every test server: the whole suite exercises it.
    live = LiveServer(Settings(database_url=database_urls[request.param], journal=True)).start()
    yield live
    live.stop()


@pytest.fixture
def start_server(database_urls: dict[str, str]) -> Iterator[Any]:
    """Start an extra server with custom settings on the SQLite database: ``start_server(**kw)``."""
    started: list[LiveServer] = []

    def start(backend: str = "sqlite", **overrides: Any) -> LiveServer:
        settings = {"journal": True, **overrides}
        live = LiveServer(Settings(database_url=database_urls[backend], **settings)).start()
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


@pytest.fixture
def new_login() -> Any:
    """``new_login(server, accounts=1, scopes=(...))``: another fresh login."""
    return make_login


@pytest.fixture
def login(server: LiveServer) -> Login:
    """A fresh single-account login on the live server."""
    return make_login(server)


@pytest.fixture
def api(login: Login) -> Iterator[httpx.Client]:
    """An authenticated JSON:API client for the ``login`` account."""
    with login.client() as client:
        yield client
