"""The support check: every claim of a written report is judged against the passages it cites
before anyone sees the report (issue 12). The judgement itself is activities/support_score.py.

The check rewrites the report in place: the checked ReportDoc goes to the same JSON key the
writer used (and to report.json), its Markdown is rendered again to the matching .md key (and
report.md), so whoever reads the report afterwards reads only what was checked.

At-least-once, so idempotent: the first time it sees a doc that is not yet `checked`, it copies
it to `<name>.draft.json` and judges that copy; a retry (or a second call) finds the doc checked
and judges the draft again, getting the same answer. A doc that is unchecked again (the writer
rewrote the key) is the newer original and replaces the draft. Claims a reviewer struck
(`strike_claim`, in place on the checked doc) stay struck when the check runs again.
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.support_score import judge
from activities.table import CHECK_SUPPORT, STRIKE_CLAIM
from domain.calls import StrikeRequest, SupportRequest, SupportResult
from domain.report import ReportDoc, passage_texts
from providers.artifacts import ArtifactStore, run_key, validate_key


class SupportActivities:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @activity.defn(name=CHECK_SUPPORT.name)
    async def check_support(self, req: SupportRequest) -> SupportResult:
        """Judge every claim, drop the unsupported ones (kept in `removed`), save, re-render."""
        return await asyncio.to_thread(self.check, req)

    def check(self, req: SupportRequest) -> SupportResult:
        json_ref = _own_key(req.run_id, req.json_ref, "json_ref")
        sources_ref = _own_key(req.run_id, req.sources_ref or run_key(req.run_id, "sources.json"))
        draft_ref = json_ref.removesuffix(".json") + ".draft.json"
        current = _load(self.store.read_json(json_ref), json_ref)
        if not current.checked:
            self.store.write_text(draft_ref, current.model_dump_json(indent=2))
            original = current
        elif self.store.exists(draft_ref):
            original = _load(self.store.read_json(draft_ref), draft_ref)
            # What a reviewer struck since stays struck.
            for claim in original.claims():
                gone = next((c for c in current.removed if c.id == claim.id), None)
                if gone is not None and gone.support == "struck":
                    claim.support, claim.reason = gone.support, gone.reason
        else:  # checked with no draft kept: judge it again, what it removed stays removed
            original = current
        doc = checked(original, passage_texts(self.store.read_json(sources_ref)))
        return self._save(req.run_id, json_ref, doc)

    @activity.defn(name=STRIKE_CLAIM.name)
    async def strike_claim(self, req: StrikeRequest) -> SupportResult:
        """Take one claim out of a checked report at a reviewer's request; save, re-render."""
        return await asyncio.to_thread(self.strike, req)

    def strike(self, req: StrikeRequest) -> SupportResult:
        json_ref = _own_key(req.run_id, req.json_ref, "json_ref")
        doc = _load(self.store.read_json(json_ref), json_ref)
        for section in doc.sections:
            for claim in section.claims:
                if claim.id == req.claim_id:
                    claim.support, claim.reason = "struck", req.reason or "struck by a reviewer"
                    section.claims.remove(claim)
                    doc.removed.append(claim)
                    break
        # Not found: a retry after the write already struck it, or an id the workflow never
        # offered; either way the report as saved is the answer.
        doc.sections = [s for s in doc.sections if s.claims]
        return self._save(req.run_id, json_ref, doc)

    def _save(self, run_id: str, json_ref: str, doc: ReportDoc) -> SupportResult:
        """Write `doc` to `json_ref` and report.json, its Markdown beside them; count it."""
        markdown = doc.to_markdown()
        text = doc.model_dump_json(indent=2)
        md_ref = json_ref.removesuffix(".json") + ".md"
        self.store.write_text(json_ref, text)
        self.store.write_text(md_ref, markdown)
        self.store.write_text(run_key(run_id, "report.json"), text)
        self.store.write_text(run_key(run_id, "report.md"), markdown)
        kept = list(doc.claims())
        return SupportResult(
            json_ref=json_ref,
            report_ref=md_ref,
            chars=len(markdown),
            claims=len(kept),
            claims_supported=sum(c.support == "supported" for c in kept),
            claims_unsupported=sum(c.support == "unsupported" for c in doc.removed),
            plan_items_uncovered=doc.uncovered_plan_items(),
            citations=len(doc.cited_numbers()),
            claim_ids=[c.id for c in kept],
            claim_texts={c.id: c.text for c in [*kept, *doc.removed] if c.support != "struck"},
        )


def checked(original: ReportDoc, passages: dict[int, dict[str, str]]) -> ReportDoc:
    """A copy of `original` with every claim judged, the unsupported ones moved to `removed`
    (reason kept), sections left empty dropped, and `checked` set."""
    doc = original.model_copy(deep=True)
    removed = list(doc.removed)
    for section in doc.sections:
        kept = []
        for claim in section.claims:
            if claim.support == "struck":  # a reviewer's decision is not the check's to undo
                removed.append(claim)
                continue
            verdict = judge(claim, passages)
            claim.score = verdict.score
            claim.support = "supported" if verdict.supported else "unsupported"
            claim.reason = verdict.reason
            (kept if verdict.supported else removed).append(claim)
        section.claims = kept
    doc.sections = [s for s in doc.sections if s.claims]
    doc.removed = removed
    doc.checked = True
    return doc


def _load(data: object, key: str) -> ReportDoc:
    try:
        return ReportDoc.model_validate(data)
    except ValidationError as exc:
        # The writer wrote something that is not a report: no retry can change that.
        raise ApplicationError(
            f"{key} is not a ReportDoc: {exc.error_count()} errors",
            type="invalid_output",
            non_retryable=True,
        ) from exc


def _own_key(run_id: str, key: str, what: str = "sources_ref") -> str:
    """`key` if it is a JSON artifact of the run's own folder; bad input otherwise."""
    try:
        folder = run_key(run_id, "x").removesuffix("x")
        validate_key(key)
    except ValueError as exc:
        raise ApplicationError(str(exc), type="bad_artifact_name", non_retryable=True) from exc
    if not key.startswith(folder) or not key.endswith(".json"):
        raise ApplicationError(
            f"{what} must be a .json artifact under {folder}, got {key!r}",
            type="bad_artifact_name",
            non_retryable=True,
        )
    return key
