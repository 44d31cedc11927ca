"""`python -m tests.fakes.faulty_store`: the worker, with an artifact store whose disk fails on cue.

While the file named by `FAULTS_STORE_FLAG` exists, the store's disk fails as a real one does:
`ENOSPC` (disk full) surfaces at `fsync`, after the data went into the temp file, and `EROFS`
(read-only file system) when the temp file is created. Deleting the file heals the disk. Only
the store module sees the failing calls; the rest of the worker (SQLite index, logs) is spared.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import providers.artifacts
import worker

FLAG = Path(os.environ.get("FAULTS_STORE_FLAG", "/nonexistent"))


def _fault() -> str | None:
    try:
        return FLAG.read_text().strip() or None
    except FileNotFoundError:
        return None


def _fail(code: int, where: str) -> None:
    raise OSError(code, os.strerror(code), where)


class _Os:
    """`os` as providers.artifacts sees it: fsync fails while the disk is full."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fsync(self, fd: int) -> None:
        if _fault() == "ENOSPC":
            _fail(errno.ENOSPC, "fsync")
        os.fsync(fd)


class _Tempfile:
    """`tempfile` as providers.artifacts sees it: no new file on a read-only file system."""

    def __getattr__(self, name: str) -> Any:
        return getattr(tempfile, name)

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        if _fault() == "EROFS":
            _fail(errno.EROFS, str(kwargs.get("dir", "")))
        return tempfile.mkstemp(*args, **kwargs)


# Why module attributes: the store calls `os.fsync` and `tempfile.mkstemp` through these names.
providers.artifacts.os = _Os()  # type: ignore[assignment]
providers.artifacts.tempfile = _Tempfile()  # type: ignore[assignment]

if __name__ == "__main__":
    worker.main()
