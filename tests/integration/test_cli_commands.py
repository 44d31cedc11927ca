"""The `research` client commands against a live stack: real API socket, Temporal, worker.

Commands run through typer's CliRunner in a thread, so the worker (on the test's event loop)
keeps working while a command blocks. One command at a time: CliRunner swaps sys.stdout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from cli.ask import EXIT_API_ERROR, EXIT_OK, EXIT_RUN_FAILED, EXIT_UNREACHABLE, EXIT_USAGE
from cli.client import ApiClient
from cli.sse import follow_events
from domain.run import RunEvent, RunView
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.frontends import Cli, handle_of, ok, one_line_error
from tests.helpers.stack import free_port
from tests.live import ThreadedApi


async def start_run(api_url: str, run_id: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as http:
        body = {"question": "How is grid energy stored?", "run_id": run_id}
        resp = await http.post("/api/v1/runs", json={**body, "options": {"depth": 1}})
        assert resp.status_code == 202, resp.text


def report_revision(n: int) -> Callable[[RunView], bool]:
    return lambda v: (
        v.pending is not None and v.pending.kind == "report" and v.pending.revision == n
    )


async def test_a_reviewer_drives_a_run_from_the_terminal(
    cli: Cli,
    live_api: ThreadedApi,
    worker: Worker,
    llm: FakeLLM,
    client: Client,
    run_id: str,
    tmp_path: Path,
) -> None:
    await start_run(live_api.url, run_id)
    handle = handle_of(client, run_id)
    await wait_for_status(handle, pending_kind("clarification"))

    ok(await cli("status", run_id), "status    awaiting_input, stage clarifying", "q1: Which")
    ok(await cli("list", "--limit", "200"), run_id)
    listed = json.loads(ok(await cli("list", "--json", "--status", "awaiting_input")))
    assert run_id in {r["run_id"] for r in listed["runs"]}

    one_line_error(await cli("answer", run_id), EXIT_USAGE, "give --answer")
    one_line_error(await cli("answer", run_id, "-a", "q1"), EXIT_USAGE, "--answer takes")
    one_line_error(await cli("accept", run_id), EXIT_API_ERROR, "the API refused: wrong_stage")
    ok(await cli("answer", run_id, "-a", "q1=Europe", "--answer", "q2=2020s"), "sent 2 answer(s)")

    await wait_for_status(handle, report_revision(0))
    ok(await cli("status", run_id), "decide    research accept", "report for review", "# Report")
    one_line_error(await cli("report", run_id), EXIT_API_ERROR, "the API refused: run_not_finished")
    # No comment: the API says a report needs one.
    refused = await cli("reject", run_id, "-m", " ")
    one_line_error(refused, EXIT_API_ERROR, "the API refused: invalid_decision")
    assert "needs a comment" in refused.stderr
    ok(await cli("reject", run_id, "-m", "add costs"), "sent the report (revision 0)")
    await wait_for_status(handle, report_revision(1))
    ok(
        await cli("accept", run_id, "-m", "good"),
        f"accepted the report (revision 1) of run {run_id}",
    )

    watched = await cli("watch", run_id)  # after the end: the whole log, then the outcome
    assert watched.exit_code == EXIT_OK, watched.stderr
    lines = watched.stdout.splitlines()
    assert lines[0].split()[:1] == ["1"] and "finished" in lines[-2]
    assert lines[-1].startswith(f"run {run_id} completed")

    md = ok(await cli("report", run_id), "# Revised report")  # piped: the Markdown itself
    assert md.lstrip().startswith("#") and "[1]" in md
    report = json.loads(ok(await cli("report", run_id, "--format", "json")))
    assert report["markdown"] == md and report["citations"] and report["sources"]
    saved = tmp_path / "report.html"
    result = await cli("report", run_id, "-f", "html", "-o", str(saved))
    assert result.exit_code == EXIT_OK and f"to {saved}" in result.stderr
    assert saved.read_text().startswith("<!doctype html>") and 'class="cite"' in saved.read_text()
    ok(await cli("sources", run_id), "## Sources", "1. ")
    assert json.loads(ok(await cli("sources", run_id, "--json")))[0]["number"] == 1


async def test_watch_follows_a_live_run_and_stop_and_cancel_end_runs(
    cli: Cli, live_api: ThreadedApi, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    await start_run(live_api.url, run_id)
    handle = handle_of(client, run_id)
    watching = asyncio.create_task(cli("watch", run_id))
    await wait_for_status(handle, pending_kind("clarification"))
    async with httpx.AsyncClient(base_url=live_api.url) as http:
        resp = await http.post(f"/api/v1/runs/{run_id}/clarification", json={"skip": True})
        assert resp.status_code == 200
        await wait_for_status(handle, pending_kind("report"))
        resp = await http.post(f"/api/v1/runs/{run_id}/acceptance", json={"accepted": True})
        assert resp.status_code == 200
    watched = await watching
    assert watched.exit_code == EXIT_OK, watched.stderr
    types = [line.split()[3] for line in watched.stdout.splitlines()[:-1]]
    assert types.count("input_awaited") == 2 and types[-1] == "finished"
    assert {"stage_changed", "query_issued", "source_read", "llm_call"} <= set(types)

    stopped, cancelled = f"{run_id}-s", f"{run_id}-c"
    for other in (stopped, cancelled):
        await start_run(live_api.url, other)
        await wait_for_status(handle_of(client, other), pending_kind("clarification"))
    ok(await cli("stop", stopped, "-m", "enough"), f"asked run {stopped} to stop")
    result = await cli("watch", stopped)  # nothing read yet, so nothing to report: `stopped`
    assert result.exit_code == EXIT_RUN_FAILED and f"run {stopped} stopped" in result.stdout
    ok(await cli("cancel", cancelled), f"cancelled run {cancelled}")
    again = await cli("cancel", cancelled)
    one_line_error(again, EXIT_API_ERROR, "the API refused: run_finished")


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["watch"],
        ["answer", "--skip"],
        ["accept"],
        ["reject", "-m", "no"],
        ["stop"],
        ["cancel"],
        ["report"],
        ["sources"],
    ],
)
async def test_unknown_run_is_one_line(cli: Cli, args: list[str]) -> None:
    result = await cli(args[0], "never-started", *args[1:])
    one_line_error(result, EXIT_API_ERROR, "the API refused: run_not_found: no such run")


@pytest.mark.parametrize("args", [["list"], ["status", "r1"], ["watch", "r1"], ["report", "r1"]])
async def test_unreachable_api_is_one_line(args: list[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await Cli(url)(*args)
    one_line_error(result, EXIT_UNREACHABLE, f"cannot reach the API at {url}")


async def test_api_key_is_sent_as_a_bearer_token(
    live_api: ThreadedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"runs": [], "next_page_token": None})

    with ApiClient("http://api", api_key="s3cret", transport=httpx.MockTransport(api)) as c:
        c.list_runs()
    with ApiClient("http://api", transport=httpx.MockTransport(api)) as c:
        c.list_runs()
    assert seen == ["Bearer s3cret", None]
    # The live API ignores the key for now, but the flag and the variable are accepted.
    monkeypatch.setenv("RESEARCH_API_KEY", "from-env")
    ok(await Cli(live_api.url)("list", "--api-key", "k", "--limit", "1"))


def test_the_follower_resumes_after_the_last_event_it_handed_out() -> None:
    def sse(seq: int, type_: str) -> str:
        event = {"seq": seq, "at": "2026-01-01T00:00:00Z", "type": type_}
        return f"id: {seq}\nevent: {type_}\ndata: {json.dumps(event)}\n\n"

    asked: list[str | None] = []

    def api(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("last-event-id"))
        if len(asked) == 1:  # the first connection drops after two events
            return httpx.Response(200, text=": hello\n\n" + sse(1, "a") + sse(2, "b"))
        if len(asked) == 2:
            return httpx.Response(503, json={"error_code": "temporal_unavailable"})
        return httpx.Response(200, text=sse(3, "c") + sse(4, "finished") + sse(5, "never"))

    notes: list[tuple[int, str]] = []
    with ApiClient("http://api", transport=httpx.MockTransport(api)) as c:
        got = list(
            follow_events(
                c, "r1", on_reconnect=lambda a, r: notes.append((a, r)), sleep=lambda s: None
            )
        )
    assert [e.seq for e in got if isinstance(e, RunEvent)] == [1, 2, 3, 4]
    assert asked == [None, "2", "2"] and notes[0][0] == 2
