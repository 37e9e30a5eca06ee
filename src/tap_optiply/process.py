"""Process-wide tweaks of the ``tap-optiply`` program, made by its entry point only.

- httpx's command-line module is not imported with httpx (the target's tweak, shared):
  importing this module does it, so ``tap_optiply.tap`` imports it first.
- httpx's per-request INFO lines are silenced (``apply``): a URL per page is noise.
"""

from __future__ import annotations

import logging

from target_optiply.process import defer_httpx_cli


def apply() -> None:
    """The tweaks made when the tap starts."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


defer_httpx_cli()
