"""`research answer | accept | reject`: a person's input to a run that waits for it.

One request each: answers to the clarifying questions, or a decision on the plan, the report or
a budget pause (an accepted plan may come edited; an accepted budget pause, with new limits).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.ask import EXIT_USAGE
from cli.budget import budget_limits, limits_text
from cli.client import DEFAULT_API_URL
from cli.common import (
    ApiKey,
    ApiUrl,
    PlanFile,
    PlanItem,
    RunId,
    api_client,
    edited_plan,
    fail,
    stderr,
    stdout,
)


def answer(
    run_id: RunId,
    answers: Annotated[
        list[str] | None,
        typer.Option("--answer", "-a", help="QUESTION_ID=TEXT, once per question"),
    ] = None,
    skip: Annotated[bool, typer.Option("--skip", help="Skip the questions")] = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Answer a run's clarifying questions (or skip them)."""
    if bool(answers) == skip:
        fail("give --answer ID=TEXT (repeatable) or --skip", EXIT_USAGE)
    parsed: dict[str, str] = {}
    for item in answers or []:
        qid, sep, text = item.partition("=")
        if not sep or not qid.strip() or not text.strip():
            fail(f"--answer takes QUESTION_ID=TEXT, not {item!r}", EXIT_USAGE)
        parsed[qid.strip()] = text.strip()
    with api_client(api_url, api_key) as client:
        client.answer(run_id, parsed, skip=skip)
    what = "skipped the questions" if skip else f"sent {len(parsed)} answer(s)"
    stdout().print(f"{what} for run {run_id}")


Comment = Annotated[str, typer.Option("--comment", "-m", help="A comment for the record")]


def accept(
    run_id: RunId,
    comment: Comment = "",
    max_tokens: Annotated[
        int | None, typer.Option(help="Budget pause: the run's new token limit", min=1)
    ] = None,
    max_cost_usd: Annotated[
        float | None, typer.Option(help="Budget pause: the run's new cost limit in USD")
    ] = None,
    max_duration: Annotated[
        str | None,
        typer.Option(help="Budget pause: the run's new time limit (90m, 2h, 1d, PT2H)"),
    ] = None,
    plan: PlanItem = None,
    plan_file: PlanFile = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Accept the plan (as drafted or edited) or report a run waits on, or extend its budget."""
    items = edited_plan(plan, plan_file)
    try:
        limits = budget_limits(max_tokens, max_cost_usd, max_duration)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    with api_client(api_url, api_key) as client:
        result = client.decide(run_id, True, comment, budget=limits or None, plan=items)
    if isinstance(result, dict) and result.get("subject") == "budget":
        stdout().print(f"extended the budget of run {run_id}: {limits_text(limits)}")
        return
    edited = "" if items is None else f", edited to {len(items)} items"
    stdout().print(f"accepted the {_subject(result)} of run {run_id}{edited}")
    if limits:
        # The decision was about a plan or report: the run had not paused on its budget.
        stderr().print("note: the new limits were not used; the run was not paused on its budget")


def reject(
    run_id: RunId,
    comment: Annotated[
        str,
        typer.Option(
            "--comment", "-m", help="What should change (a plan or report needs one; a budget not)"
        ),
    ] = "",
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Send the plan or report back for revision, saying what should change; at a budget pause,
    refuse more budget, which stops the run with a partial report."""
    # Whether a comment is needed depends on what the run waits for: the API checks and says.
    with api_client(api_url, api_key) as client:
        result = client.decide(run_id, False, comment.strip())
    if isinstance(result, dict) and result.get("subject") == "budget":
        stdout().print(f"refused more budget for run {run_id}; it stops with what it has")
    else:
        stdout().print(f"sent the {_subject(result)} of run {run_id} back for revision")


def _subject(result: Any) -> str:
    subject = result.get("subject") if isinstance(result, dict) else None
    revision = result.get("revision") if isinstance(result, dict) else None
    return f"{subject or 'input'} (revision {revision})" if revision is not None else "input"
