"""``pip install optiply`` without extras: the client works, and the ``optiply`` command (which
needs the server extra) says so in one line instead of crashing with a traceback.

The extras' packages are hidden from a fresh interpreter by a meta path finder that refuses them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Every top-level module the extras bring (and what they pull in), never the base dependencies.
EXTRAS = (
    "alembic argon2 click multipart psycopg pydantic pydantic_core pydantic_settings "
    "python_multipart rich singer_sdk sqlalchemy starlette swagger_ui_bundle typer uvicorn "
    "zstandard"
).split()

HIDE = textwrap.dedent(
    f"""
    import sys

    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {EXTRAS!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_base_install_imports_and_builds_a_client():
    done = run(
        """
        import optiply.jsonapi.errors, optiply.query, optiply.resources
        from optiply.client import OptiplyClient
        import email_validator  # the resources check emails with it
        with OptiplyClient(access_token="t", account_id=1) as client:
            print(type(client).__name__)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OptiplyClient"


def test_the_optiply_command_without_the_server_extra_says_what_to_install():
    done = run("from optiply.cli import main; main()")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "needs the server extra" in lines[0]
    assert "pip install 'optiply[server]'" in lines[0]


def test_the_optiply_command_runs_with_the_server_extra():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv = ['optiply', '--help']\nfrom optiply.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout
