"""Child processes of `research up`: start with a log file, watch, stop, and show a log's tail."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if `research up` dies without cleaning up."""
    # Without this a SIGKILLed `research up` leaves servers holding their ports. Linux only.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def log_tail(path: Path | None, lines: int = 20) -> str:
    """The last lines of a log file, or a note when there is none."""
    if path is None or not path.is_file():
        return "(no log)"
    with path.open("rb") as handle:
        tail = deque(handle, maxlen=lines)
    return b"".join(tail).decode("utf-8", errors="replace").rstrip() or "(empty log)"


class ChildProcess:
    """One command run in its own session, its output appended to a log file."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        *,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_path.open("ab")
        else:
            out = subprocess.DEVNULL
        try:
            # A new session keeps the terminal's Ctrl+C away from the child: `research up`
            # stops its children itself, in order.
            self.process = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            if self.log_path:
                out.close()  # the child holds its own copy of the descriptor

    @property
    def returncode(self) -> int | None:
        """None while running (or never started), else the exit status."""
        return self.process.poll() if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if not self.running():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL, as in a crash."""
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(5)


class ManagedServer:
    """What Temporal's and the LLM's launchers share: one child process, watched and stopped."""

    _child: ChildProcess | None = None

    @property
    def returncode(self) -> int | None:
        return self._child.returncode if self._child else None

    def running(self) -> bool:
        return self._child is not None and self._child.running()

    def stop(self, timeout: float = 15.0) -> None:
        if self._child:
            self._child.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as in a crash: no chance to flush anything."""
        if self._child:
            self._child.kill()


def wait_http_ok(
    url: str,
    *,
    timeout: float,
    alive: Callable[[], bool],
    what: str,
    interval: float = 0.25,
) -> None:
    """Poll `url` until it answers 200; fail early if the process behind it has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited before it was ready")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(interval)
    raise TimeoutError(f"{what} was not ready at {url} within {timeout:.0f}s")


def clean_env(env: dict[str, str], drop: tuple[str, ...]) -> dict[str, str]:
    """A copy of `env` without the given variables."""
    return {key: value for key, value in env.items() if key not in drop}
