"""Keep ``import httpx`` from importing httpx's command-line tool.

``httpx/__init__.py`` imports ``httpx._main`` (its ``httpx`` CLI: click, rich, pygments) as soon
as those are installed: 60 ms of the ~0.5 s a ``target-optiply`` run takes to start, for a tool
no client uses. Before httpx is first imported we register a stand-in for ``httpx._main``
whose ``main`` loads the real one on first call, so ``httpx.main()`` still works.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def defer() -> None:
    """Register the stand-in, unless httpx is imported already."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "Loads httpx's CLI on first use.")

    def main(*args: Any, **kwargs: Any) -> Any:
        if sys.modules.get("httpx._main") is stand_in:
            del sys.modules["httpx._main"]
        real = importlib.import_module("httpx._main")
        return real.main(*args, **kwargs)

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


defer()
