"""The fault suite in CI: every scenario at a small size, and proof that the audit can fail.

`python -m tests.faults --runs 20` runs the same scenarios bigger and writes docs/faults.md.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from providers.artifacts import ArtifactStore
from settings import Settings
from tests.fakes.llm_server import Call, FakeLLM
from tests.faults import SCENARIOS
from tests.faults.audit import audit_run, llm_accounting, read_history
from tests.faults.driver import drive
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

RUNS = 2  # per scenario: a few runs keep the package within minutes on two cores
SEED = 7


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_run_ends_right_and_nothing_is_lost(name: str) -> None:
    tally = await SCENARIOS[name](RUNS, SEED)
    assert tally.tried == RUNS
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.completed == RUNS
    assert tally.faults > 0, "no fault was injected: the scenario tested nothing"
    # Three decisions per run (answer, reject, accept), each applied once (the audit says so).
    assert tally.decisions == 3 * RUNS


async def test_audit_catches_lost_doubled_and_broken(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM
) -> None:
    """A clean run passes the audit; each kind of damage to its record is caught."""
    run_id = f"audit-{uuid.uuid4().hex[:8]}"
    sent = await drive(client, settings.task_queue, run_id, within=120)
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))
    store = ArtifactStore(settings.artifacts_dir)

    async def problems(decisions: list, update_ids: list[str]) -> list[str]:
        return (await audit_run(handle, run_id, store, decisions, update_ids)).problems

    assert await problems(sent.decisions, sent.update_ids) == []
    dropped, doubled = sent.decisions[:-1], [*sent.decisions, sent.decisions[-1]]
    assert any("decisions applied" in p for p in await problems(dropped, sent.update_ids))
    assert any("decisions applied" in p for p in await problems(doubled, sent.update_ids))
    unsent = await problems(sent.decisions, sent.update_ids[:-1])
    assert any("nobody sent" in p for p in unsent)
    never = await problems(sent.decisions, [*sent.update_ids, "acceptance-never-sent"])
    assert any("acceptance-never-sent accepted 0 times" in p for p in never)

    # An LLM answer that no attempt in history accounts for: a completed call that re-ran.
    history = await read_history(handle)
    served = [c for c in llm.calls if c.completed]
    assert llm_accounting(served, [history]) == []
    extra = Call(kind="ReportDraft", fingerprint="again", completed=True)
    assert llm_accounting([*served, extra], [history])

    view = await handle.result()
    assert view.report_ref is not None
    report = store.path(view.report_ref)
    text = await asyncio.to_thread(report.read_text)
    await asyncio.to_thread(report.write_text, text + "\nAlso see [42].\n")
    assert any("name no source" in p for p in await problems(sent.decisions, sent.update_ids))
    source = store.read_json(view.sources_ref or "")[0]["artifact_ref"]
    await asyncio.to_thread(store.path(source).unlink)
    assert any("text of source" in p for p in await problems(sent.decisions, sent.update_ids))
