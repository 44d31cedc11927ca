"""`research up`: Temporal, the local LLM, the worker and the API in one process tree.

Start order is dependency order (Temporal, LLM, worker, API); stop order is the reverse, so
the worker finishes its activity attempts before the servers it talks to go away.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

from rich.console import Console
from rich.markup import escape

from api.auth import AuthConfigError, check_exposure, describe_auth
from settings import Settings
from stack.process import wait_http_ok
from stack.services import Service, build_services, dead_service, death_notice, is_child
from stack.temporal_server import port_open

READY_TIMEOUT_S = 90.0


class StackError(RuntimeError):
    """A piece of the stack failed to start or died; the message says which and why."""


def stop_all(services: list[Service], console: Console) -> None:
    # A second Ctrl+C or SIGTERM must not abandon children half-way; each stop is bounded.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for service in reversed(services):
            if service.running():
                console.print(f"  stopping {service.name}")
                service.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _error(console: Console, text: str) -> None:
    # Escaped: messages and log tails are full of [brackets] that rich would read as markup.
    console.print(f"[red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def start_all(
    settings: Settings, services: list[Service], started: list[Service], console: Console
) -> None:
    """Start each service in order, appending it to `started` first so a failure can stop it."""
    # The API would refuse to start anyway; saying so here names the setting before anything runs.
    try:
        check_exposure(settings)
    except AuthConfigError as exc:
        raise StackError(str(exc)) from exc
    if port_open(settings.api_host, settings.api_port):
        raise StackError(f"port {settings.api_port} is already in use; pick another --api-port")
    for service in services:
        began = time.monotonic()
        started.append(service)
        try:
            service.start()
        except (RuntimeError, TimeoutError, OSError) as exc:
            raise StackError(f"{service.name} failed to start: {exc}") from exc
        # The worker and the API are only spawned here; the API's readiness is checked below.
        done = "started" if is_child(service) else "ready"
        console.print(f"  [green]✓[/] {service.name} {done} ({time.monotonic() - began:.1f}s)")
    began = time.monotonic()
    ready_url = f"http://{settings.api_host}:{settings.api_port}/api/v1/ready"
    try:
        wait_http_ok(
            ready_url,
            timeout=READY_TIMEOUT_S,
            alive=lambda: dead_service(started) is None,
            what="the API",
        )
    except RuntimeError as exc:
        dead = dead_service(started)
        raise StackError(death_notice(dead) if dead else str(exc)) from exc
    except TimeoutError as exc:
        raise StackError(f"{exc}; see {settings.data_dir / 'logs' / 'api.log'}") from exc
    console.print(f"  [green]✓[/] api ready ({time.monotonic() - began:.1f}s)")


def print_ready(settings: Settings, console: Console, seconds: float, run_llm: bool) -> None:
    api = f"http://{settings.api_host}:{settings.api_port}"
    llm = settings.effective_llm_base_url + ("" if run_llm else " (external)")
    console.print(f"\n[bold green]research stack ready[/] in {seconds:.1f}s")
    for label, value in (
        ("API", f"{api}/api/v1"),
        ("API docs", f"{api}/docs"),
        ("Web UI", f"http://127.0.0.1:{settings.ui_port}"),
        ("LLM", f"{llm} ({settings.llm_model})"),
        ("Temporal", settings.temporal_address),
        ("logs", str(settings.data_dir / "logs")),
        ("API auth", describe_auth(settings)),
    ):
        console.print(f"  {label:<9} {escape(value)}")
    console.print("Press Ctrl+C to stop.")


def run_stack(settings: Settings, *, run_llm: bool, console: Console) -> int:
    """Start everything, wait for a signal or a death, stop everything. Returns an exit code."""
    # SIGINT too: a shell that backgrounds us (or a supervisor) may have left it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_interrupt)
    began = time.monotonic()
    try:
        services = build_services(settings, run_llm=run_llm)
    except FileNotFoundError as exc:  # a missing model file or temporal binary
        _error(console, str(exc))
        return 1
    console.print(f"starting the research stack in {settings.data_dir}")
    started: list[Service] = []
    try:
        start_all(settings, services, started, console)
    except StackError as exc:
        _error(console, str(exc))
        stop_all(started, console)
        return 1
    except KeyboardInterrupt:
        console.print("\ninterrupted while starting")
        stop_all(started, console)
        return 130
    print_ready(settings, console, time.monotonic() - began, run_llm)
    code = 0
    try:
        while (dead := dead_service(started)) is None:
            time.sleep(0.5)
        _error(console, death_notice(dead))
        code = 1
    except KeyboardInterrupt:
        console.print("\nstopping the research stack")
    stop_all(started, console)
    return code
