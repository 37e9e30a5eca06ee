"""``python -m tap_optiply``."""

from tap_optiply.tap import TapOptiply

TapOptiply.cli()
