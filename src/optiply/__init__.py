"""A self-hostable implementation of the Optiply Public API v1, with its client."""

__version__ = "0.1.0"
