"""The eval set shipped in `evals/`: its questions, their checks, and the keyword queries.

`evals/questions.json` names, for each question, the corpus files that answer it and the key
facts a good answer must state. A key fact is one phrase or a list of accepted phrasings; each
phrasing occurs literally (case-insensitively) in one of the question's relevant documents, so a
grader can look for it in an answer without judging paraphrase. `problems` says what breaks that
contract; the unit test keeps it empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from providers.extract import extract

ROOT = Path(__file__).resolve().parent.parent
EVALS = ROOT / "evals"
CORPUS = EVALS / "corpus"
QUESTIONS = EVALS / "questions.json"

# Wider than the index's own stopword list: a keyword query keeps only the words that carry the
# topic, as a terse query written by a person or a small model would.
_QUESTION_WORDS = frozenset(
    "a about after all also an and any are as at be been before being between both but by can "
    "could did do does doesn don each for from get had has have how i if in into is it its "
    "make makes many more most much not of on one or other our over own same should so some "
    "such than that the their them then there these they this those through to turn under up "
    "use very was we were what when where which while who why will with would you your "
    "instead keep keeps out doesn't don't isn't aren't can't won't didn't".split()
)
_WORD = re.compile(r"[\w'-]+")


class EvalQuestion(BaseModel):
    id: str = Field(min_length=1)
    question: str = Field(min_length=10)
    relevant: list[str] = Field(min_length=1)
    key_facts: list[str | list[str]] = Field(min_length=2, max_length=4)

    def phrasings(self) -> list[list[str]]:
        """Each key fact as its list of accepted phrasings."""
        return [[fact] if isinstance(fact, str) else fact for fact in self.key_facts]


def load_questions(path: Path = QUESTIONS) -> list[EvalQuestion]:
    data = json.loads(path.read_text())
    return [EvalQuestion.model_validate(raw) for raw in data["questions"]]


def problems(questions: list[EvalQuestion], corpus: Path = CORPUS) -> list[str]:
    """Everything that breaks the eval set's contract; empty when it holds."""
    found: list[str] = []
    seen: set[str] = set()
    texts: dict[str, str] = {}
    for q in questions:
        if q.id in seen:
            found.append(f"{q.id}: duplicate id")
        seen.add(q.id)
        for name in q.relevant:
            path = corpus / name
            if not path.is_file():
                found.append(f"{q.id}: relevant document {name} does not exist")
            elif name not in texts:
                texts[name] = extract(path).text.lower()
        relevant_texts = [texts[name] for name in q.relevant if name in texts]
        for phrasings in q.phrasings():
            if not phrasings or not all(p.strip() for p in phrasings):
                found.append(f"{q.id}: a key fact with no phrasing")
            for phrase in phrasings:
                if phrase.strip() and not any(phrase.lower() in t for t in relevant_texts):
                    found.append(f"{q.id}: key fact {phrase!r} is in none of its documents")
    return found


def keyword_query(question: str, limit: int | None = None) -> str:
    """The question's content words in order; with `limit`, only the longest `limit` of them.

    The longest words stand in for the rarest ones (a cheap proxy with no corpus statistics);
    among words of equal length the earlier wins. The kept words stay in the question's order.
    """
    words = [w.strip("'-") for w in _WORD.findall(question.lower())]
    content = list(dict.fromkeys(w for w in words if w and w not in _QUESTION_WORDS))
    if limit is not None:
        longest = set(sorted(content, key=len, reverse=True)[:limit])
        content = [w for w in content if w in longest]
    return " ".join(content)
