"""LLM activities: questions, plan, queries, notes, gaps and the report.

Prompts are short and schemas strict because the embedded default is a 135M-parameter model;
the same prompts serve a large hosted model through the same client interface (any
OpenAI-compatible endpoint, or Anthropic's API: providers/llm.py).
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.checks import (
    MIN_PLAN_ITEMS,
    check_phrases,
    check_plan,
    note_problem,
    only_repeats,
    vocabulary,
)
from activities.claims_report import build_report
from activities.claims_writer import load_material, report_prompt, save_report
from activities.drafts import GapsDraft, NotesDraft, QueriesDraft, QuestionsDraft, ReportDraft
from activities.fallbacks import fallback_gaps, fallback_plan, fallback_queries, numbered
from activities.llm_log import LoggedChat
from activities.llm_support import SavedDraft, heartbeating, notes_digest, saved_draft
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
    LLMRequest,
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
from providers.artifacts import ArtifactStore
from providers.llm import ChatClient

SYSTEM = "You are a careful research assistant. Answer only with what is asked, concisely."
# Appended to the prompt for the one re-ask after a refused answer; {reasons} says what was wrong.
PLAN_REASK = (
    "\n\nYour previous plan could not be used ({reasons}). Write 3 to 5 numbered steps, one "
    "line each; each step says in words what to find out about the research question."
)
QUERIES_REASK = (
    "\n\nYour previous queries could not be used ({reasons}). Give short queries made of "
    "words about the research question."
)


class LLMActivities:
    def __init__(self, chat: ChatClient, store: ArtifactStore) -> None:
        self.chat = chat
        self.store = store

    def chat_for(self, req: LLMRequest) -> ChatClient:
        """The client for one call: logging each payload when the run asked for it."""
        if req.payload_log is None:
            return self.chat
        return LoggedChat(self.chat, self.store, req.payload_log)

    @activity.defn(name=PROPOSE_QUESTIONS.name)
    async def propose_questions(self, req: QuestionsRequest) -> QuestionsResult:
        chat = self.chat_for(req)
        prompt = (
            f"Research question: {req.question}\n"
            f"List at most {req.max_questions} short clarifying questions that would change how "
            "this should be researched. Return an empty list if the question is already clear."
        )
        async with heartbeating():
            draft, usage = await chat.complete_json(SYSTEM, prompt, QuestionsDraft)
        texts = [q.strip() for q in draft.questions if q.strip()][: req.max_questions]
        # Ids are positional and assigned here, so they are stable across retries of the UI.
        questions = [ClarifyingQuestion(id=f"q{i}", text=t) for i, t in enumerate(texts, 1)]
        return QuestionsResult(questions=questions, usage=usage)

    @activity.defn(name=PLAN.name)
    async def plan(self, req: PlanRequest) -> PlanResult:
        chat = self.chat_for(req)
        context = "".join(f"\n- {q} {a}" for q, a in req.clarifications.items())
        prompt = f"Research question: {req.question}\n"
        if context:
            prompt += f"The person clarified:{context}\n"
        if req.context:  # a follow-up run: what the run it follows found, to build on
            prompt += f"An earlier report on a related question found:\n{req.context}\n"
        if req.previous_plan and req.comment:
            prompt += f"Previous plan:\n{req.previous_plan}\nReviewer's comment: {req.comment}\n"
        prompt += "Write a short research plan: 3 to 5 numbered steps, one line each."
        topic = vocabulary(req.question, req.comment or "", *req.clarifications.values())
        topic |= vocabulary(*req.clarifications)
        usage, rejected, reask, reasons = Usage(), 0, "", ""
        async with heartbeating():
            for _ in range(2):  # the model's plan, then one re-ask saying what was wrong
                result = await chat.complete(SYSTEM, prompt + reask, max_tokens=256)
                usage.add(result.usage)
                checked = check_plan(result.text, topic, cut_off=result.finish_reason == "length")
                rejected += len(checked.refused)
                if len(checked.kept) >= MIN_PLAN_ITEMS:
                    return PlanResult(plan=numbered(checked.kept), usage=usage, rejected=rejected)
                reasons = checked.reasons() or "no steps"
                reask = PLAN_REASK.format(reasons=reasons)
        activity.logger.warning("plan from the question: the model's was refused (%s)", reasons)
        items = fallback_plan(req.question, req.clarifications)
        return PlanResult(plan=numbered(items), usage=usage, source="fallback", rejected=rejected)

    @activity.defn(name=GENERATE_QUERIES.name)
    async def generate_queries(self, req: QueriesRequest) -> QueriesResult:
        chat = self.chat_for(req)
        prompt = f"Research question: {req.question}\nPlan:\n{req.plan[:1500]}\n"
        if req.gaps:
            prompt += "Still unknown: " + "; ".join(req.gaps) + "\n"
        if req.previous_queries:
            prompt += "Already searched: " + "; ".join(req.previous_queries[-10:]) + "\n"
        prompt += f"Give {req.count} new short search queries (a few keywords each)."
        usage, rejected, reask = Usage(), 0, ""
        async with heartbeating():
            for _ in range(2):  # as for the plan: one re-ask, then the fallback
                draft, used = await chat.complete_json(
                    SYSTEM, prompt + reask, QueriesDraft, max_tokens=200
                )
                usage.add(used)
                checked = check_phrases(draft.queries, req.previous_queries, req.count)
                rejected += len(checked.refused)
                if checked.kept:
                    return QueriesResult(queries=checked.kept, usage=usage, rejected=rejected)
                if only_repeats(checked):
                    # No new ideas, rather than broken ones: asking again would get the same;
                    # the plan items not searched yet still may (none left: the run stops).
                    break
                reask = QUERIES_REASK.format(reasons=checked.reasons())
        queries = fallback_queries(req.question, req.plan, req.previous_queries, req.count)
        return QueriesResult(queries=queries, usage=usage, source="fallback", rejected=rejected)

    @activity.defn(name=TAKE_NOTES.name)
    async def take_notes(self, req: NotesRequest) -> NotesResult:
        chat = self.chat_for(req)
        source = req.source
        passages = "\n".join(f"[{p.id}] {p.text[:1200]}" for p in source.passages)
        prompt = (
            f"Research question: {req.question}\nSource: {source.title}\nPassages:\n{passages}\n"
            "Write up to 4 short factual notes that help answer the question, each with the ids "
            "of the passages that support it."
        )
        async with heartbeating():
            draft, usage = await chat.complete_json(SYSTEM, prompt, NotesDraft, max_tokens=400)
        known = {p.id for p in source.passages}
        notes, dropped = [], 0
        for draft_note in draft.notes:
            note = Note(
                text=draft_note.text.strip(),
                source_id=source.source_id,
                # A passage id the model made up supports nothing: keep only real ones.
                passage_ids=[pid for pid in dict.fromkeys(draft_note.passage_ids) if pid in known],
            )
            # No re-ask here: one call per source read, and the other notes usually stand.
            problem = note_problem(note, source.passages)
            if problem is None:
                notes.append(note)
            elif note.text:
                dropped += 1
                activity.logger.info("note dropped (%s): %s", problem, note.text[:120])
        return NotesResult(notes=notes, usage=usage, dropped=dropped)

    @activity.defn(name=FIND_GAPS.name)
    async def find_gaps(self, req: GapsRequest) -> GapsResult:
        chat = self.chat_for(req)
        notes = notes_digest(req.notes, {})
        prompt = (
            f"Research question: {req.question}\nNotes so far:\n{notes}\n"
            "List up to 3 things still unknown that more searching could answer, "
            "or an empty list if the notes answer the question."
        )
        async with heartbeating():
            draft, usage = await chat.complete_json(SYSTEM, prompt, GapsDraft, max_tokens=200)
        checked = check_phrases(draft.gaps, [], 3)
        rejected = len(checked.refused)
        if checked.kept or only_repeats(checked):
            return GapsResult(gaps=checked.kept, usage=usage, rejected=rejected)
        # Junk is not "nothing unknown": the gap becomes the question's words no note covers.
        # No re-ask: the fallback is as good a lead for the next round's queries.
        gaps = fallback_gaps(req.question, req.notes)
        return GapsResult(gaps=gaps, usage=usage, source="fallback", rejected=rejected)

    @activity.defn(name=WRITE_REPORT.name)
    async def write_report(self, req: ReportRequest) -> ReportResult:
        """A report of checked claims: the model's draft, checked, with the extractive floor."""
        chat = self.chat_for(req)
        material = await asyncio.to_thread(load_material, self.store, req)
        draft, usage = await self._report_draft(chat, report_prompt(req, material))
        doc, checked = build_report(req, draft, material)
        md_key, json_key = await asyncio.to_thread(save_report, self.store, req, doc)
        return ReportResult(
            report_ref=md_key,
            json_ref=json_key,
            chars=len(doc.to_markdown()),
            citations=len(doc.cited_numbers()),
            citations_dropped=checked.citations_dropped,
            claims=sum(1 for _ in doc.claims()),
            claims_dropped=len(checked.removed),
            usage=usage,
        )

    async def _report_draft(self, chat: ChatClient, prompt: str) -> tuple[ReportDraft, Usage]:
        """The model's draft, or the one an earlier attempt of this activity already paid for.

        The draft goes out as heartbeat details once the model answered. When writing the
        report then fails (a full or read-only artifact store), Temporal hands those details to
        the retry, on whichever worker, so the run does not pay for the report twice.
        """
        saved = saved_draft()
        if saved is not None:
            activity.logger.info(
                "reusing the report draft of attempt %s", activity.info().attempt - 1
            )
            return saved.draft, saved.usage
        async with heartbeating():
            try:
                draft, usage = await chat.complete_json(
                    SYSTEM, prompt, ReportDraft, max_tokens=chat.settings.llm_report_max_tokens
                )
            except ApplicationError as exc:
                if exc.type != "invalid_output":
                    raise
                # No usable JSON after the re-asks (a small model cut off at the length limit):
                # the extractive floor writes the whole report rather than the run failing.
                # The calls' usage is not in the error, so it goes uncounted.
                activity.logger.warning("report draft unusable, extractive only: %s", exc)
                draft, usage = ReportDraft(title="", lead="", sections=[]), Usage()
        # After `heartbeating` ended: its empty heartbeats would replace these details.
        activity.heartbeat(SavedDraft(draft=draft, usage=usage).model_dump(mode="json"))
        return draft, usage
