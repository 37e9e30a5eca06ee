"""Importing the client does not import httpx's CLI (rich, pygments), which still works."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_client_starts_without_httpx_cli_dependencies():
    done = run("import sys, optiply.client; print(sorted({'rich', 'pygments'} & set(sys.modules)))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_httpx_main_still_loads_the_real_cli_on_first_call():
    done = run("import optiply.client, httpx; httpx.main(['--help'])")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout and "--method" in done.stdout
