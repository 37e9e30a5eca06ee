"""``scripts/optiply``: the checkout's ``optiply`` command, from any directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from live import REPO, process_env


def test_scripts_optiply_runs_the_cli_in_the_callers_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO / "scripts" / "optiply"), "accounts", "create", "--name", "Shop", "--json"],
        cwd=tmp_path,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "Shop"  # install progress went to stderr
    assert (tmp_path / "optiply.db").exists()  # the default database is the caller's, as usual
