"""Every recorded history replays on the current workflow code.

A change that would break runs already in flight (a command added, removed or reordered without
`workflow.patched`) fails here. Histories are recorded by `python -m tests.histories.record`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.approval import ApprovalWorkflow
from workflows.research import ResearchWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_every_scenario_is_recorded() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "research_rejected_then_accepted",
        "research_expired",
        "research_stopped_in_review",
        "research_cancelled",
        "research_final_event_log",  # saves events.json after run.json
        "approval_rejected",
        # both ends of a continue-as-new chain: the run that hands over, the one that resumes
        "research_continued_first",
        "research_continued_last",
        # SearXNG beside local documents (a provider's own queue, pages read), and an outage
        "research_web",
        "research_web_search_outage",
        # reminders, an escalation and webhook notifications (child workflows) in a review
        "research_reminded_notified",
        # claims written, checked and one removed (the "claims-support-check" patch)
        "research_claims_checked",
        # a claim struck, a source found for another: strike_claim and find_source
        "research_claims_reviewed",
        # pinned sources read first, a denied one refused, a date window (the "source-policy" patch)
        "research_source_policy",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays(path: Path) -> None:
    raw = json.loads(path.read_text())  # noqa: ASYNC240 - a small file, read once
    history = WorkflowHistory.from_json(path.stem, raw)
    replayer = Replayer(
        workflows=[ResearchWorkflow, ApprovalWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.stem}: {result.replay_failure}"
