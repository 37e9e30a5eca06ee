"""Fixtures of the target tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from target_support import Run, run_process


@pytest.fixture
def run_target(tmp_path: Path) -> Any:
    """``run_target(config, lines, env=None)``: run the executable on Singer lines."""

    def run(config: dict[str, Any], lines: list[str], env: dict[str, str] | None = None) -> Run:
        return run_process(tmp_path, config, lines, env)

    return run
