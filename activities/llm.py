"""LLM activities: questions, plan, queries, notes, gaps and the report.

Prompts are short and schemas strict because the embedded default is a 135M-parameter model;
the same prompts serve a large hosted model through the same client interface (any
OpenAI-compatible endpoint, or Anthropic's API: providers/llm.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import BaseModel, ValidationError
from temporalio import activity

from activities.drafts import GapsDraft, NotesDraft, QueriesDraft, QuestionsDraft, ReportDraft
from activities.report_render import render_report
from activities.table import (
    FIND_GAPS,
    GENERATE_QUERIES,
    PLAN,
    PROPOSE_QUESTIONS,
    TAKE_NOTES,
    WRITE_REPORT,
)
from domain.calls import (
    GapsRequest,
    GapsResult,
    NotesRequest,
    NotesResult,
    PlanRequest,
    PlanResult,
    QueriesRequest,
    QueriesResult,
    QuestionsRequest,
    QuestionsResult,
    ReportRequest,
    ReportResult,
)
from domain.run import ClarifyingQuestion, Usage
from domain.sources import Note
from providers.artifacts import ArtifactStore, run_key
from providers.llm import ChatClient

SYSTEM = "You are a careful research assistant. Answer only with what is asked, concisely."
NOTES_BUDGET_CHARS = 6000


@asynccontextmanager
async def heartbeating(every: float = 1.0) -> AsyncIterator[None]:
    """Heartbeat while a slow call runs, so a dead worker is noticed in seconds, not minutes."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


