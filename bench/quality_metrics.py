"""The quality benchmark's yardsticks: pure functions over a report's claims and its passages.

Independent of the product's own support check on purpose (nothing here imports activities/):
a claim counts as supported only if it cites a passage the run read, at least 80% of its
content words occur in the cited passage(s), and every number in it occurs there too. Words
are compared after lower-casing and dropping a plural "s", nothing looser, so a paraphrase that
swaps words fails where the gate might pass it. A sentence that cites nothing is unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.citations import CITATION

SUPPORT_SHARE = 0.8
# Function words only: everything else a claim says must be found in what it cites.
STOPWORDS = frozenset(
    "a about above after again against all also although an and any are as at be because been "
    "before being below between both but by can could did do does doing down during each either "
    "for from further had has have having he her here hers him his how however i if in into is "
    "it its itself just may might more most much must my neither no nor not of off on once only "
    "or other our out over own per same she should so some such than that the their theirs them "
    "then there these they this those through thus to too under until up upon us very was we "
    "were what when where whether which while who whom whose why will with within without would "
    "yet you your".split()
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOP_THEN_MARKS = re.compile(r"([.!?])((?:\s*\[\d{1,4}\])+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_LIST_MARK = re.compile(r"^(?:[-*+]\s+|\d{1,3}[.)]\s+|>\s*)")
# A line of the Sources list our code appends: "[3] Title — url" (the url may be empty).
_SOURCE_ENTRY = re.compile(r"^\[\d{1,4}\] .+ —( |$)")
_JSON_DEBRIS = re.compile(r"[{}]|\"\s*:|\\\"|```")


@dataclass
class GradedClaim:
    """One sentence and what it cites: (source number, passage id or None for any passage)."""

    text: str
    refs: list[tuple[int, str | None]] = field(default_factory=list)

    @property
    def sources(self) -> list[int]:
        return list(dict.fromkeys(n for n, _ in self.refs))


def _norm(word: str) -> str:
    word = word.removesuffix("'s")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    return {_norm(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def cited_text(claim: GradedClaim, passages: dict[int, dict[str, str]]) -> str:
    """The text of every cited passage the run read; empty when it cites nothing it read."""
    texts: list[str] = []
    for number, passage_id in claim.refs:
        source = passages.get(number, {})
        if passage_id is None:
            texts.extend(source.values())
        elif passage_id in source:
            texts.append(source[passage_id])
    return "\n".join(texts)


def support_share(claim: GradedClaim, passages: dict[int, dict[str, str]]) -> float:
    """The share of the claim's content words found in its cited passages (0 with none)."""
    words = content_words(claim.text)
    found = cited_text(claim, passages)
    if not words or not found:
        return 0.0
    return len(words & content_words(found)) / len(words)


def is_supported(claim: GradedClaim, passages: dict[int, dict[str, str]]) -> bool:
    found = cited_text(claim, passages)
    if not found:
        return False
    if support_share(claim, passages) < SUPPORT_SHARE:
        return False
    return numbers(claim.text) <= numbers(found)


def unread_citations(claims: Iterable[GradedClaim], read: Iterable[int]) -> int:
    """How many (claim, source) citations name a source the run never read."""
    known = set(read)
    return sum(1 for c in claims for n in c.sources if n not in known)


def key_facts_found(facts: list[list[str]], claims: Iterable[GradedClaim]) -> int:
    """How many key facts (each a list of accepted phrasings) occur in the claims' text."""
    text = " ".join(" ".join(c.text.split()) for c in claims).lower()
    return sum(1 for phrasings in facts if any(p.lower() in text for p in phrasings))


def sentence_claims(line: str) -> list[GradedClaim]:
    """One line of prose as sentences, each with the `[n]` marks written in or after it."""
    # "Text. [1][2]" cites for "Text": move marks before the stop so the split keeps them.
    line = _STOP_THEN_MARKS.sub(lambda m: f"{m.group(2)}{m.group(1)}", line)
    claims: list[GradedClaim] = []
    for part in _SENTENCE_END.split(line.strip()):
        cites = [int(n) for n in CITATION.findall(part)]
        text = " ".join(CITATION.sub("", part).split())
        text = re.sub(r"\s+([.!?,;:])", r"\1", text)
        if not re.search(r"[A-Za-z0-9]", text):
            if claims:  # marks alone after a sentence belong to it
                claims[-1].refs += [(n, None) for n in cites]
            continue
        claims.append(GradedClaim(text=text, refs=[(n, None) for n in cites]))
    return claims


def markdown_claims(markdown: str) -> list[GradedClaim]:
    """Every sentence of a Markdown report's prose; headings, notices and the Sources list are
    not claims. For reports with no report.json, and for the baseline's answer."""
    claims: list[GradedClaim] = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ">")) or _SOURCE_ENTRY.match(line):
            continue
        claims += sentence_claims(_LIST_MARK.sub("", line))
    return claims


def junk_lines(markdown: str) -> list[str]:
    """Lines no reader should see: number headings, a second Sources heading, stray JSON or
    list debris, fragments (under three words, or cut off without a closing stop)."""
    junk: list[str] = []
    sources_headings = 0
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line or _SOURCE_ENTRY.match(line):
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if heading.lower() in ("sources", "references"):
                sources_headings += 1
                if sources_headings > 1:
                    junk.append(line)
            elif not re.search(r"[A-Za-z]", heading) or _JSON_DEBRIS.search(heading):
                junk.append(line)
            continue
        if _is_junk_prose(line):
            junk.append(line)
    return junk


def _is_junk_prose(line: str) -> bool:
    text = " ".join(CITATION.sub("", _LIST_MARK.sub("", line)).split())
    if _JSON_DEBRIS.search(text):
        return True
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    if not visible or letters / len(visible) < 0.5:
        return True
    if len(_WORD.findall(text.lower())) < 3:
        return True
    return not text.rstrip("\"')*_ ").endswith((".", "!", "?", ":"))
