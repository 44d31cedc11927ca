"""The LLM activities check what the model returns: one re-ask, then the fallback, all counted.

Run in Temporal's ActivityEnvironment with a scripted ChatClient (no server, no HTTP).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from temporalio.testing import ActivityEnvironment

from activities.fallbacks import fallback_queries
from activities.llm import LLMActivities
from domain.calls import GapsRequest, NotesRequest, PlanRequest, QueriesRequest
from domain.run import Usage
from domain.sources import Note, Passage, ReadSource
from providers.artifacts import ArtifactStore
from providers.llm_base import ChatClient, ChatResult
from settings import Settings

GRID = "What are the main ways to store energy on the power grid?"


class ScriptedChat(ChatClient):
    """Answers from a list, one reply per call, and keeps every prompt it was sent."""

    def __init__(self, *replies: str | tuple[str, str]) -> None:
        self.settings = Settings()
        self.model = "scripted"
        self.replies = list(replies)
        self.prompts: list[str] = []

    def _next(self, user: str) -> ChatResult:
        self.prompts.append(user)
        usage = Usage(llm_calls=1, prompt_tokens=len(user) // 4, completion_tokens=5)
        reply = self.replies.pop(0)
        # A (text, finish_reason) pair stands for a reply that stopped that way ("length").
        text, finish = reply if isinstance(reply, tuple) else (reply, "stop")
        return ChatResult(text=text, usage=usage, finish_reason=finish)

    async def complete(self, system: str, user: str, *, max_tokens: int | None = None):
        return self._next(user)

    async def _structured(
        self, system: str, user: str, schema: type[BaseModel], max_tokens: int | None
    ) -> ChatResult:
        return self._next(user)


def acts(tmp_path: Path, *replies: str | tuple[str, str]) -> tuple[LLMActivities, ScriptedChat]:
    chat = ScriptedChat(*replies)
    return LLMActivities(chat, ArtifactStore(tmp_path)), chat


async def test_a_junk_plan_is_re_asked_once_then_falls_back(tmp_path: Path) -> None:
    llm, chat = acts(tmp_path, "1. 2018: 5\n2. 2019: 6", "}\n[2][3]\n## 1")
    result = await ActivityEnvironment().run(llm.plan, PlanRequest(question=GRID))
    assert result.source == "fallback" and result.rejected == 5
    assert result.plan.splitlines()[0] == (
        "1. Key facts about the main ways to store energy on the power grid"
    )
    assert result.usage.llm_calls == 2 and len(chat.prompts) == 2
    assert "2 numbers or no content words" in chat.prompts[1]
    assert chat.prompts[1].startswith(chat.prompts[0])


async def test_a_re_asked_plan_that_passes_is_the_models(tmp_path: Path) -> None:
    good = "1. Compare battery storage costs\n2. Describe pumped hydro storage\n3. 2020: 7"
    llm, _ = acts(tmp_path, "## 1", good)
    result = await ActivityEnvironment().run(llm.plan, PlanRequest(question=GRID))
    assert result.source == "model" and result.rejected == 2
    assert result.plan == "1. Compare battery storage costs\n2. Describe pumped hydro storage"
    assert result.usage.llm_calls == 2


async def test_a_good_plan_costs_one_call(tmp_path: Path) -> None:
    llm, chat = acts(tmp_path, "1. Battery storage costs\n2. Pumped hydro storage sites")
    result = await ActivityEnvironment().run(llm.plan, PlanRequest(question=GRID))
    assert (result.source, result.rejected, result.usage.llm_calls) == ("model", 0, 1)
    assert len(chat.prompts) == 1


async def test_the_last_step_of_a_cut_off_plan_is_dropped(tmp_path: Path) -> None:
    cut = "1. Battery storage costs\n2. Pumped hydro storage sites\n3. Compressed air energy in"
    llm, _ = acts(tmp_path, (cut, "length"))
    result = await ActivityEnvironment().run(llm.plan, PlanRequest(question=GRID))
    assert result.plan == "1. Battery storage costs\n2. Pumped hydro storage sites"
    assert (result.source, result.rejected) == ("model", 1)


async def test_junk_queries_fall_back_to_keywords(tmp_path: Path) -> None:
    junk = json.dumps({"queries": ["}", "2019", "[1]"]})
    llm, chat = acts(tmp_path, junk, junk)
    req = QueriesRequest(question=GRID, plan="1. Compare pumped hydro storage", count=2)
    result = await ActivityEnvironment().run(llm.generate_queries, req)
    assert result.source == "fallback" and result.rejected == 6
    assert result.queries == ["store energy power grid", "pumped hydro store energy power"]
    assert result.usage.llm_calls == 2
    assert "2 JSON or list debris" in chat.prompts[1]


async def test_repeated_queries_get_the_plan_not_searched_yet_without_a_re_ask(
    tmp_path: Path,
) -> None:
    # A model with no new ideas is not asked again; what the plan asks and was not searched
    # yet still is (so a later round has something to search).
    llm, chat = acts(tmp_path, json.dumps({"queries": ["battery storage"]}))
    plan = "1. Costs of pumped hydro reservoirs"
    req = QueriesRequest(question=GRID, plan=plan, previous_queries=["battery storage"])
    result = await ActivityEnvironment().run(llm.generate_queries, req)
    assert (result.source, len(chat.prompts)) == ("fallback", 1)
    assert result.queries and "battery storage" not in result.queries
    assert any("pumped hydro" in q for q in result.queries)
    # Once those were searched too, there is nothing new: no queries, and the run stops there.
    llm, chat = acts(tmp_path, json.dumps({"queries": ["battery storage"]}))
    searched = ["battery storage", *fallback_queries(GRID, plan, [], 10)]
    req = QueriesRequest(question=GRID, plan=plan, previous_queries=searched)
    result = await ActivityEnvironment().run(llm.generate_queries, req)
    assert (result.queries, len(chat.prompts)) == ([], 1)


async def test_notes_not_supported_by_their_passage_are_dropped(tmp_path: Path) -> None:
    notes = [
        {"text": "Pumped hydro is the largest form of grid storage.", "passage_ids": ["p0"]},
        {"text": "Pumped hydro is the largest form of grid storage.", "passage_ids": ["p9"]},
        {"text": "Hydrogen caverns hold months of winter heating fuel.", "passage_ids": ["p0"]},
        {"text": "2018: 5 }, [2][3]", "passage_ids": ["p0"]},
    ]
    llm, _ = acts(tmp_path, json.dumps({"notes": notes}))
    passage = Passage(id="p0", text="Pumped hydro is the largest form of grid storage worldwide.")
    source = ReadSource(
        source_id="s1", title="Hydro", url="file:///h", provider="local", artifact_ref="a",
        chars=60, passages=[passage],
    )  # fmt: skip
    result = await ActivityEnvironment().run(
        llm.take_notes, NotesRequest(question=GRID, source=source)
    )
    assert [n.text for n in result.notes] == [notes[0]["text"]]
    assert result.notes[0].passage_ids == ["p0"] and result.dropped == 3


async def test_junk_gaps_become_the_uncovered_question_words(tmp_path: Path) -> None:
    covered = Note(text="Pumped hydro stores energy on the grid.", source_id="s", passage_ids=[])
    llm, _ = acts(tmp_path, json.dumps({"gaps": ["}", "2021"]}), json.dumps({"gaps": []}))
    req = GapsRequest(question=GRID, notes=[covered])
    result = await ActivityEnvironment().run(llm.find_gaps, req)
    assert (result.gaps, result.source, result.rejected) == (
        ["What is known about power"],
        "fallback",
        2,
    )
    empty = await ActivityEnvironment().run(llm.find_gaps, req)
    assert (empty.gaps, empty.source) == ([], "model")
