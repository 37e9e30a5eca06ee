"""``python -m target_optiply``."""

from target_optiply.target import TargetOptiply

TargetOptiply.cli()
