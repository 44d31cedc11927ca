"""End-to-end report quality on the eval set: the system against a naive baseline, same model.

`uv run python -m bench quality [--limit N] [--questions id,id] [--rounds N]` starts an embedded
stack (Temporal dev server, worker, API) whose local index holds `evals/corpus` only, and the
embedded llama.cpp SmolLM2 model (or `--llm-base-url/--llm-model`). For each question it runs a
research run that finishes by itself, then the naive baseline (bench/quality_runs.py), and grades
both with bench/quality_metrics.py. `--tiny` uses the scripted model instead: a smoke run whose
numbers mean nothing. Writes its JSON (docs/quality.json) and its section of docs/quality.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.evalset import CORPUS, EvalQuestion, load_questions
from bench.quality_runs import Graded, baseline_run, system_run
from bench.rankers import build_bm25
from bench.report import Result, Target, md_table, save
from bench.stack import BenchStack
from bench.stats import machine
from providers.llm import build_chat_client
from stack.llm_server import LlamaServer, default_model_path
from tests.conftest import free_port

ALIAS = "smollm2"
TINY_QUESTIONS = 2
COLUMNS = [
    "question",
    "who",
    "status",
    "s",
    "claims",
    "supported",
    "unread cites",
    "key facts",
    "junk lines",
    "right doc",
]


@dataclass
class QualityOptions:
    limit: int | None = None
    questions: list[str] | None = None
    rounds: int | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    # Where each finished question's numbers are saved at once, so a long run on a shared
    # machine that is stopped part way still leaves its table (marked partial).
    json_path: Path | None = None
    md_path: Path | None = None


@contextlib.asynccontextmanager
async def model_settings(mode: str, opts: QualityOptions) -> AsyncIterator[dict[str, object]]:
    """The LLM settings for the stack: scripted (tiny), a given endpoint, or SmolLM2 here."""
    if mode == "tiny":
        yield {}  # BenchStack's scripted model
        return
    if opts.llm_base_url:
        yield {"llm_base_url": opts.llm_base_url, "llm_model": opts.llm_model or "default"}
        return
    server = LlamaServer(model=default_model_path(), alias=ALIAS, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        yield {
            "llm_base_url": server.base_url,
            "llm_model": ALIAS,
            "llm_structured_output": "llama_schema",
            # One llama.cpp slot serves the worker's concurrent calls in turn; on a busy shared
            # machine a queued call can wait past the default 300 s and be sent again, which
            # measures the machine's load rather than the product.
            "llm_timeout_s": 1200.0,
        }
    finally:
        await asyncio.to_thread(server.stop)


async def measure(mode: str, opts: QualityOptions) -> tuple[list[Graded], str]:
    questions = load_questions()
    if opts.questions:
        wanted = set(opts.questions)
        questions = [q for q in questions if q.id in wanted]
        if missing := wanted - {q.id for q in questions}:
            raise ValueError(f"no such questions: {', '.join(sorted(missing))}")
    limit = opts.limit or (TINY_QUESTIONS if mode == "tiny" else None)
    questions = questions[:limit] if limit else questions
    rounds = opts.rounds or (1 if mode == "tiny" else None)
    graded: list[Graded] = []
    async with model_settings(mode, opts) as llm:
        extra = {**llm, "docs_dirs": [CORPUS]}
        async with BenchStack(extra=extra) as stack:
            with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
                index, _ = await asyncio.to_thread(build_bm25, CORPUS, Path(tmp, "index.sqlite"))
                chat = build_chat_client(stack.settings)
                for n, q in enumerate(questions, start=1):
                    # Interleaved, so the shared machine's load falls on both alike.
                    mine = await _or_error(
                        "system", q, system_run(stack, q, f"quality-{n}-{q.id}", rounds)
                    )
                    theirs = await _or_error("baseline", q, baseline_run(chat, index, q))
                    graded += [mine, theirs]
                    print(f"  {q.id}: system {_brief(mine)}; baseline {_brief(theirs)}", flush=True)
                    checkpoint(mode, opts, graded, str(stack.settings.llm_model), len(questions))
        model = str(stack.settings.llm_model)
    return graded, model


async def _or_error(who: str, q: EvalQuestion, graded: Awaitable[Graded]) -> Graded:
    """One run's grade; a run that broke is a row that says so, not a lost benchmark."""
    t0 = time.perf_counter()
    try:
        return await graded
    except Exception as exc:
        traceback.print_exc()
        status = f"error: {type(exc).__name__}"
        return Graded(who, q.id, status, time.perf_counter() - t0, facts=len(q.phrasings()))


def _brief(g: Graded) -> str:
    return f"{g.status}, {g.supported}/{g.claims} supported, {g.facts_found}/{g.facts} facts"


