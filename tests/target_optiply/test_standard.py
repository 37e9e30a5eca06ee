"""The Meltano Singer SDK's standard target tests, run against a live server of ours."""

from __future__ import annotations

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from target_support import target_config

from target_optiply.target import TargetOptiply

_Standard = get_target_test_class(TargetOptiply, config={})


class TestTargetOptiplyStandard(_Standard):  # type: ignore[misc, valid-type]
    """Every standard test, with a config pointing at a fresh login on the live server."""

    @pytest.fixture
    def runner(self, login, tmp_path) -> TargetTestRunner:
        return TargetTestRunner(
            target_class=TargetOptiply,
            config=target_config(login, tmp_path),
        )
