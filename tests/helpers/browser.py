"""The browser tests' shared pieces: the system Chromium and an API server that runs inside the
test's event loop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
# The system browser, never one downloaded by `playwright install` (this machine has no internet).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STEP = 30_000  # ms: one workflow step with the scripted LLM takes well under a second

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the system Chromium at /usr/bin/chromium (`apt-get install chromium`; "
    ".ci/run installs it)",
)


class InLoopServer(uvicorn.Server):
    # pytest keeps Ctrl+C: a server inside the test must not take the signal handlers over.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
