"""Process-wide tweaks are the ``target-optiply`` program's call (``target_optiply.process``),
never a side effect of importing the client; with them, ``import httpx`` skips httpx's CLI
(rich, pygments), which still works. (The last two belong with the target's tests.)"""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_client_changes_nothing_process_wide():
    done = run(
        "import logging, sys, optiply.client\n"
        "main = sys.modules.get('httpx._main')\n"
        "print(logging.getLogger('httpx').level, main is None or hasattr(main, '__file__'))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True"]


def test_the_program_starts_the_client_without_httpx_cli_dependencies():
    done = run(
        "import sys\n"
        "import target_optiply.process\n"
        "import optiply.client\n"
        "print(sorted({'rich', 'pygments'} & set(sys.modules)))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_httpx_main_still_loads_the_real_cli_on_first_call():
    done = run("import target_optiply.process, optiply.client, httpx; httpx.main(['--help'])")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout and "--method" in done.stdout
