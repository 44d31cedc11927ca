"""The writer's checks on a claim: is it a sentence, and does its quote occur in its passage?

Pure functions, shared by the claims writer (activities/claims_writer.py) and the extractive
floor (activities/extractive.py), so a sentence the model wrote and one our code quoted pass
the same test. Whether the passage actually *supports* the sentence is the support check's
question (a separate activity); these only refuse what cannot be a grounded claim at all.
"""

from __future__ import annotations

import re

from activities.checks import junk_reason
from activities.words import content_stems, fold
from domain.citations import CITATION

MIN_CLAIM_WORDS = 4
MIN_QUOTE_WORDS = 4
MAX_CLAIM_CHARS = 400
# JSON or list debris inside a sentence: braces, brackets, a `"key":`, markdown bullets or
# emphasis, and "2018: 5" (a number, a colon, a number: a table row, not a statement).
CLAIM_DEBRIS = re.compile(r'[{}\[\]<>\\|*_#`]|"\s*:|\d\s*:\s*\d')


def strip_marks(text: str) -> str:
    """The text without `[n]` citation marks and runs of whitespace (a model writes both)."""
    return " ".join(CITATION.sub("", text).split())


def sentence_problem(text: str) -> str | None:
    """Why `text` is not one readable sentence, or None when it is."""
    if not text:
        return "empty"
    if not text[0].isalpha():
        return "does not start with a letter"
    if text[-1] not in ".!?":
        return "a fragment: no closing . ! or ?"
    if len(text) > MAX_CLAIM_CHARS:
        return "too long for one sentence"
    if CLAIM_DEBRIS.search(text):
        return "JSON or list debris"
    if len(text.split()) < MIN_CLAIM_WORDS:
        return "too short"
    return junk_reason(text, 2)


def locate_quote(quote: str, passage: str) -> tuple[int, int] | None:
    """(start, end) of `quote` in `passage`, compared without case, quote style or spacing.

    The model may wrap its quote in quotation marks, end it with "..." or add a full stop the
    passage does not have; those are trimmed when the quote is not found whole.
    """
    text, where = fold(passage)
    wanted = fold(quote)[0].strip(" \"'")
    for attempt in (wanted, wanted.rstrip(" .…")):
        at = text.find(attempt) if attempt else -1
        if at >= 0:
            return where[at], where[at + len(attempt) - 1] + 1
    return None


def quote_problem(quote: str, passage: str | None) -> tuple[str | None, tuple[int, int]]:
    """Why `quote` cannot back a claim from `passage` (None when it can), and its span."""
    if passage is None:
        return "the passage id is not in the cited source", (-1, -1)
    if len(quote.split()) < MIN_QUOTE_WORDS:
        return "quote too short to back a claim", (-1, -1)
    span = locate_quote(quote, passage)
    if span is None:
        return "quote not found in the cited passage", (-1, -1)
    return None, span


def clean_heading(heading: str, fallback: str) -> str:
    """The model's heading when it is words; else `fallback` (the plan item's text)."""
    heading = " ".join(heading.split()).strip(" #:-")
    if not heading or junk_reason(heading, 1) or CLAIM_DEBRIS.search(heading):
        return heading_from(fallback)
    return heading


def heading_from(item: str) -> str:
    """A plan item (or the question) as a section heading: one line, capitalised, no colon."""
    text = " ".join(item.split()).rstrip(" :;,.")
    if len(text) > 100:
        text = text[:100].rsplit(" ", 1)[0] + "…"
    return (text[:1].upper() + text[1:]) if text else "Findings"


def shares_words(text: str, *others: str) -> bool:
    """At least one content word of `text` (by stem) is in one of `others`."""
    stems = content_stems(text)
    return any(stems & content_stems(other) for other in others)
