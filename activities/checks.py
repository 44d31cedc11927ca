"""The model proposes, the code checks: pure tests of plans, queries, gaps and notes.

A weak model (the embedded 135M default) answers a plan request with "1. 2018: 5", a query
request with "}" and a note with a passage id it made up. Each function here keeps what passes
and says why the rest did not, so the LLM activities can re-ask once with that reason and then
fall back (activities/fallbacks.py). No I/O, no Temporal: unit-tested on their own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from activities.words import content_stems, content_tokens, normalise
from domain.sources import Note, Passage

MIN_PLAN_ITEMS = 2
MIN_ITEM_WORDS = 3
MIN_NOTE_WORDS = 2
# Share of a note's content words that must occur in the passages it cites. A faithful
# paraphrase keeps most of its nouns; an invented note shares little beyond the topic.
NOTE_SUPPORT = 0.5
MAX_QUERY_CHARS = 120
# Share of the smaller item's stems found in an earlier item that makes it a repeat: the 135M
# model restates one sentence with a word or two changed ("... solar panels, batteries ...").
DUPLICATE_OVERLAP = 0.8

# Brackets, braces, `"key":`, and citation marks: pieces of JSON or of a list, not language.
DEBRIS = re.compile(r'[{}\[\]<>\\|]|"\s*:|^\W+$')
# "1.", "2)", "-", "*", "•", "#", "Step 3:" in front of an item.
MARKER = re.compile(r"^\s*(?:#+|[-*•]|\(?\d{1,2}[.):]|step\s+\d+\s*[:.)-]?)\s*", re.I)
# A date or number in front of an item's text ("2018-03-27: ...") says nothing about the step.
DATE_PREFIX = re.compile(r"^[\d\s./:-]+[:.)-]\s*(?=[^\d\s])")
# "1. x  2. y" on one line: split before a number marker that follows whitespace.
# A story, not a step: "20 years ago, a team of scientists discovered ..." is what a small model
# writes when asked for a plan; it shares the question's words, so the topic check passes it.
NARRATIVE = re.compile(
    r"\b(?:ago|once upon|a (?:team|group) of (?:\w+ )?(?:scientists|researchers)|discovered that"
    r"|conducted an experiment)\b",
    re.I,
)
# A step is a line; a paragraph is the model talking.
MAX_ITEM_WORDS = 30
INLINE_ITEM = re.compile(r"\s+(?=\d{1,2}[.)]\s)")


@dataclass
class Checked:
    """What passed, in order, and each refused text with its reason."""

    kept: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def reasons(self) -> str:
        """The reasons, counted, for a re-ask: "3 were numbers or debris, 1 off-topic"."""
        counts = Counter(reason for _, reason in self.refused)
        return ", ".join(f"{n} {reason}" for reason, n in counts.most_common())


def plan_items(text: str) -> list[str]:
    """The model's plan split into items, markers stripped ("1. x  2. y" is two items)."""
    items: list[str] = []
    for line in text.splitlines():
        for part in INLINE_ITEM.split(line):
            item = MARKER.sub("", part.strip(), count=1).strip()
            item = DATE_PREFIX.sub("", item, count=1).strip()
            if item:
                items.append(item)
    return items


def vocabulary(*texts: str) -> set[str]:
    """The stems an item may share to count as on topic."""
    stems: set[str] = set()
    for text in texts:
        stems |= content_stems(text)
    return stems


def junk_reason(text: str, min_words: int) -> str | None:
    """Why a line is not language worth keeping, or None: debris, numbers, too few words."""
    if DEBRIS.search(text):
        return "JSON or list debris"
    words = content_tokens(text)
    if not words:
        return "numbers or no content words"
    if len(words) < min_words:
        return "too short"
    return None


def check_plan(text: str, topic: set[str], *, cut_off: bool = False) -> Checked:
    """Plan items that are language, on topic (share a stem with `topic`) and not repeated.

    `cut_off`: the reply stopped at the token limit, so its last item is a fragment.
    """
    checked, seen = Checked(), list[set[str]]()
    items = plan_items(text)
    for n, item in enumerate(items, 1):
        reason = junk_reason(item, MIN_ITEM_WORDS)
        stems = content_stems(item)
        if reason is None and cut_off and n == len(items):
            reason = "cut off"
        if reason is None and item.endswith(":"):
            reason = "a lead-in, not a step"
        if reason is None and NARRATIVE.search(item):
            reason = "a story, not a step"
        if reason is None and len(item.split()) > MAX_ITEM_WORDS:
            reason = "a paragraph, not a step"
        if reason is None and not stems & topic:
            reason = "off the question's topic"
        if reason is None and stems <= topic:
            reason = "only repeats the question"
        if reason is None and any(repeats(stems, earlier) for earlier in seen):
            reason = "duplicate"
        if reason is None:
            seen.append(stems)
            checked.kept.append(item)
        else:
            checked.refused.append((item, reason))
    return checked


def repeats(stems: set[str], earlier: set[str]) -> bool:
    """Most of the smaller item's words are in the other: a rewording, not a new step."""
    return len(stems & earlier) >= DUPLICATE_OVERLAP * min(len(stems), len(earlier))


def check_phrases(phrases: list[str], previous: list[str], limit: int) -> Checked:
    """Queries or gaps: language with at least one content word, not seen before, `limit` kept.

    A repeat of an earlier phrase is refused as "already asked", which is not junk: a model
    that has run out of new ideas is a reason to stop searching, not to fall back.
    """
    checked = Checked()
    seen = {normalise(p) for p in previous}
    for raw in phrases:
        phrase = MARKER.sub("", raw.strip(), count=1).strip().strip("\"'").strip()
        reason = junk_reason(phrase, 1)
        if reason is None and len(phrase) > MAX_QUERY_CHARS:
            reason = "too long"
        if reason is None and normalise(phrase) in seen:
            reason = "already asked"
        if reason is None and len(checked.kept) >= limit:
            continue  # over the count asked for: trimmed, not wrong
        if reason is None:
            seen.add(normalise(phrase))
            checked.kept.append(phrase)
        else:
            checked.refused.append((raw, reason))
    return checked


def only_repeats(checked: Checked) -> bool:
    """Every refusal was a repeat: the model has no new ideas, rather than broken ones."""
    return all(reason == "already asked" for _, reason in checked.refused)


def note_problem(note: Note, passages: list[Passage]) -> str | None:
    """Why a note is not supported by the passages it cites, or None when it is.

    It must cite passages that exist in its source, be a sentence rather than debris, and most
    of its content words must occur in the cited passages. Notes carry no verbatim quote today,
    so this lexical share is the support test (the report's claims get the stricter one).
    """
    by_id = {p.id: p.text for p in passages}
    cited = [by_id[pid] for pid in note.passage_ids if pid in by_id]
    if not cited:
        return "cites no passage of its source"
    reason = junk_reason(note.text, MIN_NOTE_WORDS)
    if reason is not None:
        return reason
    stems = content_stems(note.text)
    shared = stems & vocabulary(*cited)
    if len(shared) < NOTE_SUPPORT * len(stems):
        return f"only {len(shared)} of its {len(stems)} words are in the cited passages"
    return None
