"""The ``optiply`` command (``optiply.cli.main``); ``main`` is its installed entry point.

The command needs the server extra (``pip install 'optiply[server]'``): ``pip install optiply``
alone installs the client, and the entry point then says so in one line instead of a traceback.
"""

from __future__ import annotations

import sys

_EXTRA_HINT = "pip install 'optiply[server]'"


def main() -> None:
    """Run the ``optiply`` command, or explain in one line which extra it needs."""
    try:
        from optiply.cli.main import app
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if not missing or missing in ("optiply", "target_optiply"):
            raise
        sys.stderr.write(
            f"optiply: the optiply command needs the server extra ({missing} is not installed): "
            f"{_EXTRA_HINT}\n"
        )
        raise SystemExit(1) from None
    app()
