"""`research ask`: start (or follow) a run, answer what it asks, print the report.

Progress and prompts go to stderr and the report to stdout, so `research ask ... > report.md`
keeps only the report. On a terminal the report is rendered; through a pipe it stays Markdown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.prompt import Confirm, Prompt
from rich.rule import Rule

from cli.budget import ask_for_limits, limits_text
from cli.client import ApiClient
from cli.client_errors import ApiError
from domain.run import TERMINAL_STATUSES, PendingInput, RunStatus, RunView

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_UNREACHABLE = 2
EXIT_USAGE = 2
EXIT_API_ERROR = 3
EXIT_INTERRUPTED = 130

SUCCESS = frozenset({RunStatus.completed, RunStatus.completed_with_gaps})
REVIEWS = {"plan": "plan", "report": "report", "approval": "content"}


def run_options(
    breadth: int | None, depth: int | None, max_sources: int | None, plan_approval: bool | None
) -> dict[str, Any]:
    """Only what the person chose; the server's defaults apply to the rest."""
    chosen = {
        "breadth": breadth,
        "depth": depth,
        "max_sources": max_sources,
        "require_plan_approval": plan_approval,
    }
    return {key: value for key, value in chosen.items() if value is not None}


@dataclass
class Asker:
    """Follows one run to its end, answering for the person at the terminal."""

    client: ApiClient
    err: Console
    out: Console
    no_input: bool = False
    yes: bool = False
    poll_s: float = 1.0
    _handled: set[tuple[str, int, str]] = field(default_factory=set)

    def start(
        self,
        question: str | None,
        options: dict[str, Any],
        run_id: str | None,
        follow_up: str | None = None,
    ) -> str:
        """Start a run (a follow-up of the finished run `follow_up`, if given), or attach to
        `run_id` when no question is given or it already exists."""
        if question is None:
            assert run_id is not None
            return run_id
        try:
            started = self.client.start_run(question, options, run_id, follow_up)
        except ApiError as exc:
            # A follow-up's 409 may also say the run it follows is not finished: not ours.
            if exc.status == 409 and run_id and not follow_up:
                self.err.print(f"run {run_id} already exists; following it")
                return run_id
            raise
        of = f" following up {follow_up}" if follow_up else ""
        self.err.print(f"started run [bold]{started['run_id']}[/]{of}")
        return str(started["run_id"])

    def follow(self, run_id: str) -> RunView:
        """Poll until the run is terminal, printing changes and handling pending input."""
        seen: tuple[object, ...] = ()
        while True:
            view = self.client.get_run(run_id)
            now = (view.status, view.stage, view.progress.model_dump())
            if now != seen:
                self._print_change(view, stage_changed=now[:2] != seen[:2])
                seen = now
            if view.status in TERMINAL_STATUSES:
                return view
            pending = view.pending
            if pending is not None and _key(pending) not in self._handled:
                self._handled.add(_key(pending))
                self._handle(view, pending)
                continue  # look again at once: the answer moves the run along
            time.sleep(self.poll_s)

    def _print_change(self, view: RunView, *, stage_changed: bool) -> None:
        clock = time.strftime("%H:%M:%S")
        if stage_changed:
            self.err.print(f"[dim]{clock}[/] [bold]{view.stage}[/] ({view.status})")
        p = view.progress
        if p.queries_run or p.sources_read:
            self.err.print(
                f"[dim]{clock}   round {p.round}/{p.rounds_total}, {p.queries_run} queries, "
                f"{p.sources_found} sources found, {p.sources_read} read, {p.notes} notes[/]"
            )

    def _handle(self, view: RunView, pending: PendingInput) -> None:
        run_id = view.run_id
        try:
            if pending.kind == "clarification":
                self._clarify(run_id, pending)
            elif pending.kind == "budget":
                self._budget(view, pending)
            else:
                self._review(run_id, pending)
        except ApiError as exc:
            if exc.status != 409:
                raise
            # Someone else (another terminal, the Web UI) answered first, or the wait ended.
            self.err.print(f"[yellow]the run no longer waits for this input:[/] {escape(str(exc))}")

    def _clarify(self, run_id: str, pending: PendingInput) -> None:
        if self.no_input or not pending.questions:
            self.client.answer(run_id, {}, skip=True)
            self.err.print(f"skipped {len(pending.questions)} clarifying question(s)")
            return
        self.err.print("[bold]The run asks before it starts:[/] (leave empty to skip one)")
        answers = {}
        for question in pending.questions:
            try:
                text = Prompt.ask(f"  {escape(question.text)}", default="", console=self.err)
            except EOFError:
                break  # input ran out (a pipe): the rest count as skipped, as an empty line does
            if text.strip():
                answers[question.id] = text.strip()
        self.client.answer(run_id, answers, skip=not answers)
        self.err.print(f"sent {len(answers)} answer(s)")

    def _review(self, run_id: str, pending: PendingInput) -> None:
        subject = REVIEWS.get(pending.kind, pending.kind)
        title = f"{subject} for review" + (
            f" (revision {pending.revision})" if pending.revision else ""
        )
        self.err.print(Rule(title))
        self.err.print(
            Markdown(pending.content or f"(no content; artifact {pending.artifact_ref})")
        )
        self.err.print(Rule())
        # Unattended (--yes, or --no-input) means "take what the run produced": a run left
        # waiting would sit until its input timeout and end `expired`, which helps no one.
        if self.yes or self.no_input:
            self.client.decide(run_id, True)
            self.err.print(f"accepted the {subject} (unattended)")
            return
        if Confirm.ask(f"Accept this {subject}?", default=True, console=self.err):
            self.client.decide(run_id, True)
            self.err.print(f"accepted the {subject}")
            return
        comment = Prompt.ask("What should change?", console=self.err).strip()
        self.client.decide(run_id, False, comment)
        self.err.print(f"sent the {subject} back for revision")

    def _budget(self, view: RunView, pending: PendingInput) -> None:
        # Unattended never means "spend more": nobody chose new limits, so the run stops and
        # writes its partial report, as a person declining would.
        limits = None
        if not (self.yes or self.no_input):
            try:
                limits = ask_for_limits(self.err, view, pending)
            except EOFError:
                limits = None  # input ran out (a pipe): nobody agreed to spend more
        if limits is None:
            self.client.decide(view.run_id, False, "budget not extended")
            how = " (unattended)" if self.yes or self.no_input else ""
            self.err.print(f"stopped at the budget{how}: {escape(pending.content or '')}")
            return
        self.client.decide(view.run_id, True, budget=limits)
        self.err.print(f"extended the budget: {limits_text(limits)}")

    def finish(self, view: RunView) -> int:
        """Print the outcome, the report and the sources; return the exit code."""
        colour = "green" if view.status in SUCCESS else "red"
        reason = f": {escape(view.finish_reason)}" if view.finish_reason else ""
        self.err.print(f"run {view.run_id} [bold {colour}]{view.status}[/]{reason}")
        if view.error:
            self.err.print(f"[red]error:[/] {escape(view.error)}", highlight=False, soft_wrap=True)
        u = view.usage
        cost = f", ${u.cost_usd:.4f}" if u.cost_usd else ""
        self.err.print(f"[dim]{u.llm_calls} LLM calls, {u.total_tokens} tokens{cost}[/]")
        report = self.client.report(view.run_id)
        if report is None:
            self.err.print("no report was written")
        else:
            self._emit(report)
        try:
            sources = self.client.sources(view.run_id)
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
            sources = []
        if sources:
            # Every source read, after the report's own Sources (those its claims cite).
            self._emit(sources_markdown(sources, title="All sources read"))
        return EXIT_OK if view.status in SUCCESS else EXIT_RUN_FAILED

    def _emit(self, markdown: str) -> None:
        if self.out.is_terminal:
            self.out.print(Markdown(markdown))
        else:
            self.out.print(markdown, markup=False, highlight=False, soft_wrap=True)


def sources_markdown(sources: list[dict[str, Any]], title: str = "Sources") -> str:
    """The context bundle as a numbered Markdown list: title, address, passages cited."""
    lines = [f"## {title}", ""]
    for index, source in enumerate(sources, 1):
        number = source.get("number", index)
        title = source.get("title") or source.get("source_id") or "untitled"
        url = source.get("url") or source.get("source_id") or ""
        passages = source.get("passages") or []
        cited = f", {len(passages)} passage(s)" if passages else ""
        lines.append(f"{number}. {title}: {url}{cited}")
    return "\n".join(lines) + "\n"


def _key(pending: PendingInput) -> tuple[str, int, str]:
    return (pending.kind, pending.revision, pending.since.isoformat())
