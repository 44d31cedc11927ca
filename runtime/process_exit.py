"""Ending a process that used a Temporal client without the interpreter's teardown.

The Temporal SDK's Rust core keeps Tokio threads that can still take the GIL while Python
finalizes; when that happens the process dies with "Fatal Python error: PyGILState_Release:
thread state ... must be current when releasing" and SIGABRT, after all of its work is done
(temporalio/sdk-python#300, still open in 1.35). A worker stopped cleanly by SIGTERM then
reports exit status -6 to its supervisor. On this machine a minimal worker hit it in 8 of 30
exits. The SDK has no way to stop those threads, so processes that hold a client finish their
own clean-up (workers shut down, clients closed, logs flushed) and then leave with `os._exit`,
which skips the finalization the threads trip over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Coroutine
from typing import Any, NoReturn


def exit_code(exc: SystemExit) -> int:
    """The status `sys.exit(value)` would have produced for `exc`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


def exit_now(code: int) -> NoReturn:
    """Flush logs and standard streams, then end the process with `code`."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream cannot lose anything more
            pass
    os._exit(code)


def run_then_exit(main: Coroutine[Any, Any, int | None]) -> NoReturn:
    """`asyncio.run(main)`, then `exit_now` with its result (None is 0): an uncaught exception
    is printed and exits 1, Ctrl+C exits 130, as they would without this."""
    try:
        code = asyncio.run(main) or 0
    except SystemExit as exc:
        code = exit_code(exc)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    exit_now(code)
