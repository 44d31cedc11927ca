"""Where a pinned document path points: a file inside one of the configured documents folders.

The API calls `locate` to refuse (422) a path outside every folder before a run starts; the read
activity calls it again on the worker to find the file the local index keyed it by. Symlinks are
followed before the check, so a link inside a folder that points outside it is outside too.
"""

from __future__ import annotations

from pathlib import Path


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def locate(entry: str, folders: list[Path]) -> Path | None:
    """The resolved file `entry` names, or None when it lies outside every folder in `folders`.

    A relative `entry` is looked up in each folder in order, and may start with a folder's own
    name (as `docs_folder` names folders); an absolute one must lie inside a folder. Of the
    places it may mean, an existing file wins; else the first place (the read then fails).
    """
    candidates: list[Path] = []
    path = Path(entry)
    for folder in folders:
        root = Path(folder).expanduser().resolve()
        tries = [path] if path.is_absolute() else [root / path]
        if not path.is_absolute() and path.parts and path.parts[0] == root.name:
            tries.append(root.parent / path)
        for place in tries:
            resolved = _resolve(place)
            if resolved is not None and _inside(resolved, root):
                candidates.append(resolved)
    existing = [c for c in candidates if _is_file(c)]
    return (existing or candidates or [None])[0]


def _resolve(path: Path) -> Path | None:
    # A symlink loop or a name too long for the file system names no file: outside, not a 500.
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
