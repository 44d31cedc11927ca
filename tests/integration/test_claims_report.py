"""The claims writer on the dev server, with the scripted model at the HTTP boundary.

Two views: a whole run (report.json beside report.md, every quote found in sources.json), and
`llm.write_report` alone under a one-activity workflow (tests/helpers/writer.py), given a
sources.json the test saved, so the writer's refusals (a source never read, a quote not in its
passage) are seen end to end.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from activities.claim_checks import locate_quote
from activities.claims_report import NOTICE_EXTRACTIVE
from activities.llm import LLMActivities
from domain.report import ReportDoc, passage_texts
from domain.run import RunOptions
from domain.state import ResearchInput
from providers.artifacts import ArtifactStore
from providers.llm import build_chat_client
from settings import Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.writer import corpus_bundle, write_alone
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

UNSUPPORTED = "Pumped hydro stores most of its energy on the moon."


def quotes_found(doc: ReportDoc, sources_json: list) -> bool:
    texts = passage_texts(sources_json)
    return all(
        locate_quote(ev.quote, texts[ev.source][ev.passage_id]) is not None
        for claim in doc.claims()
        for ev in claim.evidence
    )


async def test_a_run_writes_claims_whose_quotes_are_in_its_sources(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM, run_id: str
):
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(clarify=False, require_acceptance=False, depth=1),
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    final = await handle.result()
    store = ArtifactStore(settings.artifacts_dir)
    folder = final.report_ref.rsplit("/", 1)[0]
    doc = ReportDoc.model_validate(store.read_json(f"{folder}/report.json"))
    sources_json = store.read_json(final.sources_ref)
    claims = list(doc.claims())
    assert claims and all(c.evidence and c.text.endswith(".") for c in claims)
    assert set(doc.cited_numbers()) <= {s["number"] for s in sources_json}
    assert quotes_found(doc, sources_json)
    markdown = store.read_text(final.report_ref)
    assert markdown == store.read_text(f"{folder}/report.md") == doc.to_markdown()
    assert markdown.count("## Sources") == 1
    assert final.progress.citations == len(doc.cited_numbers()) >= 1


async def test_the_writer_drops_unread_sources_and_quotes_not_in_the_passage(
    client: Client, settings: Settings, llm: FakeLLM
):
    llm.reset(bogus_citation=42, unsupported_claim=UNSUPPORTED)
    store = ArtifactStore(settings.artifacts_dir)
    writer = LLMActivities(build_chat_client(settings), store)
    bundle = corpus_bundle()
    result, doc = await write_alone(client, writer, store, bundle)
    assert result.citations_dropped == 1 and result.claims_dropped == 2
    reasons = sorted(c.reason for c in doc.removed)
    assert reasons[0].startswith("cites source [42]") and reasons[1].startswith("quote not found")
    assert UNSUPPORTED not in [c.text for c in doc.claims()]
    texts = passage_texts(bundle)
    for claim in doc.claims():
        ev = claim.evidence[0]
        assert texts[ev.source][ev.passage_id][ev.start : ev.end] == ev.quote
    assert result.claims == len(list(doc.claims())) >= 2 and doc.cited_numbers() == [1, 2]
    markdown = store.read_text(result.report_ref)
    assert "[42]" not in markdown and markdown.count("## Sources") == 1
    folder = result.json_ref.rsplit("/", 1)[0]
    assert store.read_json(f"{folder}/report.json") == doc.model_dump(mode="json")


async def test_no_usable_draft_leaves_the_extractive_floor(
    client: Client, settings: Settings, llm: FakeLLM, monkeypatch
):
    original = llm._reply

    def reply(kind: str, prompt: str) -> str:
        # What a small model cut off at its token limit sends, on every re-ask.
        return (
            '{"title": "Grid", "lead": "2018: 5 }, [2'
            if kind == "ReportDraft"
            else original(kind, prompt)
        )

    monkeypatch.setattr(llm, "_reply", reply)
    store = ArtifactStore(settings.artifacts_dir)
    writer = LLMActivities(build_chat_client(settings), store)
    result, doc = await write_alone(client, writer, store, corpus_bundle())
    assert llm.count("ReportDraft") == settings.llm_json_retries + 1
    claims = list(doc.claims())
    assert claims and all(c.origin == "extract" for c in claims) and result.claims == len(claims)
    assert doc.notice == NOTICE_EXTRACTIVE and doc.cited_numbers() == [1, 2]


MISATTRIBUTED = "Flywheels were invented in the year 1066 by the monks of Cluny."


async def finished_run(client: Client, settings: Settings, run_id: str):
    inp = ResearchInput(
        run_id=run_id,
        question="How is grid energy stored?",
        options=RunOptions(clarify=False, require_acceptance=False, depth=1),
    )
    handle = await client.start_workflow(
        ResearchWorkflow.run, inp, id=research_workflow_id(run_id), task_queue=settings.task_queue
    )
    return await handle.result()


async def test_a_claim_quoting_a_passage_that_does_not_say_it_is_removed_by_the_check(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM, run_id: str
):
    # The real writer and the real check on one whole run: the claim's quote is a sentence of
    # its passage, so the writer keeps it; only the support check sees the passage does not
    # say it, removes it, and the run ends with gaps saying why.
    llm.reset(misattributed_claim=MISATTRIBUTED)
    final = await finished_run(client, settings, run_id)
    assert final.status.value == "completed_with_gaps"
    assert "1 claim unsupported" in (final.finish_reason or "")
    assert final.progress.claims_unsupported == 1
    store = ArtifactStore(settings.artifacts_dir)
    doc = ReportDoc.model_validate(store.read_json(final.report_json_ref))
    assert doc.checked and [c.text for c in doc.removed if c.support == "unsupported"] == [
        MISATTRIBUTED
    ]
    assert MISATTRIBUTED not in store.read_text(final.report_ref)
    assert all(c.support == "supported" for c in doc.claims())


async def test_an_honest_run_completes_with_every_claim_supported(
    client: Client, settings: Settings, worker: Worker, llm: FakeLLM, run_id: str
):
    llm.reset()
    final = await finished_run(client, settings, run_id)
    assert final.status.value == "completed", final.finish_reason
    progress = final.progress
    assert progress.claims >= 1 and progress.claims == progress.claims_supported
    assert progress.claims_unsupported == 0
