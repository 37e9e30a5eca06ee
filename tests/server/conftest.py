"""Fixtures of the server tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from live import LiveServer, serve_workers


@pytest.fixture(scope="module")
def two_workers(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``optiply serve --workers 2`` on the database of ``server``, one per test module and
    backend; yields its base URL. It must log no traceback."""
    with serve_workers(
        server.settings.database_url,
        log=tmp_path_factory.mktemp("workers") / "serve.log",
        env={"OPTIPLY_PASSWORD_HASH_PROFILE": "test"},
    ) as process:
        yield process.url
    assert "Traceback" not in process.log.read_text()
