"""What the report writer reads and writes: the passages, the prompt, the saved ReportDoc.

The writer (llm.write_report) is: load the run's material here, ask the model for a claims
draft (the prompt here), check it and fill the gaps (activities/claims_report.py), save the
document and its Markdown here. The passages come from the run's sources.json
(`ReportRequest.sources_ref`); a request from an older workflow has none, and the writer then
works from the notes alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.checks import plan_items
from domain.calls import ReportRequest
from domain.report import ReportDoc, passage_texts
from providers.artifacts import ArtifactStore, run_key

MAX_PLAN_ITEMS = 6
# The embedded model has a 4,096-token context and the reply may take 2,400 of them
# (settings.llm_report_max_tokens): the passages shown get about 3,200 characters (~800 tokens),
# a few hundred characters each, as take_notes bounds them.
PASSAGES_BUDGET_CHARS = 3200
PASSAGE_CHARS = 400
PREVIOUS_CHARS = 1200
NOTES_CHARS = 2000


@dataclass
class Material:
    """What the writer works from, besides the request itself."""

    passages: dict[int, dict[str, str]] = field(default_factory=dict)
    cited: set[tuple[int, str]] = field(default_factory=set)  # passages the notes used
    noted: set[int] = field(default_factory=set)  # sources with notes
    previous: str = ""  # the previous revision's claims (or Markdown), for a revision

    @property
    def has_passages(self) -> bool:
        return any(self.passages.values())


def plan_list(plan: str) -> list[str]:
    return plan_items(plan)[:MAX_PLAN_ITEMS]


def load_material(store: ArtifactStore, req: ReportRequest) -> Material:
    """The passages of sources.json and, for a revision, the previous report (blocking I/O)."""
    material = Material()
    if req.sources_ref:
        bundle = store.read_json(req.sources_ref)
        material.passages = passage_texts(bundle)
        for source in bundle if isinstance(bundle, list) else []:
            number = source.get("number") if isinstance(source, dict) else None
            if not isinstance(number, int):
                continue
            for passage in source.get("passages") or []:
                if isinstance(passage, dict) and passage.get("cited"):
                    material.cited.add((number, str(passage.get("id"))))
            if source.get("notes"):
                material.noted.add(number)
    if req.comment and req.previous_report_ref:
        material.previous = _previous(store, req.previous_report_ref)
    return material


def _previous(store: ArtifactStore, md_ref: str) -> str:
    """The previous revision's claims, one per line; its Markdown when it has no JSON twin."""
    json_ref = md_ref.removesuffix(".md") + ".json"
    if md_ref.endswith(".md") and store.exists(json_ref):
        doc = ReportDoc.model_validate(store.read_json(json_ref))
        return "\n".join(f"- {c.text}" for c in doc.claims())[:PREVIOUS_CHARS]
    return store.read_text(md_ref)[:PREVIOUS_CHARS]


def _passage_lines(material: Material) -> list[str]:
    """Passages as `[n pX] text`, each source's cited ones first, taken round robin by source
    so every source is shown before any shows its third passage, within the budget."""
    ranked = {
        number: sorted(texts, key=lambda pid: (number, pid) not in material.cited)
        for number, texts in sorted(material.passages.items())
    }
    lines, used, depth = [], 0, 0
    while any(depth < len(pids) for pids in ranked.values()):
        for number, pids in ranked.items():
            if depth >= len(pids):
                continue
            text = _prose(material.passages[number][pids[depth]])
            if len(text) > PASSAGE_CHARS:
                text = text[:PASSAGE_CHARS].rsplit(" ", 1)[0]
            line = f"[{number} {pids[depth]}] {text}"
            if used + len(line) > PASSAGES_BUDGET_CHARS:
                return lines
            lines.append(line)
            used += len(line) + 1
        depth += 1
    return lines


def _prose(passage: str) -> str:
    """The passage on one line, without its heading lines (a title fused to the first
    sentence would tempt the model into a quote that is half heading)."""
    lines = (ln for ln in passage.splitlines() if not ln.lstrip().startswith("#"))
    return " ".join(" ".join(lines).split())


def _notes_lines(req: ReportRequest) -> list[str]:
    numbers = {s.source_id: s.number for s in req.sources}
    lines, used = [], 0
    for note in req.notes:
        if note.source_id not in numbers:
            continue
        line = f"[{numbers[note.source_id]} {(note.passage_ids or ['p1'])[0]}] {note.text}"
        if used + len(line) > NOTES_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return lines


def report_prompt(req: ReportRequest, material: Material) -> str:
    """The claims-draft prompt: question, plan items, passages (or notes), revision context."""
    items = plan_list(req.plan)
    plan = "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1)) or f"1. {req.question}"
    shown = _passage_lines(material) if material.has_passages else _notes_lines(req)
    prompt = (
        f"Research question: {req.question}\nPlan items:\n{plan}\n"
        f"Passages (cite each by its source number and passage id):\n"
        f"{chr(10).join(shown) or '(none)'}\n"
    )
    if req.context:  # a follow-up run: the earlier report, so the new one builds on it
        prompt += f"An earlier report on a related question found:\n{req.context}\n"
    if req.comment:
        if material.previous:
            prompt += f"Previous claims:\n{material.previous}\n"
        prompt += f"Reviewer's comment: {req.comment}\n"
    return prompt + (
        "Write the report as JSON: a title, a one-sentence lead, and one section per plan item "
        "(its number in plan_item). Each claim is one full sentence that answers the item, with "
        "the source number, the passage id and a quote copied word for word from that passage."
    )


def save_report(store: ArtifactStore, req: ReportRequest, doc: ReportDoc) -> tuple[str, str]:
    """Write the revision's JSON and Markdown, and the run's latest copies; (md key, json key)."""
    stem = f"report-r{req.revision}{'-partial' if req.partial else ''}"
    markdown = doc.to_markdown()
    data = doc.model_dump(mode="json")
    json_key = store.write_json(run_key(req.run_id, f"{stem}.json"), data)
    md_key = store.write_text(run_key(req.run_id, f"{stem}.md"), markdown)
    store.write_json(run_key(req.run_id, "report.json"), data)
    store.write_text(run_key(req.run_id, "report.md"), markdown)
    return md_key, json_key
