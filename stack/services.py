"""The pieces of `research up` behind one small interface: start, watch, stop.

Temporal and the LLM have their own launchers (also used by the tests); the worker and the API
are plain child processes. Each adapter names its piece and its log for the operator.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from settings import PROJECT_ROOT, Settings
from stack.env import child_env
from stack.llm_server import LlamaServer
from stack.process import ChildProcess, log_tail
from stack.temporal_server import TemporalDevServer


class Service(Protocol):
    name: str
    log_path: Path | None

    def start(self) -> None: ...
    def returncode(self) -> int | None: ...
    def running(self) -> bool: ...
    def stop(self) -> None: ...


@dataclass
class ServerService:
    """Temporal or the LLM: a launcher that waits for its server to answer before returning."""

    server: TemporalDevServer | LlamaServer
    name: str
    ready_timeout_s: float

    @property
    def log_path(self) -> Path | None:
        return self.server.log_path

    def start(self) -> None:
        self.server.start(timeout=self.ready_timeout_s)

    def returncode(self) -> int | None:
        return self.server.returncode

    def running(self) -> bool:
        return self.server.running()

    def stop(self) -> None:
        self.server.stop()


@dataclass
class ChildService:
    child: ChildProcess

    @property
    def name(self) -> str:
        return self.child.name

    @property
    def log_path(self) -> Path | None:
        return self.child.log_path

    def start(self) -> None:
        self.child.start()

    def returncode(self) -> int | None:
        return self.child.returncode

    def running(self) -> bool:
        return self.child.running()

    def stop(self) -> None:
        self.child.stop()


def build_services(settings: Settings, *, run_llm: bool) -> list[Service]:
    """The stack's pieces in start order, from settings already prepared by `stack_settings`."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = child_env(settings, os.environ)
    services: list[Service] = [
        ServerService(
            TemporalDevServer(
                port=settings.temporal_port,
                ui_port=settings.ui_port,
                db_path=settings.temporal_db_path,
                log_path=logs / "temporal.log",
                namespace=settings.temporal_namespace,
                ui_codec_endpoint=codec_endpoint(settings),
            ),
            name="temporal",
            ready_timeout_s=60.0,
        )
    ]
    if run_llm:
        llm = LlamaServer.from_settings(settings, log_path=logs / "llm.log")
        services.append(ServerService(llm, name="llm", ready_timeout_s=120.0))
    worker = [sys.executable, "-m", "worker"]
    api = [sys.executable, "-m", "uvicorn", "api.main:app"]
    api += ["--host", settings.api_host, "--port", str(settings.api_port)]
    for name, cmd in (("worker", worker), ("api", api)):
        child = ChildProcess(name, cmd, log_path=logs / f"{name}.log", env=env, cwd=PROJECT_ROOT)
        services.append(ChildService(child))
    return services


def codec_endpoint(settings: Settings) -> str | None:
    """The API's codec server as the Web UI (a browser on this machine) reaches it, when a
    payload key is set; None leaves the Web UI showing payloads as the server holds them."""
    if settings.payload_key is None:
        return None
    host = settings.api_host
    # A wildcard bind is not an address a browser can call.
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}/codec"


def dead_service(services: list[Service]) -> Service | None:
    return next((s for s in services if s.returncode() is not None), None)


def death_notice(service: Service) -> str:
    """Which piece died and how, with the end of its log: usually the reason."""
    code = service.returncode()
    how = f"exited with code {code}"
    if code is not None and code < 0:
        # Popen reports death by signal as a negative number; the name says more.
        how = f"was killed by {signal.Signals(-code).name}"
    return f"{service.name} {how}; last lines of {service.log_path}:\n{log_tail(service.log_path)}"


def is_child(service: Service) -> bool:
    """True for the worker and the API: spawned, with no readiness of their own to wait for."""
    return isinstance(service, ChildService)
