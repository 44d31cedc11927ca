"""The support check without a server: the lexical score, the verdicts, and the activity's
rewrite of a report it is given (ReportDoc and sources.json written here, as a run would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.support import SupportActivities
from activities.support_score import PARAPHRASE_MIN, find_quote, judge, numbers, overlap
from domain.calls import StrikeRequest, SupportRequest
from domain.report import Claim, Evidence, ReportDoc, ReportSection
from domain.sources import CitedSource
from providers.artifacts import ArtifactStore, run_key

RUN = "t-support"
BATTERY = (
    "Lithium-ion batteries store  electricity for one to four hours and respond within "
    "milliseconds.\nGrid batteries reached 1,200 MW of capacity in 2023."
)
HYDRO = "Pumped hydro stores energy by pumping water uphill to a reservoir, then releasing it."
PASSAGES = {1: {"p1": BATTERY}, 2: {"p1": HYDRO}}


def claim(text: str, *evidence: Evidence, cid: str = "c") -> Claim:
    return Claim(id=cid, text=text, evidence=list(evidence))


def test_quotes_are_found_folded_and_mapped_back_to_the_passage() -> None:
    span = find_quote("“Lithium-ion batteries store electricity”", BATTERY)
    assert span is not None
    assert BATTERY[span[0] : span[1]] == "Lithium-ion batteries store  electricity"
    assert find_quote("batteries store gas", BATTERY) is None
    assert find_quote("the", BATTERY) is None  # too short to prove anything


def test_numbers_and_overlap() -> None:
    assert numbers("1,200 MW in 2023, 3.5 hours") == {"1200", "2023", "3.5"}
    assert overlap("Pumped hydro pumps water uphill", [HYDRO]) == 1.0
    assert overlap("Hydrogen caverns hold gas", [HYDRO]) == 0.0


def test_a_verbatim_quote_about_the_claim_supports_it() -> None:
    ev = Evidence(source=2, passage_id="p1", quote="pumping water uphill to a reservoir")
    verdict = judge(claim("Pumped hydro stores energy by pumping water uphill.", ev), PASSAGES)
    assert verdict.supported and verdict.score == 1.0 and not verdict.reason
    assert HYDRO[ev.start : ev.end] == "pumping water uphill to a reservoir"


def test_a_claim_citing_a_passage_that_does_not_say_it_is_unsupported() -> None:
    # The quote is real, but the sentence is about something the passage never mentions.
    ev = Evidence(source=2, passage_id="p1", quote="pumping water uphill to a reservoir")
    verdict = judge(claim("Green tea lowers blood pressure in adults.", ev), PASSAGES)
    assert not verdict.supported and verdict.score < 0.5
    assert "content words" in verdict.reason


def test_a_paraphrase_needs_most_of_its_words_in_the_passage() -> None:
    close = claim("Batteries respond within milliseconds.", Evidence(source=1, passage_id="p1"))
    far = claim(
        "Batteries are cheaper than pumped hydro storage plants.",
        Evidence(source=1, passage_id="p1", quote="this sentence is not in the passage"),
    )
    assert judge(close, PASSAGES).supported
    verdict = judge(far, PASSAGES)
    assert not verdict.supported and verdict.score < PARAPHRASE_MIN
    assert "no quote found verbatim" in verdict.reason
    assert far.evidence[0].start == -1


def test_numbers_must_match_exactly() -> None:
    ok = claim("Grid batteries reached 1200 MW of capacity.", Evidence(source=1, passage_id="p1"))
    bad = claim("Grid batteries reached 1500 MW of capacity.", Evidence(source=1, passage_id="p1"))
    assert judge(ok, PASSAGES).supported
    verdict = judge(bad, PASSAGES)
    assert not verdict.supported and verdict.reason == "number 1500 not in the cited passages"


@pytest.mark.parametrize(
    ("evidence", "reason"),
    [
        ([], "cites no passage"),
        ([Evidence(source=7, passage_id="p1")], "cites source [7], which the run did not read"),
        ([Evidence(source=1, passage_id="p9")], "cites passage 'p9', which source [1] does not"),
    ],
)
def test_evidence_must_exist(evidence: list[Evidence], reason: str) -> None:
    verdict = judge(Claim(id="c", text="Batteries store electricity.", evidence=evidence), PASSAGES)
    assert not verdict.supported and verdict.reason.startswith(reason)


def write_run(store: ArtifactStore) -> tuple[str, str]:
    good = claim(
        "Pumped hydro stores energy by pumping water uphill.",
        Evidence(source=2, passage_id="p1", quote="pumping water uphill"),
        cid="s1c1",
    )
    lie = claim(
        "Lithium-ion batteries cure insomnia in patients.",
        Evidence(source=1, passage_id="p1", quote="Lithium-ion batteries store electricity"),
        cid="s2c1",
    )
    doc = ReportDoc(
        question="How is grid energy stored?",
        title="Grid storage",
        plan_items=["Pumped hydro", "Batteries"],
        sections=[
            ReportSection(heading="Pumped hydro", plan_item=1, claims=[good]),
            ReportSection(heading="Batteries", plan_item=2, claims=[lie]),
        ],
        sources=[
            CitedSource(number=1, source_id="b.md", title="Batteries", url="file://b.md"),
            CitedSource(number=2, source_id="h.md", title="Hydro", url="file://h.md"),
        ],
    )
    sources = [
        {"number": n, "passages": [{"id": pid, "text": t} for pid, t in ps.items()]}
        for n, ps in PASSAGES.items()
    ]
    json_ref = store.write_text(run_key(RUN, "report-r0.json"), doc.model_dump_json())
    sources_ref = store.write_json(run_key(RUN, "sources.json"), sources)
    return json_ref, sources_ref


async def test_the_activity_removes_an_unsupported_claim_and_rerenders(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    json_ref, sources_ref = write_run(store)
    req = SupportRequest(run_id=RUN, json_ref=json_ref, sources_ref=sources_ref)
    result = await SupportActivities(store).check_support(req)
    assert (result.claims, result.claims_supported, result.claims_unsupported) == (1, 1, 1)
    assert result.plan_items_uncovered == [2] and result.citations == 1
    doc = ReportDoc.model_validate(store.read_json(json_ref))
    assert doc.checked and [s.heading for s in doc.sections] == ["Pumped hydro"]
    assert [(c.id, c.support) for c in doc.removed] == [("s2c1", "unsupported")]
    assert doc.removed[0].reason == "only 50% of its content words are in the quoted passage"
    markdown = store.read_text(result.report_ref)
    assert result.report_ref == run_key(RUN, "report-r0.md")
    assert "insomnia" not in markdown and "[2] Hydro" in markdown and "[1]" not in markdown
    assert store.read_text(run_key(RUN, "report.md")) == markdown
    assert store.read_json(run_key(RUN, "report.json")) == store.read_json(json_ref)
    # The unchecked original is kept, so a retry judges the same claims again.
    draft = ReportDoc.model_validate(store.read_json(run_key(RUN, "report-r0.draft.json")))
    assert not draft.checked and len(list(draft.claims())) == 2


async def test_a_retry_gives_the_same_answer(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    json_ref, sources_ref = write_run(store)
    req = SupportRequest(run_id=RUN, json_ref=json_ref, sources_ref=sources_ref)
    activities = SupportActivities(store)
    first = await activities.check_support(req)
    text = store.read_text(json_ref)
    again = await activities.check_support(req)
    assert again == first and store.read_text(json_ref) == text
    assert len(json.loads(text)["removed"]) == 1  # not removed twice


async def test_refs_outside_the_run_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    req = SupportRequest(run_id=RUN, json_ref=run_key("other", "report-r0.json"))
    with pytest.raises(ApplicationError) as caught:
        await SupportActivities(store).check_support(req)
    assert caught.value.type == "bad_artifact_name" and caught.value.non_retryable


async def test_a_struck_claim_leaves_the_report_and_stays_out(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    json_ref, sources_ref = write_run(store)
    activities = SupportActivities(store)
    check = SupportRequest(run_id=RUN, json_ref=json_ref, sources_ref=sources_ref)
    assert (await activities.check_support(check)).claim_ids == ["s1c1"]
    strike = StrikeRequest(run_id=RUN, json_ref=json_ref, claim_id="s1c1", reason="outdated")
    result = await activities.strike_claim(strike)
    assert (result.claims, result.claim_ids, result.plan_items_uncovered) == (0, [], [1, 2])
    assert await activities.strike_claim(strike) == result  # a retry changes nothing
    doc = ReportDoc.model_validate(store.read_json(json_ref))
    assert not doc.sections
    assert [(c.id, c.support, c.reason) for c in doc.removed] == [
        ("s2c1", "unsupported", "only 50% of its content words are in the quoted passage"),
        ("s1c1", "struck", "outdated"),
    ]
    assert "Pumped hydro stores" not in store.read_text(result.report_ref)
    # The check run again (a late retry) judges the draft, but the strike holds.
    again = await activities.check_support(check)
    assert again.claims == 0
    assert {
        c.id: c.support for c in ReportDoc.model_validate(store.read_json(json_ref)).removed
    } == {
        "s1c1": "struck",
        "s2c1": "unsupported",
    }
