"""The artifact store: atomic, idempotent writes and keys that cannot leave the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from providers.artifacts import ArtifactStore, run_key, source_key


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def test_round_trip_text_and_json(store: ArtifactStore) -> None:
    key = run_key("r1", "report.md")
    assert key == "runs/r1/report.md"
    assert store.write_text(key, "# Report\n\nÆ unicode ✓\n") == key
    assert store.read_text(key) == "# Report\n\nÆ unicode ✓\n"
    assert store.exists(key)
    assert store.path(key) == store.root / "runs" / "r1" / "report.md"

    data = {"question": "why?", "sources": [1, 2], "nested": {"ok": True}}
    assert store.write_json(run_key("r1", "run.json"), data) == "runs/r1/run.json"
    assert store.read_json("runs/r1/run.json") == data


def test_write_is_atomic_and_leaves_no_temp_files(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "runs/r1/report.md"
    store.write_text(key, "first version")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    # A crash between writing the temp file and the rename must leave the old file intact.
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write_text(key, "second version")
    monkeypatch.undo()

    assert store.read_text(key) == "first version"
    assert [p.name for p in store.path(key).parent.iterdir()] == ["report.md"]


def test_rewrites_are_idempotent(store: ArtifactStore) -> None:
    key = "runs/r1/notes.json"
    store.write_json(key, {"a": 1})
    path = store.path(key)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    inode = path.stat().st_ino

    # Same content again (a retried activity): nothing is rewritten.
    store.write_json(key, {"a": 1})
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert path.stat().st_ino == inode

    store.write_json(key, {"a": 2})
    assert store.read_json(key) == {"a": 2}
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside.txt",
        "runs/../../outside.txt",
        "runs//report.md",
        "runs/r1/",
        "runs/./r1",
        "runs\\r1\\report.md",
        "runs/r1/\x00.md",
    ],
)
def test_bad_keys_are_refused(store: ArtifactStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.write_text(key, "x")
    with pytest.raises(ValueError):
        store.path(key)


def test_symlink_cannot_lead_outside(store: ArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="escapes"):
        store.write_text("link/x.txt", "x")
    assert not (outside / "x.txt").exists()


def test_missing_key_is_file_not_found(store: ArtifactStore) -> None:
    assert not store.exists("runs/r1/none.md")
    with pytest.raises(FileNotFoundError, match=r"runs/r1/none\.md"):
        store.read_text("runs/r1/none.md")
    with pytest.raises(FileNotFoundError):
        store.read_json("runs/r1/none.json")


def test_run_and_source_keys() -> None:
    with pytest.raises(ValueError):
        run_key("a/b", "report.md")
    with pytest.raises(ValueError):
        run_key("..", "report.md")
    with pytest.raises(ValueError):
        run_key("", "report.md")
    key = source_key("r1", "/docs/a.md")
    assert key.startswith("runs/r1/sources/") and key.endswith(".txt")
    assert len(Path(key).stem) == 16
    assert key == source_key("r1", "/docs/a.md")
    assert key != source_key("r1", "/docs/b.md")
