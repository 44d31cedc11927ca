"""Deterministic stand-ins for a plan, queries or gaps the model could not give in usable form.

Built from the question's own words (and the plan's, for queries), so they are plain and
honest: they promise nothing the question did not ask. The activities use them only after the
checks in activities/checks.py refused the model's answer and one re-ask did not help.
"""

from __future__ import annotations

import re

from activities.checks import check_phrases, plan_items
from activities.words import content_stems, keywords
from domain.sources import Note

MAX_PLAN_ITEMS = 6
# What a plan step does rather than what it is about: noise in a keyword query.
STEP_WORDS = frozenset(
    """
    compare describe review examine explain identify analyse analyze assess evaluate explore
    investigate define discuss collect gather study understand check consider outline key
    facts examples figures focus person asked
    """.split()
)
# "What are", "How is", "Why did"... in front of a question: what is left is its subject.
ASKING = re.compile(
    r"^(?:what|which|how|why|when|where|who|whom|whose)\b"
    r"(?:\s+(?:are|is|was|were|do|does|did|can|could|should|would|will|has|have|had))?\s+",
    re.I,
)


def topic_phrase(question: str) -> str:
    """The question's subject: "What are the main ways to store energy?" gives "the main
    ways to store energy"; a question that is nothing but asking words stays whole."""
    text = " ".join(question.split()).rstrip("?.! ")
    topic = ASKING.sub("", text, count=1)
    return topic if content_stems(topic) else text


def numbered(items: list[str]) -> str:
    """A plan as the workflow shows and passes it on: one numbered line per item."""
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items[:MAX_PLAN_ITEMS], 1))


def fallback_plan(question: str, clarifications: dict[str, str]) -> list[str]:
    """Three steps about the question's subject, and one for what the person clarified."""
    topic = topic_phrase(question)
    items = [
        f"Key facts about {topic}",
        f"Examples and figures for {topic}",
        f"Costs, limits and trade-offs of {topic}",
    ]
    answers = "; ".join(a.strip() for a in clarifications.values() if content_stems(a))
    if answers:
        items.append(f"Focus on what the person asked for: {answers[:160]}")
    return items


def fallback_queries(question: str, plan: str, previous: list[str], count: int) -> list[str]:
    """Short keyword queries: the question's, then each plan item's own words with the
    question's, skipping any already searched."""
    asked = keywords(question, 4)
    candidates = [" ".join(asked)]
    question_stems = content_stems(question)
    for item in plan_items(plan):
        own = [
            w
            for w in keywords(item, 8)
            if w not in STEP_WORDS and not content_stems(w) <= question_stems
        ]
        if own:
            candidates.append(" ".join(dict.fromkeys(own[:3] + asked[:3])))
    return check_phrases(candidates, previous, count).kept


def fallback_gaps(question: str, notes: list[Note]) -> list[str]:
    """One gap naming the question's words no note mentions yet; none when all are covered."""
    noted: set[str] = set()
    for note in notes:
        noted |= content_stems(note.text)
    missing = [w for w in keywords(question, 6) if not content_stems(w) <= noted]
    return [f"What is known about {', '.join(missing)}"] if missing else []