class LLMActivities:
    def __init__(self, chat: ChatClient, store: ArtifactStore) -> None:
        self.chat = chat
        self.store = store

    @activity.defn(name=PROPOSE_QUESTIONS.name)
    async def propose_questions(self, req: QuestionsRequest) -> QuestionsResult:
        prompt = (
            f"Research question: {req.question}\n"
            f"List at most {req.max_questions} short clarifying questions that would change how "
            "this should be researched. Return an empty list if the question is already clear."
        )
        async with heartbeating():
            draft, usage = await self.chat.complete_json(SYSTEM, prompt, QuestionsDraft)
        texts = [q.strip() for q in draft.questions if q.strip()][: req.max_questions]
        # Ids are positional and assigned here, so they are stable across retries of the UI.
        questions = [ClarifyingQuestion(id=f"q{i}", text=t) for i, t in enumerate(texts, 1)]
        return QuestionsResult(questions=questions, usage=usage)

    @activity.defn(name=PLAN.name)
    async def plan(self, req: PlanRequest) -> PlanResult:
        context = "".join(f"\n- {q} {a}" for q, a in req.clarifications.items())
        prompt = f"Research question: {req.question}\n"
        if context:
            prompt += f"The person clarified:{context}\n"
        if req.previous_plan and req.comment:
            prompt += f"Previous plan:\n{req.previous_plan}\nReviewer's comment: {req.comment}\n"
        prompt += "Write a short research plan: 3 to 5 numbered steps, one line each."
        async with heartbeating():
            result = await self.chat.complete(SYSTEM, prompt, max_tokens=256)
        return PlanResult(
            plan=result.text.strip() or f"1. Research: {req.question}", usage=result.usage
        )

    @activity.defn(name=GENERATE_QUERIES.name)
    async def generate_queries(self, req: QueriesRequest) -> QueriesResult:
        prompt = f"Research question: {req.question}\nPlan:\n{req.plan[:1500]}\n"
        if req.gaps:
            prompt += "Still unknown: " + "; ".join(req.gaps) + "\n"
        if req.previous_queries:
            prompt += "Already searched: " + "; ".join(req.previous_queries[-10:]) + "\n"
        prompt += f"Give {req.count} new short search queries (a few keywords each)."
        async with heartbeating():
            draft, usage = await self.chat.complete_json(
                SYSTEM, prompt, QueriesDraft, max_tokens=200
            )
        return QueriesResult(queries=draft.queries[: req.count], usage=usage)

    @activity.defn(name=TAKE_NOTES.name)
    async def take_notes(self, req: NotesRequest) -> NotesResult:
        source = req.source
        passages = "\n".join(f"[{p.id}] {p.text[:1200]}" for p in source.passages)
        prompt = (
            f"Research question: {req.question}\nSource: {source.title}\nPassages:\n{passages}\n"
            "Write up to 4 short factual notes that help answer the question, each with the ids "
            "of the passages that support it."
        )
        async with heartbeating():
            draft, usage = await self.chat.complete_json(SYSTEM, prompt, NotesDraft, max_tokens=400)
        known = {p.id for p in source.passages}
        notes = [
            Note(
                text=n.text.strip(),
                source_id=source.source_id,
                # A passage id the model made up supports nothing: keep only real ones.
                passage_ids=[pid for pid in n.passage_ids if pid in known],
            )
            for n in draft.notes
            if n.text.strip()
        ]
        return NotesResult(notes=notes, usage=usage)

    @activity.defn(name=FIND_GAPS.name)
    async def find_gaps(self, req: GapsRequest) -> GapsResult:
        notes = _notes_digest(req.notes, {})
        prompt = (
            f"Research question: {req.question}\nNotes so far:\n{notes}\n"
            "List up to 3 things still unknown that more searching could answer, "
            "or an empty list if the notes answer the question."
        )
        async with heartbeating():
            draft, usage = await self.chat.complete_json(SYSTEM, prompt, GapsDraft, max_tokens=200)
        return GapsResult(gaps=[g.strip() for g in draft.gaps if g.strip()][:3], usage=usage)

    @activity.defn(name=WRITE_REPORT.name)
    async def write_report(self, req: ReportRequest) -> ReportResult:
        numbers = {s.source_id: s.number for s in req.sources}
        sources = "\n".join(f"[{s.number}] {s.title}" for s in req.sources) or "(none)"
        prompt = (
            f"Research question: {req.question}\nPlan:\n{req.plan[:1000]}\n"
            f"Sources:\n{sources}\nNotes (with the source number to cite):\n"
            f"{_notes_digest(req.notes, numbers)}\n"
        )
        if req.comment and req.previous_report_ref:
            previous = await asyncio.to_thread(self.store.read_text, req.previous_report_ref)
            prompt += f"Previous draft:\n{previous[:3000]}\nReviewer's comment: {req.comment}\n"
        prompt += (
            "Write the report as JSON: a title, a one-paragraph summary and sections of "
            "paragraphs. Cite sources by number in each paragraph's citations; cite only the "
            "numbers listed above."
        )
        draft, usage = await self._report_draft(prompt)
        rendered = render_report(draft, req.sources, partial=req.partial)
        key = run_key(req.run_id, f"report-r{req.revision}{'-partial' if req.partial else ''}.md")
        await asyncio.to_thread(self.store.write_text, key, rendered.markdown)
        await asyncio.to_thread(
            self.store.write_text, run_key(req.run_id, "report.md"), rendered.markdown
        )
        return ReportResult(
            report_ref=key,
            chars=len(rendered.markdown),
            citations=len(rendered.cited),
            citations_dropped=rendered.dropped,
            usage=usage,
        )

    async def _report_draft(self, prompt: str) -> tuple[ReportDraft, Usage]:
        """The model's draft, or the one an earlier attempt of this activity already paid for.

        The draft goes out as heartbeat details once the model answered. When writing the
        report then fails (a full or read-only artifact store), Temporal hands those details to
        the retry, on whichever worker, so the run does not pay for the report twice.
        """
        saved = _saved_draft()
        if saved is not None:
            activity.logger.info(
                "reusing the report draft of attempt %s", activity.info().attempt - 1
            )
            return saved.draft, saved.usage
        async with heartbeating():
            draft, usage = await self.chat.complete_json(
                SYSTEM, prompt, ReportDraft, max_tokens=self.chat.settings.llm_report_max_tokens
            )
        # After `heartbeating` ended: its empty heartbeats would replace these details.
        activity.heartbeat(SavedDraft(draft=draft, usage=usage).model_dump(mode="json"))
        return draft, usage


class SavedDraft(BaseModel):
    """A paid-for report draft, carried to the next attempt in the heartbeat details."""

    draft: ReportDraft
    usage: Usage


def _saved_draft() -> SavedDraft | None:
    for details in reversed(activity.info().heartbeat_details):
        try:
            return SavedDraft.model_validate(details)
        except ValidationError:  # an empty liveness heartbeat, or something older
            continue
    return None


def _notes_digest(notes: list[Note], numbers: dict[str, int]) -> str:
    """Notes as prompt lines, cut to a budget that fits a small model's context."""
    lines, used = [], 0
    for note in notes:
        tag = f"[{numbers[note.source_id]}] " if note.source_id in numbers else "- "
        line = tag + note.text
        if used + len(line) > NOTES_BUDGET_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines) or "(no notes)"
