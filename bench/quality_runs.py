"""The two contenders of the quality benchmark, each graded the same way.

- The system: one research run per question through the API of an embedded stack, with no
  clarification, no plan approval and no acceptance, so it finishes by itself. Its report is
  read from the artifact store: `report.json` (a `domain.report.ReportDoc`) when the run wrote
  one, else `report.md` split into sentences with their `[n]` marks. Passages come from the
  run's `sources.json`.
- The naive baseline, as peers do it: the question's top passages from the same local index
  (BM25), one prompt "answer with citations [n]" to the same model, its text split into sentences.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.evalset import EvalQuestion
from bench.quality_metrics import (
    GradedClaim,
    is_supported,
    junk_lines,
    key_facts_found,
    markdown_claims,
    unread_citations,
)
from bench.stack import BenchStack
from domain.report import ReportDoc, passage_texts
from domain.run import RunView
from providers.llm_base import ChatClient
from providers.local_index import LocalIndex
from workflows.research import ResearchWorkflow

BASELINE_PASSAGES = 5
BASELINE_MAX_TOKENS = 400
RUN_LIMIT_S = 1200.0
BASELINE_SYSTEM = "You answer questions using only the passages you are given."


@dataclass
class Graded:
    """One contender's answer to one question, measured."""

    who: str
    question: str
    status: str
    seconds: float
    claims: int = 0
    supported: int = 0
    unread_citations: int = 0
    facts: int = 0
    facts_found: int = 0
    junk: list[str] = field(default_factory=list)
    right_document: bool = False
    report_format: str = ""  # "json", "markdown" or "text" (the baseline)
    removed_by_gate: int = 0  # claims the support check removed as unsupported
    refused_by_writer: int = 0  # model claims the writer's own checks turned away


def grade(
    who: str,
    q: EvalQuestion,
    status: str,
    seconds: float,
    claims: list[GradedClaim],
    passages: dict[int, dict[str, str]],
    rendered: str,
    read_names: list[str],
) -> Graded:
    return Graded(
        who=who,
        question=q.id,
        status=status,
        seconds=seconds,
        claims=len(claims),
        supported=sum(1 for c in claims if is_supported(c, passages)),
        unread_citations=unread_citations(claims, passages),
        facts=len(q.phrasings()),
        facts_found=key_facts_found(q.phrasings(), claims),
        junk=junk_lines(rendered),
        right_document=any(name in q.relevant for name in read_names),
    )


def run_options(rounds: int | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "clarify": False,
        "require_plan_approval": False,
        "require_acceptance": False,
    }
    if rounds is not None:
        options["depth"] = rounds
    return options


async def system_run(stack: BenchStack, q: EvalQuestion, run_id: str, rounds: int | None) -> Graded:
    """One end-to-end research run on `q`, graded from its artifacts."""
    t0 = time.perf_counter()
    body = {"question": q.question, "run_id": run_id, "options": run_options(rounds)}
    resp = await stack.http.post("/api/v1/runs", json=body)
    resp.raise_for_status()
    view = await _until_finished(stack, run_id, t0)
    return grade_artifacts(stack.settings.artifacts_dir, view, q, time.perf_counter() - t0)


def grade_artifacts(store: Path, view: RunView, q: EvalQuestion, seconds: float) -> Graded:
    """Grade a finished run from its artifacts: report.json if it wrote one, else report.md."""
    sources = _read_json(store, view.sources_ref) or []
    passages = passage_texts(sources)
    names = [Path(str(s.get("source_id", ""))).name for s in sources if isinstance(s, dict)]
    doc_json = _read_json(store, view.report_json_ref)
    if doc_json is not None:
        doc = ReportDoc.model_validate(doc_json)
        claims = [
            GradedClaim(c.text, [(e.source, e.passage_id) for e in c.evidence])
            for c in doc.claims()
        ]
        graded = grade(
            "system", q, str(view.status), seconds, claims, passages, doc.to_markdown(), names
        )
        graded.report_format = "json"
        graded.removed_by_gate = sum(c.support == "unsupported" for c in doc.removed)
        graded.refused_by_writer = sum(c.support == "refused" for c in doc.removed)
        return graded
    markdown = (store / view.report_ref).read_text() if view.report_ref else ""
    claims = markdown_claims(markdown)
    graded = grade("system", q, str(view.status), seconds, claims, passages, markdown, names)
    graded.report_format = "markdown"
    return graded


async def _until_finished(stack: BenchStack, run_id: str, t0: float) -> RunView:
    handle = stack.handle(run_id)
    while True:
        view = await handle.query(ResearchWorkflow.get_status)
        if view.finished_at is not None:
            return view
        if time.perf_counter() - t0 > RUN_LIMIT_S:
            raise TimeoutError(f"run {run_id} not finished after {RUN_LIMIT_S:.0f} s: {view}")
        await asyncio.sleep(1.0)


def _read_json(store: Path, ref: str | None) -> Any:
    if not ref or not (store / ref).is_file():
        return None
    return json.loads((store / ref).read_text())


def baseline_prompt(question: str, numbered: list[tuple[str, str]]) -> str:
    blocks = "\n\n".join(
        f"[{n}] {title}\n{text}" for n, (title, text) in enumerate(numbered, start=1)
    )
    return (
        f"Passages:\n\n{blocks}\n\nQuestion: {question}\n"
        "Answer the question in a few sentences. After each sentence, cite the passage it comes "
        "from by its number, like [1]."
    )


async def baseline_run(chat: ChatClient, index: LocalIndex, q: EvalQuestion) -> Graded:
    """Top passages by BM25, one "answer with citations" prompt, graded like the system."""
    t0 = time.perf_counter()
    hits = await asyncio.to_thread(index.search, q.question, BASELINE_PASSAGES)
    numbered: list[tuple[str, str]] = []
    names: list[str] = []
    for hit in hits:
        best = await asyncio.to_thread(index.best_passages, hit.source_id, q.question, 1)
        if best:
            numbered.append((hit.title, best[0].text))
            names.append(Path(hit.source_id).name)
    reply = await chat.complete(
        BASELINE_SYSTEM, baseline_prompt(q.question, numbered), max_tokens=BASELINE_MAX_TOKENS
    )
    seconds = time.perf_counter() - t0
    passages = {n: {"p1": text} for n, (_, text) in enumerate(numbered, start=1)}
    claims = markdown_claims(reply.text)
    graded = grade("baseline", q, "answered", seconds, claims, passages, reply.text, names)
    graded.report_format = "text"
    return graded
