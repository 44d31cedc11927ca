"""The one recipe to start a research run, used by POST /runs and by the benchmarks.

Everything a run's start carries lives here: the workflow id, the input, the id reuse policy,
the Web UI summary, the search attributes the API filters and checks owners by, and the memo
that answers GET /runs/{id} before a worker has picked the run up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from domain.run import RunOptions, RunStatus, RunView, Stage
from domain.state import ResearchInput
from settings import Settings
from workflows.research import ResearchWorkflow
from workflows.search_attributes import (
    MEMO_STATUS_KEY,
    RESEARCH_OWNER,
    RESEARCH_STAGE,
    RESEARCH_STATUS,
    TOKENS_USED,
    research_workflow_id,
)

SUMMARY_CHARS = 200


def summary_line(question: str) -> str:
    """The question on one line of at most SUMMARY_CHARS: the Web UI shows it so."""
    line = re.sub(r"\s+", " ", question).strip()
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


async def start_research_run(
    client: Client,
    settings: Settings,
    *,
    run_id: str,
    question: str,
    options: RunOptions,
    owner: str,
) -> str:
    """Start run `run_id` for `owner` and return its workflow id.

    Raises what `Client.start_workflow` raises (a reused run id is
    `WorkflowAlreadyStartedError`); the API turns those into HTTP errors.
    """
    workflow_id = research_workflow_id(run_id)
    now = datetime.now(UTC)
    initial = RunView(
        run_id=run_id,
        question=question,
        status=RunStatus.queued,
        stage=Stage.clarifying,
        created_at=now,
        updated_at=now,
        options=options,
    )
    await client.start_workflow(
        ResearchWorkflow.run,
        ResearchInput(run_id=run_id, question=question, options=options, created_by=owner),
        id=workflow_id,
        task_queue=settings.task_queue,
        # Run ids are never reused, even after the run closed: URLs and artifacts stay unique.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=summary_line(question),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(RESEARCH_STATUS, RunStatus.queued.value),
                SearchAttributePair(RESEARCH_STAGE, Stage.clarifying.value),
                # Every later request with auth on is checked against this owner.
                SearchAttributePair(RESEARCH_OWNER, owner),
                SearchAttributePair(TOKENS_USED, 0),
            ]
        ),
        memo={MEMO_STATUS_KEY: initial.model_dump(mode="json")},
    )
    return workflow_id
