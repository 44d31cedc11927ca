"""A whole research run on the real embedded model (SmolLM2-135M via llama.cpp), no fakes.

Slower than the rest (about a minute on 2 cores) and it runs in CI too: it is the proof that
the default the README promises actually works end to end.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

from temporalio.client import Client

from activities.claim_checks import locate_quote
from activities.claims_report import NOTICE_EXTRACTIVE
from activities.llm import LLMActivities
from domain.report import ReportDoc, passage_texts
from domain.run import ClarificationAnswer, Decision, RunOptions, RunStatus
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore
from providers.llm import build_chat_client
from settings import Settings
from stack.llm_server import LlamaServer, default_model_path
from tests.helpers import wait_for_status
from tests.helpers.stack import free_port, write_corpus
from tests.helpers.writer import corpus_bundle, write_alone
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


async def test_whole_run_on_the_local_model(client: Client, settings: Settings, tmp_path: Path):
    server = LlamaServer(
        model=default_model_path(), alias="smollm2", port=free_port(), log_path=tmp_path / "llm.log"
    )
    await asyncio.to_thread(server.start, 180.0)
    own = settings.model_copy(
        update={
            "task_queue": f"local-model-{uuid.uuid4().hex[:8]}",
            "llm_base_url": server.base_url,
            "llm_model": "smollm2",
            "llm_structured_output": "llama_schema",
            "data_dir": tmp_path,
            "docs_dirs": [write_corpus(tmp_path / "corpus")],
        }
    )
    run_id = f"local-{uuid.uuid4().hex[:8]}"
    try:
        activities = await asyncio.to_thread(build_activities, own)
        async with build_worker(client, own, activities):
            handle = await client.start_workflow(
                ResearchWorkflow.run,
                ResearchInput(
                    run_id=run_id,
                    question="How is electricity stored on the grid?",
                    options=RunOptions(breadth=2, depth=1, max_sources=3, max_questions=2),
                ),
                id=research_workflow_id(run_id),
                task_queue=own.task_queue,
            )
            view = await wait_for_status(handle, lambda v: v.pending is not None, within=300)
            if view.pending.kind == "clarification":
                answers = {q.id: "Any country, recent years." for q in view.pending.questions}
                await handle.execute_update(
                    ResearchWorkflow.answer_clarification, ClarificationAnswer(answers=answers)
                )
                view = await wait_for_status(
                    handle, lambda v: v.pending is not None and v.pending.kind == "report", 600
                )
            assert view.pending.kind == "report"
            await handle.execute_update(ResearchWorkflow.decide, Decision(accepted=True))
            final = await asyncio.wait_for(handle.result(), timeout=120)
    finally:
        server.stop()

    assert final.status in (RunStatus.completed, RunStatus.completed_with_gaps)
    assert final.usage.llm_calls >= 4 and final.usage.completion_tokens > 0
    assert final.progress.queries_run >= 1
    report = (tmp_path / "artifacts" / final.report_ref).read_text()
    assert report.startswith("# ")
    sources = json.loads((tmp_path / "artifacts" / final.sources_ref).read_text())
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", report)}
    assert cited <= {s["number"] for s in sources}  # whatever the model cited, it read
    report_json = (tmp_path / "artifacts" / final.report_ref).with_suffix(".json")
    doc = ReportDoc.model_validate_json(report_json.read_text())
    assert doc.to_markdown() == report and report.count("## Sources") <= 1
    assert set(doc.cited_numbers()) <= {s["number"] for s in sources}


async def test_extractive_report_on_the_local_model_quotes_its_passages(
    client: Client, settings: Settings, tmp_path: Path
):
    """Whatever the 135M model drafts, the report cites, and every cited sentence is found,
    at its recorded span, in the passage it cites."""
    server = LlamaServer(
        model=default_model_path(), alias="smollm2", port=free_port(), log_path=tmp_path / "llm.log"
    )
    await asyncio.to_thread(server.start, 180.0)
    own = settings.model_copy(
        update={
            "llm_base_url": server.base_url,
            "llm_model": "smollm2",
            "llm_structured_output": "llama_schema",
        }
    )
    store = ArtifactStore(tmp_path / "artifacts")
    bundle = corpus_bundle()
    try:
        result, doc = await write_alone(
            client, LLMActivities(build_chat_client(own), store), store, bundle
        )
    finally:
        server.stop()
    claims = list(doc.claims())
    assert claims and result.claims == len(claims) and doc.cited_numbers()
    texts = passage_texts(bundle)
    for claim in claims:
        for ev in claim.evidence:
            assert texts[ev.source][ev.passage_id][ev.start : ev.end] == ev.quote, claim
            assert locate_quote(claim.text, ev.quote) is not None or claim.origin == "model"
    if all(c.origin == "extract" for c in claims):
        assert doc.notice == NOTICE_EXTRACTIVE
    assert store.read_text(result.report_ref).count("## Sources") == 1
