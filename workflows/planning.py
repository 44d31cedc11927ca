"""Before the research: clarifying questions to the person who asked, then the research plan.

`clarify` asks the model for questions and waits for the answers (or a skip); `plan` drafts the
plan and, when the run asks for plan approval, waits for the reviewer, redrafting with each
comment until the plan is accepted (as drafted or edited). Deterministic only.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.table import PLAN, PROPOSE_QUESTIONS
    from domain.calls import PlanRequest, QuestionsRequest
    from domain.options import RunOptions
    from domain.run import Stage
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.human import HumanWaits
from workflows.review import edited_plan
from workflows.tracker import RunTracker


class Planner:
    """Fills `state.clarifications` and `state.plan` for the run's `question`."""

    def __init__(
        self,
        state: RunState,
        track: RunTracker,
        runner: ActivityRunner,
        human: HumanWaits,
        question: str,
        opts: RunOptions,
    ) -> None:
        self.state = state
        self.track = track
        self.runner = runner
        self.human = human
        self.question = question
        self.opts = opts

    async def clarify(self) -> None:
        opts = self.opts
        if not opts.clarify or opts.max_questions == 0:
            return
        self.track.stage(Stage.clarifying, "proposing clarifying questions")
        req = QuestionsRequest(question=self.question, max_questions=opts.max_questions)
        result = await self.runner.call(PROPOSE_QUESTIONS, req, "propose clarifying questions")
        questions = result.questions[: opts.max_questions]
        if not questions:
            self.track.event("no_questions", "the question is clear enough")
            return
        self.track.event("questions_asked", f"{len(questions)} questions", count=len(questions))
        answer = await self.human.clarification(questions)
        if not answer.skip:
            self.state.clarifications = {
                q.text: answer.answers[q.id] for q in questions if q.id in answer.answers
            }

    async def plan(self) -> None:
        opts, state = self.opts, self.state
        comment: str | None = None
        for revision in range(opts.max_revisions + 1):
            self.track.stage(Stage.planning, "drafting the research plan")
            req = PlanRequest(
                question=self.question,
                clarifications=state.clarifications,
                previous_plan=state.plan or None,
                comment=comment,
                context=state.seed_context,
            )
            result = await self.runner.call(PLAN, req, "draft the research plan")
            state.plan = result.plan
            self.track.view.plan = state.plan
            self.track.event("plan_drafted", f"plan revision {revision}", revision=revision)
            if not opts.require_plan_approval:
                return
            self.track.stage(Stage.plan_review, "waiting for plan approval")
            decision = await self.human.review("plan", revision, content=state.plan)
            if decision.accepted:
                if decision.plan is not None:  # state and an event only: no patch needed
                    state.plan = edited_plan(self.track, state.plan, decision)
                    self.track.view.plan = state.plan
                return
            comment = decision.comment
