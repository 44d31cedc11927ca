"""A folder of run artifacts (reports, source texts, run records) addressed by relative keys.

Workflow payloads carry keys, never the texts (Temporal payloads stop at 2 MB). Activities are
at-least-once, so every write is atomic and writing the same key twice is harmless: a reader
sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def validate_key(key: str) -> str:
    """`key` itself if it is a safe relative posix path; ValueError otherwise."""
    if not isinstance(key, str) or not key:
        raise ValueError("artifact key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"artifact key may not contain backslashes or NUL: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"artifact key must be relative: {key!r}")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"artifact key has an empty, '.' or '..' part: {key!r}")
    return key


def run_key(run_id: str, name: str) -> str:
    """`runs/<run_id>/<name>`; `run_id` must be one path segment, `name` a relative key."""
    if not run_id or "/" in run_id:
        raise ValueError(f"run id must be a single non-empty path segment: {run_id!r}")
    return validate_key(f"runs/{run_id}/{validate_key(name)}")


def source_key(run_id: str, source_id: str) -> str:
    """Where a run keeps the full text of one source; hashed so any URL or path fits."""
    digest = hashlib.sha1(source_id.encode("utf-8"), usedforsecurity=False).hexdigest()
    return run_key(run_id, f"sources/{digest[:16]}.txt")


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # A symlink inside the store must not lead a key outside of it.
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"artifact key escapes the store: {key!r}")
        return path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def write_text(self, key: str, text: str) -> str:
        """Atomically store `text` under `key`; returns the key."""
        path = self.path(key)
        data = text.encode("utf-8")
        # Retried activities rewrite the same content: skip the churn, the file is already right.
        with contextlib.suppress(OSError):
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
        return key

    def write_json(self, key: str, data: Any) -> str:
        """Store `data` (plain JSON types) as pretty-printed UTF-8 JSON; returns the key."""
        return self.write_text(key, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_text(self, key: str) -> str:
        try:
            return self.path(key).read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise FileNotFoundError(f"no artifact {key!r} in {self.root}") from exc

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_text(key))


def _fsync_dir(directory: Path) -> None:
    # The rename is only durable once the directory entry is on disk too (POSIX only).
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
