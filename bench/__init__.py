"""Benchmarks of the service against raw Temporal: `uv run python -m bench all --quick`."""
