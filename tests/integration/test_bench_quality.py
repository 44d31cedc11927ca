"""Smoke check of `python -m bench quality --tiny`: two questions on the scripted model.

The numbers mean nothing (the scripted model does not read the question); this proves the
benchmark runs real research runs end to end, grades the system and the baseline, and writes
its JSON and its section of a Markdown page without touching the page's other text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.quality import COLUMNS, MD_END, MD_START
from settings import PROJECT_ROOT


def test_quality_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "quality.json", tmp_path / "quality.md"
    out_md.write_text(f"# Quality\n\nProse stays.\n\n{MD_START}\nold table\n{MD_END}\n\nAfter.\n")
    cmd = [sys.executable, "-m", "bench", "quality", "--tiny"]
    cmd += ["--json", str(out_json), "--md", str(out_md)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== Report quality on the eval set (2 questions)" in done.stdout

    (result,) = json.loads(out_json.read_text())["results"]
    assert result["name"] == "quality" and result["columns"] == COLUMNS
    rows = result["rows"]
    assert [row[1] for row in rows] == ["system", "baseline"] * 3
    assert [row[0] for row in rows[-2:]] == ["all", "all"]
    # Every system run ended by itself (no person was asked) and wrote a report with claims.
    assert all(row[2] in ("completed", "completed_with_gaps") for row in rows[:4:2])
    assert [row[2] for row in rows[1:4:2]] == ["answered", "answered"]
    assert rows[-1][2] == "2/2 answered"
    assert all(row[4] > 0 for row in rows[:4])
    assert "0 citations to sources not read" in {t["goal"] for t in result["targets"]}

    md = out_md.read_text()
    assert md.startswith("# Quality\n\nProse stays.") and md.rstrip().endswith("After.")
    assert "old table" not in md and "| question | who |" in md
