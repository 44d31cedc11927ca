"""What an export is made from: the run's ReportDoc, its sources.json and its Markdown.

Runs written before reports were claims (no `report_json_ref`) still export: their Markdown is
read into a minimal ReportDoc, one claim per line and its `[n]` marks as citations, with no
passages or support status, and a notice saying so. This is the only place Markdown is read
back, and only for those older runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from api.errors import ApiError
from domain.citations import CITATION, citation_numbers
from domain.report import Claim, Evidence, ReportDoc, ReportSection
from domain.run import RunView
from domain.sources import CitedSource
from providers.artifacts import ArtifactStore

log = logging.getLogger(__name__)

LEGACY_NOTICE = (
    "This run predates checked claims: the report is shown as written, without passages or a "
    "support check."
)
# XML 1.0 refuses these, so python-docx and reportlab's markup parser would fail on them; a
# fetched page can carry any of them into a quote.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MARKS = re.compile(r"\s*" + CITATION.pattern)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def clean(text: str) -> str:
    """Untrusted text with the characters no XML-based format can hold removed."""
    return _NOT_XML.sub("", text)


def web_url(url: str) -> str | None:
    """`url` if it is a web address a reader may follow (a local document's path is not)."""
    return url if url.startswith(("http://", "https://")) else None


def listed_sources(doc: ReportDoc) -> list[CitedSource]:
    """The sources a report's Sources section lists: those its claims cite, by number."""
    cited = set(doc.cited_numbers())
    return sorted((s for s in doc.sources if s.number in cited), key=lambda s: s.number)


def display_title(doc: ReportDoc) -> str:
    return f"{'(Partial) ' if doc.partial else ''}{doc.title.strip() or 'Report'}"


PARTIAL_NOTICE = "This run was stopped early; the report covers only what was read."


@dataclass
class ExportSource:
    """Everything an export needs, read once from the artifact store."""

    doc: ReportDoc
    markdown: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    legacy: bool = False


async def read_artifact(artifacts: ArtifactStore, key: str, *, as_json: bool) -> Any:
    """An artifact the run recorded, or the 404 `artifact_missing` (the store is elsewhere)."""
    if not await asyncio.to_thread(artifacts.exists, key):
        log.warning("artifact %s is recorded but missing", key)
        raise ApiError(404, "artifact_missing", "the artifact is not in the store", {"key": key})
    reader = artifacts.read_json if as_json else artifacts.read_text
    return await asyncio.to_thread(reader, key)


async def load_export_source(view: RunView, artifacts: ArtifactStore) -> ExportSource:
    """The report of a finished run with a report (the caller checked both)."""
    assert view.report_ref is not None
    markdown: str = await read_artifact(artifacts, view.report_ref, as_json=False)
    raw = await read_artifact(artifacts, view.sources_ref, as_json=True) if view.sources_ref else []
    sources = [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
    if view.report_json_ref:
        data = await read_artifact(artifacts, view.report_json_ref, as_json=True)
        return ExportSource(ReportDoc.model_validate(data), markdown, sources)
    doc = doc_from_markdown(markdown, view.question, sources)
    return ExportSource(doc, markdown, sources, legacy=True)


def doc_from_markdown(markdown: str, question: str, sources: list[dict[str, Any]]) -> ReportDoc:
    """A minimal ReportDoc of an older run's Markdown: headings, one claim per line, [n] kept."""
    title, lead, current = "", [], None
    sections: list[ReportSection] = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("# ") and not title:
            title = stripped[2:].strip()
        elif stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            # The report's own list of sources is rebuilt from sources.json.
            current = None if heading.lower() == "sources" else ReportSection(heading=heading)
            if current is not None:
                sections.append(current)
        elif current is not None:
            text = _MARKS.sub("", _BULLET.sub("", stripped)).strip()
            evidence = [Evidence(source=n, passage_id="") for n in citation_numbers(stripped)]
            claim = Claim(id=f"s{len(sections)}c{len(current.claims) + 1}", text=text)
            claim.evidence = evidence
            current.claims.append(claim)
        elif not sections and not stripped.startswith(">"):
            lead.append(stripped)
    listed = [
        CitedSource(
            number=s["number"],
            source_id=str(s.get("source_id", "")),
            title=str(s.get("title") or ""),
            url=str(s.get("url") or ""),
        )
        for s in sources
        if isinstance(s.get("number"), int)
    ]
    return ReportDoc(
        question=question,
        title=title or question,
        lead=" ".join(lead),
        notice=LEGACY_NOTICE,
        sections=sections,
        sources=listed,
    )
