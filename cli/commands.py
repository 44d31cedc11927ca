"""`research list | status | stop | cancel`: one request each (answer, accept and reject are in
cli/decide.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.claims import ShowClaims, fetch_claims_report, print_claims, progress_claims
from cli.client import DEFAULT_API_URL
from cli.common import (
    ApiKey,
    ApiUrl,
    AsJson,
    RunId,
    api_client,
    emit_json,
    emit_markdown,
    stderr,
    stdout,
)
from domain.run import TERMINAL_STATUSES, RunStatus, RunView, Stage


def list_runs(
    status: Annotated[RunStatus | None, typer.Option(help="Only runs with this status")] = None,
    stage: Annotated[Stage | None, typer.Option(help="Only runs in this stage")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many runs")] = 20,
    as_json: AsJson = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """List runs, newest first."""
    with api_client(api_url, api_key) as client:
        page = client.list_runs(status=status, stage=stage, page_size=limit)
    out = stdout()
    if as_json:
        emit_json(out, page)
        return
    if not page["runs"]:
        out.print("no runs")
        return
    rows = [
        [
            str(run["run_id"]),
            str(run["status"] or "-"),
            str(run["stage"] or "-"),
            str(run["started_at"])[:16].replace("T", " "),
            str(run["question"] or "-"),
        ]
        for run in page["runs"]
    ]
    table = Table(box=None, pad_edge=False)
    for i, header in enumerate(("RUN ID", "STATUS", "STAGE", "STARTED")):
        # Ids and states are never cut; only the question gives way on a narrow terminal.
        table.add_column(header, no_wrap=True, min_width=max(len(r[i]) for r in rows))
    table.add_column("QUESTION", overflow="ellipsis", no_wrap=True)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)


def status(
    run_id: RunId,
    claims: ShowClaims = None,
    as_json: AsJson = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """A run's status, stage, progress and what it waits for (with the plan or report); for a
    finished report written as claims, each claim with its citations and support."""
    report = None
    with api_client(api_url, api_key) as client:
        view = client.get_run(run_id)
        finished = view.status in TERMINAL_STATUSES
        wanted = claims if claims is not None else bool(view.report_json_ref)
        if wanted and finished and not as_json:
            report = fetch_claims_report(client, run_id)
    out = stdout()
    if as_json:
        emit_json(out, view.model_dump(mode="json"))
        return
    print_status(out, view)
    if report is not None:
        print_claims(out, report)
    elif claims:
        # The API serves the report (and so its claims) once the run has finished.
        why = "once the run has finished" if not finished else "for a report written as claims"
        stderr().print(f"note: claims are shown {why}", markup=False)
    if view.pending is not None and view.pending.content:
        out.rule(f"{view.pending.kind} for review")
        emit_markdown(out, view.pending.content)


def print_status(out: Console, view: RunView) -> None:
    p, u = view.progress, view.usage
    out.print(f"run {view.run_id}: {escape(view.question)}")
    out.print(f"status    {view.status}, stage {view.stage}")
    out.print(
        f"progress  round {p.round}/{p.rounds_total}, {p.queries_run} queries, "
        f"{p.sources_read}/{view.options.max_sources} sources read, {p.notes} notes, "
        f"{p.revisions} revisions"
    )
    counted = progress_claims(p)
    if counted:
        out.print(f"claims    {counted}")
    cost = f", ${u.cost_usd:.4f}" if u.cost_usd else ""
    out.print(f"usage     {u.llm_calls} LLM calls, {u.total_tokens} tokens{cost}")
    if view.finished_at is not None:
        reason = escape(view.finish_reason or "")
        out.print(f"finished  {view.finished_at:%Y-%m-%d %H:%M:%S} ({reason})")
    if view.error:
        out.print(f"error     {escape(view.error)}", soft_wrap=True)
    pending = view.pending
    if pending is None:
        return
    out.print(f"waiting   for {pending.kind} until {pending.deadline:%Y-%m-%d %H:%M} UTC")
    for question in pending.questions:
        out.print(f"  {question.id}: {escape(question.text)}")
    if pending.kind == "clarification":
        out.print(f"answer    research answer {view.run_id} --answer q1=... (or --skip)")
    elif pending.kind == "budget":
        out.print(
            f"decide    research accept {view.run_id} --max-tokens N | --max-cost-usd X | "
            f"--max-duration 2h, or research stop {view.run_id} (partial report)"
        )
    else:
        edit = " [--plan-file FILE, one item a line]" if pending.kind == "plan" else ""
        out.print(
            f"decide    research accept {view.run_id} [-m comment]{edit}, "
            f"or research reject {view.run_id} -m 'what to change'"
        )


def stop(
    run_id: RunId,
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why, for the record")] = "",
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Finish a run now with what it has (a partial report)."""
    with api_client(api_url, api_key) as client:
        client.stop(run_id, reason)
    stdout().print(f"asked run {run_id} to stop; it finishes with what it has")


def cancel(run_id: RunId, api_url: ApiUrl = DEFAULT_API_URL, api_key: ApiKey = None) -> None:
    """Abort a run; it ends `cancelled`."""
    with api_client(api_url, api_key) as client:
        client.cancel(run_id)
    stdout().print(f"cancelled run {run_id}")