@dataclass
class Totals:
    runs: int
    claims: int
    supported_share: float
    unread: int
    recall: float
    junk: int
    completed: int
    seconds: float
    right_document: float

    @classmethod
    def of(cls, graded: list[Graded]) -> Totals:
        n = len(graded) or 1
        claims = sum(g.claims for g in graded)
        facts = sum(g.facts for g in graded)
        return cls(
            runs=len(graded),
            claims=claims,
            supported_share=sum(g.supported for g in graded) / claims if claims else 0.0,
            unread=sum(g.unread_citations for g in graded),
            recall=sum(g.facts_found for g in graded) / facts if facts else 0.0,
            junk=sum(len(g.junk) for g in graded),
            # The baseline has no run status: "answered" is its one way to end well.
            completed=sum(1 for g in graded if g.status in ("completed", "answered")),
            seconds=sum(g.seconds for g in graded) / n,
            right_document=sum(1 for g in graded if g.right_document) / n,
        )


def tabulate(graded: list[Graded], model: str) -> Result:
    mine = [g for g in graded if g.who == "system"]
    theirs = [g for g in graded if g.who == "baseline"]
    result = Result("quality", f"Report quality on the eval set ({len(mine)} questions)", COLUMNS)
    for g in graded:
        share = g.supported / g.claims if g.claims else 0.0
        recall = g.facts_found / g.facts if g.facts else 0.0
        result.add(
            g.question, g.who, g.status, g.seconds, g.claims, share,
            g.unread_citations, recall, len(g.junk), "yes" if g.right_document else "no",
        )  # fmt: skip
    a, b = Totals.of(mine), Totals.of(theirs)
    for who, t, ended in (("system", a, "completed"), ("baseline", b, "answered")):
        result.add(
            "all", who, f"{t.completed}/{t.runs} {ended}", t.seconds, t.claims,
            t.supported_share, t.unread, t.recall, t.junk, f"{t.right_document:.0%}",
        )  # fmt: skip
    result.targets += [
        Target("0 citations to sources not read", str(a.unread), a.unread == 0),
        Target("0 junk lines", str(a.junk), a.junk == 0),
        Target(
            ">= 95% of claims supported (independent check)",
            f"{a.supported_share:.0%}",
            a.supported_share >= 0.95,
        ),
        Target("key-fact recall >= 0.6", f"{a.recall:.2f}", a.recall >= 0.6),
        Target(
            "right document read for >= 90%", f"{a.right_document:.0%}", a.right_document >= 0.9
        ),
        Target(
            "supported share above the baseline's",
            f"{a.supported_share:.0%} vs {b.supported_share:.0%} "
            f"({_ratio(a.supported_share, b.supported_share)})",
            a.supported_share > b.supported_share,
        ),
        Target(
            "key-fact recall no lower than the baseline's",
            f"{a.recall:.2f} vs {b.recall:.2f} ({_ratio(a.recall, b.recall)})",
            a.recall >= b.recall,
        ),
    ]
    result.notes.append(f"model: {model}; system/baseline seconds per run: "
                        f"{_ratio(a.seconds, b.seconds)}")  # fmt: skip
    formats = sorted({g.report_format for g in mine})
    removed = sum(g.removed_by_gate for g in mine)
    refused = sum(g.refused_by_writer for g in mine)
    counts = f"; claims the writer refused: {refused}, the support check removed: {removed}"
    result.notes.append(
        f"system reports read from: {', '.join(formats) or 'none'}"
        + (counts if "json" in formats else "")
    )
    for g in graded:
        for line in g.junk[:3]:
            result.notes.append(f"junk ({g.who}, {g.question}): {line[:120]!r}")
    return result


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


MD_START, MD_END = "<!-- bench quality: start -->", "<!-- bench quality: end -->"


def write_section(result: Result, md_path: Path, stamp: str) -> None:
    """Replace the generated part of docs/quality.md, between its markers; the prose stays."""
    body = "\n".join(
        [MD_START, "", f"Measured {stamp}; raw numbers in `quality.json`.", "", md_table(result),
         MD_END]
    )  # fmt: skip
    text = md_path.read_text() if md_path.exists() else "# Quality\n"
    if MD_START in text and MD_END in text:
        head, rest = text.split(MD_START, 1)
        text = head + body + rest.split(MD_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    md_path.write_text(text)


def checkpoint(
    mode: str, opts: QualityOptions, graded: list[Graded], model: str, total: int
) -> None:
    done = len(graded) // 2
    if opts.json_path is None or done >= total:
        return  # the last question's numbers are saved whole by the caller
    result = tabulate(graded, model)
    result.title += f" (partial: {done} of {total} questions)"
    save([result], machine(), mode, opts.json_path, None)
    if opts.md_path is not None:
        write_section(result, opts.md_path, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


async def run(mode: str, opts: QualityOptions | None = None) -> Result:
    graded, model = await measure(mode, opts or QualityOptions())
    return tabulate(graded, model)
