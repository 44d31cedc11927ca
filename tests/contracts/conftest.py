"""The contract tests use the integration room's fixtures: the Temporal dev server, the scripted
LLM, the worker and the API on a real port (tests/integration/conftest.py)."""

from tests.integration.conftest import *  # noqa: F403
