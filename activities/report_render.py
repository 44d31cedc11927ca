"""Turning the model's structured report draft into Markdown whose every citation resolves.

Pure functions, so the citation rules are tested without a model or a worker.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from activities.drafts import ReportDraft
from domain.citations import CITATION
from domain.sources import CitedSource


class Rendered(BaseModel):
    markdown: str
    cited: list[int]
    dropped: int


def render_report(
    draft: ReportDraft, sources: list[CitedSource], partial: bool = False
) -> Rendered:
    """Markdown with `[n]` citations; each n that names no source this run read is dropped."""
    valid = {s.number: s for s in sources}
    cited: list[int] = []
    dropped = 0

    def keep(number: int) -> bool:
        nonlocal dropped
        if number in valid:
            if number not in cited:
                cited.append(number)
            return True
        dropped += 1
        return False

    def clean_inline(text: str) -> str:
        # Citations the model wrote inside the text obey the same rule as the structured ones.
        return CITATION.sub(lambda m: m.group(0) if keep(int(m.group(1))) else "", text)

    title = draft.title.strip() or "Research report"
    lines = [f"# {'(Partial) ' if partial else ''}{title}", ""]
    if partial:
        lines += ["> This run was stopped early; the report covers only what was read so far.", ""]
    if draft.summary.strip():
        lines += [clean_inline(draft.summary.strip()), ""]
    for section in draft.sections:
        lines += [f"## {section.heading.strip() or 'Findings'}", ""]
        for paragraph in section.paragraphs:
            body = clean_inline(paragraph.text.strip())
            marks = "".join(f"[{n}]" for n in dict.fromkeys(paragraph.citations) if keep(n))
            if body or marks:
                lines += [f"{body} {marks}".strip(), ""]
    if cited:
        lines += ["## Sources", ""]
        for number in sorted(cited):
            source = valid[number]
            lines.append(f"[{number}] {source.title} — {source.url}")
        lines.append("")
    return Rendered(markdown=_tidy("\n".join(lines)), cited=sorted(cited), dropped=dropped)


def _tidy(markdown: str) -> str:
    markdown = re.sub(r"[ \t]+\n", "\n", markdown)
    markdown = re.sub(r"\n{3,}", "\n\n", markdown)
    return markdown.strip() + "\n"
