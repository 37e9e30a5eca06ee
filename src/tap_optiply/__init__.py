"""tap-optiply: a Singer tap reading the Optiply Public API v1 (and this server)."""

from tap_optiply.tap import TapOptiply

__all__ = ["TapOptiply"]
