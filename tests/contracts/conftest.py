"""The contract room: each seed's client, written from the seed's own text, against the real
API, Temporal dev server, worker and scripted model of the integration room.

The fixtures are the integration room's own (tests/integration/conftest.py), imported so both
rooms build their stack the same way. Run alone (`uv run pytest tests/contracts`), this room
starts one stack; in a full run it starts its own, as pytest scopes fixtures by conftest.
"""

from __future__ import annotations

from tests.integration.conftest import (
    base_url,
    client,
    data_dir,
    fake_llm,
    llm,
    run_id,
    settings,
    temporal_server,
    worker,
)

__all__ = [
    "base_url",
    "client",
    "data_dir",
    "fake_llm",
    "llm",
    "run_id",
    "settings",
    "temporal_server",
    "worker",
]
