"""``scripts/install`` says what it installs, shows progress on a terminal, and is idempotent.

It runs on a copy of the script in a scratch project with no dependencies and its own build
backend, offline: the only wheel pip needs (pip itself) is bundled with Python's ``ensurepip``.
"""

from __future__ import annotations

import ensurepip
import hashlib
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from live import REPO, process_env

BUNDLED = Path(ensurepip.__file__).parent / "_bundled"
PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "scratch"
version = "0"
"""
# A PEP 517/660 build backend in the project itself, so pip needs nothing from an index.
BACKEND = """\
import pathlib, zipfile

NAME = "scratch-0"
FILES = {
    NAME + ".dist-info/METADATA": "Metadata-Version: 2.1\\nName: scratch\\nVersion: 0\\n"
    "Provides-Extra: dev\\n",
    NAME + ".dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\n"
    "Tag: py3-none-any\\n",
    "scratch.pth": str(pathlib.Path(__file__).parent) + "\\n",
}


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = NAME + "-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w") as wheel:
        for path, text in FILES.items():
            wheel.writestr(path, text)
        wheel.writestr(NAME + ".dist-info/RECORD", "".join(p + ",,\\n" for p in FILES))
    return name


build_wheel = build_editable
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if not any(BUNDLED.glob("pip-*.whl")):
        pytest.skip("this Python has no bundled pip wheel to install offline from")
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "install", tmp_path / "scripts" / "install")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "backend.py").write_text(BACKEND)
    return tmp_path


def _env() -> dict[str, str]:
    return process_env(
        PYTHON=sys.executable,
        PIP_CONFIG_FILE=os.devnull,  # this machine's pip configuration stays out
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(BUNDLED),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )


def _install(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(project / "scripts" / "install")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )


def _install_on_a_terminal(project: Path) -> tuple[int, str]:
    """Run the script with stdout and stderr on a pseudo-terminal; its exit code and output."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(project / "scripts" / "install")],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=_env(),
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(300), b"".join(chunks).decode()


def test_a_first_install_says_what_it_does_then_a_second_does_nothing(project: Path) -> None:
    first = _install(project)

    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # stdout stays free for the command that runs next
    lines = first.stderr.splitlines()
    assert lines[:4] == [
        "Installing optiply and its dependencies into .venv (first run, about a minute)...",
        "  creating the virtual environment .venv",
        "  upgrading pip",
        "  installing optiply with its server, PostgreSQL, target and development extras",
    ]
    assert lines[-1].startswith("Installed in ")
    assert "\r" not in first.stderr  # no terminal: stage lines only
    stamp = (project / ".venv" / ".optiply-install-stamp").read_text().strip()
    assert stamp == hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()
    assert (project / ".venv" / "bin" / "python").exists()

    second = _install(project)

    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")


def test_a_changed_pyproject_reinstalls_with_progress_on_a_terminal(project: Path) -> None:
    assert _install(project).returncode == 0
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# changed\n")

    status, output = _install_on_a_terminal(project)

    assert status == 0, output
    assert output.startswith("pyproject.toml changed: updating .venv")
    assert "creating the virtual environment" not in output
    assert "\r\x1b[K    installing packages: 1" in output  # pip's progress, one rewritten line
    assert "Successfully installed" not in output  # pip's own chatter stays hidden
    assert output.splitlines()[-1].strip("\r\x1b[K").startswith("Installed in ")
    assert _install(project).stderr == ""
