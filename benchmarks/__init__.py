"""Benchmarks of the Optiply API server: run them with ``scripts/bench`` (see README.md)."""
