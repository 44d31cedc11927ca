"""A run paused on its budget, from the terminal: `research accept --max-*` against the live
stack, and `research ask` prompting for new limits (or stopping) against a scripted API.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console
from temporalio.client import Client
from temporalio.worker import Worker

from cli.ask import EXIT_API_ERROR, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, Asker
from cli.budget import budget_limits, limits_text, parse_duration
from cli.client import ApiClient
from domain.run import PendingInput, RunStatus, RunView, Stage, Usage
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.frontends import Cli, handle_of, ok, one_line_error, posted_body
from tests.live import ThreadedApi
from workflows.research import ResearchWorkflow

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SPENT = "The run's budget ran out: 1200 of 1000 tokens used. So far: 1200 tokens, $0.0042."


# -- durations and limits --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400),
     ("PT2H", 7200), ("P1DT1H", 90000), ("1.5h", 5400)],
)  # fmt: skip
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2x", "0", "0.5s", "P"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_only_the_limits_given_are_sent() -> None:
    assert budget_limits(None, None, None) == {}
    assert budget_limits(5000, None, "1h") == {"max_tokens": 5000, "max_duration": 3600}
    assert limits_text(budget_limits(5000, 2.5, "1d1h30m")) == "5000 tokens, $2.5, 1d1h30m"
    with pytest.raises(ValueError, match="more than 0"):
        budget_limits(None, 0.0, None)


# -- research ask at a budget pause ----------------------------------------------------------


class BudgetApi:
    """A run that pauses on its budget once, then completes (extended) or stops (declined)."""

    def __init__(self) -> None:
        self.phase = "budget"
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def view(self) -> RunView:
        status, stage, pending = RunStatus.awaiting_input, Stage.researching, None
        if self.phase == "budget":
            pending = PendingInput(
                kind="budget",
                since=NOW,
                deadline=NOW + timedelta(days=7),
                content=SPENT,
                revisions_left=1,
            )
        else:
            status, stage = RunStatus(self.phase), Stage.finished
        usage = Usage(llm_calls=4, prompt_tokens=1000, completion_tokens=200, cost_usd=0.0042)
        return RunView(
            run_id="r1",
            question="grid storage?",
            status=status,
            stage=stage,
            pending=pending,
            created_at=NOW,
            updated_at=NOW,
            usage=usage,
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if request.method == "POST":
            body = posted_body(path, request)
            self.posts.append((path, body))
            if path.endswith("/acceptance"):
                self.phase = "completed" if body["accepted"] else "stopped"
            return httpx.Response(200, json={"accepted": body.get("accepted"), "subject": "budget"})
        if path == "/runs/r1":
            return httpx.Response(200, json=self.view().model_dump(mode="json"))
        if path == "/runs/r1/report":
            return httpx.Response(200, text="# Partial report\n")
        return httpx.Response(200, json=[])


def follow(api: BudgetApi, stdin: str, monkeypatch: pytest.MonkeyPatch, **flags: bool):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    err = io.StringIO()
    client = ApiClient("http://api.test", transport=httpx.MockTransport(api))
    asker = Asker(
        client, Console(file=err, width=120), Console(file=io.StringIO()), poll_s=0, **flags
    )
    code = asker.finish(asker.follow("r1"))
    return code, err.getvalue()


def test_ask_extends_the_budget_with_the_limits_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    api = BudgetApi()
    # Extend? yes; tokens: first not a number (asked again), then 5000; cost kept; 2 hours.
    code, err = follow(api, "y\nlots\n\n\n5000\n\n2h\n", monkeypatch)
    assert code == EXIT_OK
    assert api.posts == [
        (
            "/runs/r1/acceptance",
            {"accepted": True, "budget": {"max_tokens": 5000, "max_duration": 7200.0}},
        )
    ]
    assert "budget ran out" in err and "1200 of 1000 tokens used" in err
    assert "spent so far: 1200 tokens, $0.0042, 4 LLM calls" in err
    assert "'lots' is not a number" in err
    assert "extended the budget: 5000 tokens, 2h" in err
    assert "4 LLM calls, 1200 tokens, $0.0042" in err  # the outcome line shows the cost


@pytest.mark.parametrize(
    ("stdin", "flags"),
    [("n\n", {}), ("y\n\n\n\ny\n", {}), ("", {}), ("", {"yes": True}), ("", {"no_input": True})],
    ids=["declined", "no-limit-given", "end-of-input", "yes", "no-input"],
)
def test_ask_stops_at_the_budget_unless_someone_chose_new_limits(
    stdin: str, flags: dict[str, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = BudgetApi()
    code, err = follow(api, stdin, monkeypatch, **flags)
    # Stopped with a partial report: nobody agreed to spend more, not even --yes.
    assert api.posts == [
        ("/runs/r1/acceptance", {"accepted": False, "comment": "budget not extended"})
    ]
    assert code == EXIT_RUN_FAILED and "stopped at the budget" in err
    assert "# Partial report" not in err  # the report goes to stdout


# -- research accept --max-* against the live stack ------------------------------------------


async def test_accept_extends_a_budget_from_the_terminal(
    cli: Cli, live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    async with httpx.AsyncClient(base_url=live_api.url) as http:
        options = {"depth": 1, "clarify": False, "require_acceptance": False, "max_tokens": 1}
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
        resp = await http.post("/api/v1/runs", json=body)
        assert resp.status_code == 202, resp.text
    handle = handle_of(client, run_id)
    await wait_for_status(handle, pending_kind("budget"))

    ok(
        await cli("status", run_id),
        "waiting   for budget",
        f"research accept {run_id} --max-tokens N",
        f"research stop {run_id}",
        "tokens used",
    )
    # Going on needs new limits: the API says so, in one line.
    one_line_error(await cli("accept", run_id), EXIT_API_ERROR, "the API refused: invalid_decision")
    bad = await cli("accept", run_id, "--max-duration", "soon")
    one_line_error(bad, EXIT_USAGE, "'soon' is not a duration")
    ok(
        await cli("accept", run_id, "--max-tokens", "1000000", "--max-duration", "2h"),
        f"extended the budget of run {run_id}: 1000000 tokens, 2h",
    )
    final = await handle.result()
    assert final.status == RunStatus.completed and final.usage.total_tokens > 1
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    extended = [e.data for e in events if e.type == "budget_extended"]
    assert extended == [{"max_tokens": 1_000_000, "max_cost_usd": None, "max_duration": "PT2H"}]
    # Status shows the limits now in force.
    assert (final.options.max_tokens, final.options.max_duration) == (
        1_000_000,
        timedelta(hours=2),
    )


async def test_reject_refuses_more_budget_and_the_run_stops_with_a_partial_report(
    cli: Cli, live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    async with httpx.AsyncClient(base_url=live_api.url) as http:
        options = {"depth": 2, "clarify": False, "max_tokens": 1}
        body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
        assert (await http.post("/api/v1/runs", json=body)).status_code == 202
    handle = handle_of(client, run_id)
    await wait_for_status(handle, pending_kind("budget"))
    # No comment needed to say no to more spending.
    ok(
        await cli("reject", run_id),
        f"refused more budget for run {run_id}; it stops with what it has",
    )
    final = await handle.result()
    assert final.status == RunStatus.stopped, final.status  # nothing read yet: no report
    assert "budget" in (final.finish_reason or ""), final.finish_reason
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    assert not [e for e in events if e.type == "budget_extended"]
