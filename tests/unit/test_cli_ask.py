"""`research ask` against a scripted API: what it prompts, what it posts, what it prints."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console

from cli.ask import EXIT_OK, EXIT_RUN_FAILED, Asker
from cli.client import ApiClient
from domain.run import ClarifyingQuestion, PendingInput, RunStatus, RunView, Stage
from tests.helpers.frontends import posted_body

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
QUESTIONS = [
    ClarifyingQuestion(id="q1", text="Which region?"),
    ClarifyingQuestion(id="q2", text="Which years?"),
]


def pending(kind: str, revision: int = 0, content: str | None = None) -> PendingInput:
    questions = QUESTIONS if kind == "clarification" else []
    return PendingInput(
        kind=kind,  # type: ignore[arg-type]
        since=NOW + timedelta(minutes=revision),
        deadline=NOW + timedelta(days=7),
        questions=questions,
        content=content,
        revision=revision,
    )


class FakeApi:
    """A run that asks, plans (revised once if rejected), researches and asks for acceptance."""

    def __init__(self, final: RunStatus = RunStatus.completed) -> None:
        self.final = final
        self.phase = "clarify"
        self.plan_revision = 0
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def view(self) -> RunView:
        status, stage, waiting = RunStatus.awaiting_input, Stage.clarifying, None
        if self.phase == "clarify":
            waiting = pending("clarification")
        elif self.phase == "plan":
            stage = Stage.plan_review
            waiting = pending(
                "plan", self.plan_revision, f"# Plan v{self.plan_revision}\n1. search"
            )
        elif self.phase == "research":
            status, stage, self.phase = RunStatus.running, Stage.researching, "report"
        elif self.phase == "report":
            stage, waiting = Stage.report_review, pending("report", 0, "# Draft\nBatteries [1].")
        else:
            status, stage = self.final, Stage.finished
        return RunView(
            run_id="r1",
            question="grid storage?",
            status=status,
            stage=stage,
            pending=waiting,
            created_at=NOW,
            updated_at=NOW,
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if request.method == "POST":
            body = posted_body(path, request)
            self.posts.append((path, body))
            self._advance(path, body)
            return httpx.Response(202 if path == "/runs" else 200, json={"run_id": "r1"})
        if path == "/runs/r1":
            return httpx.Response(200, json=self.view().model_dump(mode="json"))
        if self.final is not RunStatus.completed:
            error = {"error_code": "not_ready", "message": "none", "details": {}, "request_id": "x"}
            return httpx.Response(409, json=error)
        if path == "/runs/r1/report":
            return httpx.Response(200, text="# Findings\nBatteries shift solar [1].\n")
        sources = [{"number": 1, "title": "Batteries", "url": "file:///c/b.md", "passages": [{}]}]
        return httpx.Response(200, json=sources)

    def _advance(self, path: str, body: dict[str, Any]) -> None:
        if path.endswith("/clarification"):
            self.phase = "plan"
        elif path.endswith("/acceptance") and self.phase == "plan":
            if body["accepted"]:
                self.phase = "research"
            else:
                self.plan_revision += 1
        elif path.endswith("/acceptance") and self.phase == "report":
            self.phase = "done"


def run_ask(fake: FakeApi, **flags: bool) -> tuple[int, str, str]:
    err, out = io.StringIO(), io.StringIO()
    client = ApiClient("http://api.test", transport=httpx.MockTransport(fake))
    asker = Asker(client, Console(file=err, width=100), Console(file=out), poll_s=0, **flags)
    run_id = asker.start("grid storage?", {"require_plan_approval": True}, None)
    code = asker.finish(asker.follow(run_id))
    return code, err.getvalue(), out.getvalue()


def test_ask_answers_reviews_and_prints_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    # Typed answers: q1, q2 left empty, reject plan v0 with a comment, accept v1, accept report.
    monkeypatch.setattr("sys.stdin", io.StringIO("Europe\n\nn\nAdd costs\ny\ny\n"))
    fake = FakeApi()
    code, err, out = run_ask(fake)

    assert code == EXIT_OK
    assert fake.posts == [
        ("/runs", {"question": "grid storage?", "options": {"require_plan_approval": True}}),
        ("/runs/r1/clarification", {"answers": {"q1": "Europe"}}),
        ("/runs/r1/acceptance", {"accepted": False, "comment": "Add costs"}),
        ("/runs/r1/acceptance", {"accepted": True}),
        ("/runs/r1/acceptance", {"accepted": True}),
    ]
    for line in ("plan_review", "researching", "report_review", "Plan v1", "completed"):
        assert line in err
    # Not a terminal: the report stays Markdown on stdout, progress stays on stderr.
    assert out.startswith("# Findings\nBatteries shift solar [1].\n")
    assert "1. Batteries: file:///c/b.md, 1 passage(s)" in out
    assert "researching" not in out


def test_no_input_never_blocks_and_a_failed_run_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # any prompt would hit end of input
    fake = FakeApi(final=RunStatus.failed)
    code, err, out = run_ask(fake, no_input=True)

    assert code == EXIT_RUN_FAILED
    assert [body for _, body in fake.posts[1:]] == [
        {"skip": True},
        {"accepted": True},
        {"accepted": True},
    ]
    assert "failed" in err and "no report was written" in err
    assert out == ""
