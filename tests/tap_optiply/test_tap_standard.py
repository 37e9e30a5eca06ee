"""The Meltano Singer SDK's standard tap tests, run against a live server of ours.

The SDK builds its test class at import time (the stream and attribute tests are generated
from the tap's streams, which need no credentials); the runner is replaced by one whose config
points at a fresh login holding the small shop (``tests/small_shop.py``: rows of every type),
so each stream's tests see real records: schemas, types, primary keys and non-null columns are
checked against what the server renders.
"""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner
from tap_support import tap_config

from live import LiveServer, make_login
from small_shop import build
from tap_optiply.tap import TapOptiply

_Standard = get_tap_test_class(TapOptiply, config={})


class TestTapOptiplyStandard(_Standard):  # type: ignore[misc, valid-type]
    """Every standard test, with a config pointing at a fresh login on the live server."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, server: LiveServer) -> Any:
        login = make_login(server)
        build(server.engine, login.account_id, coupling=None)
        runner = TapTestRunner(
            tap_class=TapOptiply, config=tap_config(login, settle_seconds=0, page_size=2)
        )
        runner.sync_all()
        return runner
