"""The extractive floor: claims quoted from the passages read, chosen by our code, no model.

When the model's claims for a plan item all fail the checks (always, with the embedded 135M
model), the item still gets 1-3 sentences: the passages' own sentences that share most content
words with the item and the question, each quoted whole with its exact span in its passage.
Deterministic, so a retried activity writes the same report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from activities.claim_checks import sentence_problem
from activities.words import content_stems
from domain.report import Claim, Evidence

MAX_PER_ITEM = 3
# A second or third sentence for an item must score at least this share of its best one:
# the item's evidence, not filler that merely mentions the topic.
RUNNER_UP_SHARE = 0.6
# A sentence, across single line breaks, up to . ! or ? before whitespace (so "3.5" stays whole).
SENTENCE = re.compile(r"\S.*?[.!?](?=\s|$)", re.S)


@dataclass(frozen=True)
class Sentence:
    source: int
    passage_id: str
    start: int
    end: int
    text: str  # the sentence with its whitespace runs as one space
    quote: str  # exactly passage[start:end]
    stems: frozenset[str]
    bonus: float  # cited passage, source with notes


@dataclass(frozen=True)
class Target:
    """What a section answers: a plan item (1-based; None for the question itself) and its text."""

    plan_item: int | None
    text: str


def _blocks(passage: str) -> list[tuple[int, int]]:
    """(start, end) of each run of prose lines: headings and blank lines split them."""
    blocks, start, pos = [], -1, 0
    for line in passage.splitlines(keepends=True):
        prose = bool(line.strip()) and not line.lstrip().startswith(("#", "|", "```"))
        if prose and start < 0:
            start = pos
        if not prose and start >= 0:
            blocks.append((start, pos))
            start = -1
        pos += len(line)
    if start >= 0:
        blocks.append((start, pos))
    return blocks


def sentences(source: int, passage_id: str, passage: str, bonus: float = 0.0) -> list[Sentence]:
    """The passage's sentences that pass the claim checks (no headings, fragments or debris)."""
    found = []
    for first, last in _blocks(passage):
        for match in SENTENCE.finditer(passage, first, last):
            text = " ".join(match.group(0).split())
            if sentence_problem(text) is None:
                found.append(
                    Sentence(source, passage_id, match.start(), match.end(), text,
                             match.group(0), frozenset(content_stems(text)), bonus)
                )  # fmt: skip
    return found


# A sentence that leans on the one before it ("It has been used since ...") reads as a riddle
# when quoted alone, so it ranks below an equal one that names its subject. A small deduction,
# not a factor: it breaks ties without pushing such a sentence under RUNNER_UP_SHARE, since it
# may be the only one that states the fact.
DANGLING = re.compile(r"^(?:it|this|these|they|that|those|such|its|their|he|she)\b", re.I)
DANGLING_PENALTY = 0.5


def _score(sentence: Sentence, item: set[str], question: set[str]) -> float:
    on_item, on_question = len(sentence.stems & item), len(sentence.stems & question)
    if not on_item and not on_question:
        return 0.0
    score = 2.0 * on_item + on_question + sentence.bonus
    return score - DANGLING_PENALTY if DANGLING.match(sentence.text) else score


def extract_claims(
    targets: list[Target],
    pool: list[Sentence],
    question: str,
    taken: set[str] | None = None,
) -> dict[int | None, list[Claim]]:
    """Up to MAX_PER_ITEM claims per target, no sentence used twice (nor any text in `taken`).

    Round robin, so every target gets its best sentence before any gets a second one.
    A target nothing matches gets none: an empty section is better than an unrelated quote.
    """
    question_stems = content_stems(question)
    seen = set(taken or ())
    ranked: list[list[tuple[float, Sentence]]] = []
    for target in targets:
        item_stems = content_stems(target.text) - question_stems
        scored = [(_score(s, item_stems, question_stems), s) for s in pool]
        # Best first; ties go to the earlier source and the earlier sentence (deterministic).
        scored = sorted(
            ((sc, s) for sc, s in scored if sc > 0),
            key=lambda p: (-p[0], p[1].source, p[1].passage_id, p[1].start),
        )
        ranked.append(scored)
    chosen: dict[int | None, list[Claim]] = {t.plan_item: [] for t in targets}
    best: dict[int, float] = {}
    # The target with the strongest match chooses first: "costs and limits" takes the sentence
    # about cost before a vaguer item takes it for sharing the question's words.
    order = sorted(range(len(targets)), key=lambda i: -ranked[i][0][0] if ranked[i] else 0.0)
    for _ in range(MAX_PER_ITEM):
        for index in order:
            target = targets[index]
            for score, sentence in ranked[index]:
                key = " ".join(sentence.text.lower().split())
                if key in seen:
                    continue
                if index in best and score < RUNNER_UP_SHARE * best[index]:
                    break
                best.setdefault(index, score)
                seen.add(key)
                chosen[target.plan_item].append(_claim(sentence, target.plan_item))
                break
    return chosen


def _claim(sentence: Sentence, plan_item: int | None) -> Claim:
    evidence = Evidence(
        source=sentence.source,
        passage_id=sentence.passage_id,
        quote=sentence.quote,
        start=sentence.start,
        end=sentence.end,
    )
    return Claim(
        id="", text=sentence.text, evidence=[evidence], origin="extract", plan_item=plan_item
    )
