"""target-optiply: a Singer target writing to the Optiply Public API v1 (and this server)."""

from target_optiply.target import TargetOptiply

__all__ = ["TargetOptiply"]
