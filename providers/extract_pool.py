"""Extraction in child processes that can be killed when a document takes too long.

trafilatura and pypdf are pure CPU: a hostile page (a wide table, a PDF whose pages share one
big content stream) keeps a thread busy for minutes, and a Python thread cannot be stopped, so
each retry used to add one more. Here each document goes to one of a few child processes with a
deadline; a child past it is killed (the CPU it burnt stops at once) and a fresh one replaces it
on the next call. Children are started with `spawn` (a fork of a worker running Temporal's Rust
threads is not safe), lazily, and killed on `close`.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from providers.extract import ExtractionError

T = TypeVar("T")

# Imported by each child before it reports ready, so the first document's deadline does not pay
# for them (trafilatura alone takes a second or more on a busy machine).
PRELOAD = ("providers.page_text", "trafilatura", "pypdf")
START_TIMEOUT_S = 60.0


class ExtractionTimeout(ExtractionError):
    """A document took longer than the deadline; the child working on it was killed."""


def _serve(conn: Connection, preload: tuple[str, ...]) -> None:
    """A child's loop: run each (function, args) it is sent and send back (status, value)."""
    # Ctrl-C reaches the whole process group; the parent decides when children stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in preload:
        importlib.import_module(name)
    conn.send("ready")
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:  # the parent closed its end or died
            return
        try:
            conn.send(("ok", fn(*args)))
        except ExtractionError as exc:
            conn.send(("refused", str(exc)))
        except Exception as exc:  # a parser bug: reported, and the child stays usable
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


class _Child:
    def __init__(self, ctx: Any, preload: tuple[str, ...]) -> None:
        self.conn, child_end = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child_end, preload), name="extract", daemon=True
        )
        self.process.start()
        child_end.close()
        self.ready = False
        # close() (the worker stopping) and the thread whose call just failed both kill the
        # child: the pipe must be closed once, or the second close hits a freed (or reused) fd.
        self._kill_lock = threading.Lock()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], deadline_s: float) -> Any:
        """(status, value) of `fn(*args)` run in the child; ExtractionTimeout past `deadline_s`."""
        if not self.ready:
            self._wait_ready()
        try:
            self.conn.send((fn, args))
            # The deadline starts once the document is sent: a child's start-up is not counted.
            if not self.conn.poll(deadline_s):
                raise ExtractionTimeout(f"extraction took longer than {deadline_s:g} s")
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            # Killed by close() (the worker is stopping) or crashed (out of memory): no verdict
            # on the document, so RuntimeError, retried (on another worker if this one stops).
            raise RuntimeError(f"extraction process died (exit code {self._exit()})") from exc

    def _wait_ready(self) -> None:
        # A child that cannot start is no fault of the document: RuntimeError, retried.
        try:
            if not self.conn.poll(START_TIMEOUT_S):
                raise RuntimeError(f"extraction process not ready after {START_TIMEOUT_S:g} s")
            self.conn.recv()
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"extraction process failed to start ({self._exit()})") from exc
        self.ready = True

    def _exit(self) -> int | None:
        self.process.join(1.0)  # a child that just closed its pipe may not be reaped yet
        return self.process.exitcode

    def kill(self) -> None:
        with self._kill_lock:
            self.process.kill()
            self.process.join()
            if not self.conn.closed:
                self.conn.close()


class ExtractPool:
    """At most `workers` documents extracted at once, each in a child killed after `deadline_s`.

    `call` blocks (for synchronous callers such as the index sync); `run` awaits on threads of
    the pool's own, so waiting documents never fill the event loop's default executor.
    """

    def __init__(
        self, workers: int = 2, deadline_s: float = 15.0, preload: tuple[str, ...] = PRELOAD
    ) -> None:
        self.deadline_s = deadline_s
        self._ctx = multiprocessing.get_context("spawn")
        self._preload = preload
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._all: set[_Child] = set()
        self._closed = False
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="extract")

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a child process; `fn` and its arguments must pickle."""
        with self._slots:
            child = self._take()
            try:
                status, value = child.call(fn, args, self.deadline_s)
            except BaseException:
                # Timed out, died or interrupted: whatever it was doing must not go on.
                self._discard(child)
                raise
            with self._lock:
                if not self._closed:
                    self._idle.append(child)
        if status == "refused":
            raise ExtractionError(value)
        if status == "failed":
            raise RuntimeError(value)
        return value

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self.call, fn, *args)

    def children(self) -> list[int]:
        """The process ids of the live children (for tests and diagnostics)."""
        with self._lock:
            return [c.process.pid for c in self._all if c.process.pid is not None]

    def _take(self) -> _Child:
        with self._lock:
            if self._closed:
                raise RuntimeError("extraction pool closed")  # not the document's fault: retryable
            if self._idle:
                return self._idle.pop()
            child = _Child(self._ctx, self._preload)
            self._all.add(child)
            return child

    def _discard(self, child: _Child) -> None:
        with self._lock:
            self._all.discard(child)
        child.kill()

    def close(self) -> None:
        """Kill every child, busy or idle (a busy call fails at once); later calls are refused."""
        with self._lock:
            self._closed = True
            children, self._all, self._idle = list(self._all), set(), []
        for child in children:
            child.kill()
        self._threads.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


_shared: ExtractPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ExtractPool:
    """The process-wide pool (default size and deadline) for readers not handed one; its
    children are started on first use and killed when the interpreter exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ExtractPool()
            atexit.register(_shared.close)
        return _shared
