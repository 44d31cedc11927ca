"""Content words: the small vocabulary the output checks compare (activities/checks.py), and
`fold`, the one way a quote is compared with its passage (writer and support check alike).

Deliberately crude and deterministic: lowercase letter runs, a stopword list, and a suffix
stripper that maps "stored", "storing", "storage" and "store" to one stem. It only has to tell
"Compare pumped hydro and battery costs" (about the grid question) from "2018: 5" or "## 1";
it is not a linguistic model, and both sides of every comparison go through the same function.
"""

from __future__ import annotations

import re

# Function words, plus words every research text uses whatever its topic ("research",
# "sources", "report"...): an item sharing only those with the question is not about it.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up us very was we were what when where which while who whom why will with
    would you your yours yes may might must shall let lets get got via per etc
    one two three four five first second third next last step steps
    main way ways thing things kind kinds type types various different many much well use used
    using make made find found look looking see give gives given need needs want
    research researching researched question questions answer answers topic topics
    source sources search searching searched report reports reporting write writing plan
    information info data detail details overview summary summarise summarize list note notes
    """.split()
)

# Longest first; a suffix is stripped only when at least MIN_STEM letters remain.
SUFFIXES = (
    "ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "age", "ly", "s",
    "e", "y",
)  # fmt: skip
MIN_STEM = 3
WORD = re.compile(r"[a-z]+")


def stem(word: str) -> str:
    """One crude stem per word family ("batteries" and "battery" both give "batter")."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def content_tokens(text: str) -> list[str]:
    """The text's words that carry meaning, as written (lowercased), in order, with repeats."""
    return [w for w in WORD.findall(text.lower()) if len(w) >= 2 and w not in STOPWORDS]


def content_stems(text: str) -> set[str]:
    """The stems of the text's content words: what two texts are compared on."""
    return {stem(w) for w in content_tokens(text)}


def keywords(text: str, limit: int) -> list[str]:
    """Up to `limit` distinct content words of the text, in order of first appearance."""
    seen: dict[str, str] = {}
    for word in content_tokens(text):
        seen.setdefault(stem(word), word)
    return list(seen.values())[:limit]


def normalise(text: str) -> str:
    """Lowercase with runs of whitespace as one space: how quotes and duplicates are compared."""
    return " ".join(text.lower().split())


# Curly double and single quotes, en and em dashes: written as escapes, they look alike.
_FOLD = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"}
    | {"\u2013": "-", "\u2014": "-"}
    # A final sigma as the plain one: a capital lowercased alone never becomes the final form.
    | {"\u03c2": "\u03c3"}
)


def fold(text: str) -> tuple[str, list[int]]:
    """`text` lowercased, quotes and dashes unified, whitespace runs as one space; with, for
    each folded character, its index in `text` (so a match maps back to a character span)."""
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        if char.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                where.append(i)
            continue
        # One entry per folded character: lowercasing may lengthen one ("İ" gives two).
        for folded in char.lower().translate(_FOLD):
            out.append(folded)
            where.append(i)
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where
