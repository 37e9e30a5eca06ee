"""Fixtures of the demo-shop tests."""

from __future__ import annotations

import pytest
from demo_support import Shop, load_small

from live import LiveServer


@pytest.fixture(scope="session")
def shop(server: LiveServer) -> Shop:
    """The small shop (seed 7, sales up to 2026-06-30) in a fresh account, once per backend,
    shared by the tests that only read it (or PATCH rows with their own values)."""
    return load_small(server)
