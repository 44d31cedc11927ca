"""Smoke check of the benchmark suite: one cheap benchmark at its tiniest size.

Nothing here is timed; it only proves that `python -m bench` runs end to end and writes the
table and the JSON in the shape that `docs/benchmarks.md` is built from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import Result, md_table
from settings import PROJECT_ROOT


def test_orchestration_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    cmd = [sys.executable, "-m", "bench", "orchestration", "--tiny"]
    cmd += ["--json", str(out_json), "--md", str(out_md)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== Orchestration overhead per activity" in done.stdout
    assert "overhead ms/activity" in done.stdout

    data = json.loads(out_json.read_text())
    assert data["mode"] == "tiny"
    assert {"cpu", "cores", "ram_gb"} <= set(data["machine"])
    (result,) = data["results"]
    assert result["name"] == "orchestration"
    assert len(result["rows"]) == 2  # sizes 2 and 5
    assert all(len(row) == len(result["columns"]) for row in result["rows"])
    assert [row[0] for row in result["rows"]] == [2, 5]
    assert all(isinstance(row[-1], float) for row in result["rows"])
    (target,) = result["targets"]
    assert set(target) == {"goal", "measured", "met"}

    md = out_md.read_text()
    assert md.startswith("# Benchmarks") and "| activities |" in md and "cores" in md


def test_markdown_table_shape() -> None:
    result = Result("x", "X", ["series", "p50 ms"])
    result.add("a", 1.234)
    result.add("b", None)
    assert md_table(result).splitlines()[2:6] == [
        "| series | p50 ms |",
        "|---|---:|",
        "| a | 1.23 |",
        "| b | - |",
    ]
