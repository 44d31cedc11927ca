"""Running `llm.write_report` alone on a real worker: a one-activity workflow and its input.

The claims writer's tests (scripted model and the real embedded one) give it a sources.json
they saved themselves, so they do not depend on how the research workflow builds one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from activities.llm import LLMActivities
from activities.table import WRITE_REPORT
from domain.calls import ReportRequest, ReportResult
from domain.report import ReportDoc
from domain.sources import CitedSource
from providers.artifacts import ArtifactStore, run_key
from tests.helpers.stack import CORPUS

QUESTION = "How is grid energy stored?"
PLAN = "1. Battery storage on the grid\n2. Pumped hydro storage and its scale"


@workflow.defn(sandboxed=False)
class WriteReportOnly:
    """Calls llm.write_report once: the activity on a real worker, without a whole run."""

    @workflow.run
    async def run(self, req: ReportRequest) -> ReportResult:
        return await workflow.execute_activity(
            WRITE_REPORT.name,
            req,
            result_type=ReportResult,
            # As the activity table gives it: the embedded model on a busy machine takes minutes.
            start_to_close_timeout=timedelta(minutes=15),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


def corpus_bundle() -> list[dict[str, Any]]:
    """A sources.json of the two on-topic corpus documents, one cited passage each."""
    names = ["batteries.md", "pumped_hydro.md"]
    return [
        {"number": n, "source_id": name, "title": name, "url": f"file:{name}", "notes": [],
         "passages": [{"id": "p1", "text": CORPUS[name], "cited": True}]}
        for n, name in enumerate(names, 1)
    ]  # fmt: skip


async def write_alone(
    client: Client, writer: LLMActivities, store: ArtifactStore, bundle: list[dict[str, Any]]
) -> tuple[ReportResult, ReportDoc]:
    """Save `bundle` as a fresh folder's sources.json, write its report, load the ReportDoc."""
    folder = f"w-{uuid.uuid4().hex[:8]}"
    req = ReportRequest(
        run_id=folder,
        question=QUESTION,
        plan=PLAN,
        notes=[],
        sources=[CitedSource.model_validate(b) for b in bundle],
        sources_ref=store.write_json(run_key(folder, "sources.json"), bundle),
    )
    queue = f"writer-{folder}"
    async with Worker(
        client, task_queue=queue, workflows=[WriteReportOnly], activities=[writer.write_report]
    ):
        result = await client.execute_workflow(
            WriteReportOnly.run, req, id=f"write-{folder}", task_queue=queue
        )
    return result, ReportDoc.model_validate(store.read_json(result.json_ref))
