"""A scripted OpenAI-compatible chat server for tests: the fake sits at the HTTP boundary.

The worker's real `ChatClient` talks to it over loopback, so everything from the SDK call to
error classification runs as in production. Each reply is chosen by the JSON schema asked for
(or plain text for the plan); every request is recorded so tests can count repeated calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.faults import FaultPlan, llm_fault_response


@dataclass
class Call:
    kind: str
    fingerprint: str
    completed: bool = False


@dataclass
class Script:
    questions: list[str] = field(default_factory=lambda: ["Which period matters?", "Which region?"])
    queries: list[str] = field(default_factory=lambda: ["battery storage", "pumped hydro"])
    gaps: list[str] = field(default_factory=list)
    # Plan replies to give, in order, before the default plan (which names the question).
    plans: list[str] = field(default_factory=list)
    # A report claim citing this source number, which no run reads.
    bogus_citation: int | None = None
    # A report claim with this text whose quote (the same text) is not in its passage.
    unsupported_claim: str | None = None
    # A report claim with this text whose quote IS a sentence of its passage: the writer's quote
    # check passes it, and only the support check can see that the passage does not say it.
    misattributed_claim: str | None = None
    # kind -> list of HTTP statuses to answer before succeeding (429 carries Retry-After: 1)
    failures: dict[str, list[int]] = field(default_factory=dict)
    # kind -> seconds to hold each reply (to catch a run mid-activity)
    delays: dict[str, float] = field(default_factory=dict)
    # Random faults at a set rate (429, 500, timeout, truncated body, garbled JSON), for the
    # fault suite; scripted `failures` still come first.
    faults: FaultPlan | None = None


class FakeLLM:
    def __init__(self) -> None:
        self.script = Script()
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._complete)
        # What `research doctor` asks an OpenAI-compatible endpoint.
        self.app.get("/v1/models")(lambda: {"object": "list", "data": [{"id": "fake"}]})
        self.server: uvicorn.Server | None = None
        self.port = 0
        self.max_tokens: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        # Every Authorization header seen, so a test can prove a configured key was sent.
        self.authorizations: set[str] = set()

    def reset(self, **script: Any) -> None:
        with self.lock:
            self.script = Script(**script)
            self.calls = []
            self.max_in_flight = 0

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c.kind == kind)

    async def _complete(self, request: Request) -> Response:
        self.authorizations.add(request.headers.get("authorization", ""))
        body = await request.json()
        kind = _kind(body)
        prompt = body["messages"][-1]["content"]
        call = Call(kind=kind, fingerprint=hashlib.sha256(prompt.encode()).hexdigest()[:16])
        with self.lock:
            self.calls.append(call)
            failures = self.script.failures.get(kind, [])
            status = failures.pop(0) if failures else None
            delay = self.script.delays.get(kind, 0.0)
            plan = self.script.faults
        fault = plan.draw() if plan is not None and status is None else None
        if fault is not None and fault != "garbled":
            assert plan is not None
            return await llm_fault_response(fault, plan.hang_s)
        if status is not None:
            headers = {"retry-after": "1"} if status == 429 else {}
            return JSONResponse(
                {"error": {"message": f"injected {status}"}}, status, headers=headers
            )
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if delay:
                await asyncio.sleep(delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        self.max_tokens = body.get("max_tokens")
        if kind == "ReportDraft" and _asks_for_paragraphs(body):
            content = _paragraphs_draft(prompt)  # a worker released before reports had claims
        else:
            content = self._reply(kind, prompt)
        if fault == "garbled":
            # A well-formed reply whose content is not the JSON asked for: the client re-asks.
            content = "Sure! Here is what I found: " + content[: len(content) // 2]
        # Any text is a plan, so a garbled plan still counts as a served call.
        call.completed = fault is None or kind == "text"
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": (len(prompt) + len(content)) // 4,
                },
            }
        )

    def _reply(self, kind: str, prompt: str) -> str:
        s = self.script
        if kind == "QuestionsDraft":
            return json.dumps({"questions": s.questions})
        if kind == "QueriesDraft":
            return json.dumps({"queries": s.queries})
        if kind == "NotesDraft":
            return json.dumps({"notes": _first_sentence_note(prompt)})
        if kind == "GapsDraft":
            return json.dumps({"gaps": s.gaps})
        if kind == "ReportDraft":
            return json.dumps(
                _claims_draft(prompt, s.bogus_citation, s.unsupported_claim, s.misattributed_claim)
            )
        with self.lock:
            if s.plans:
                return s.plans.pop(0)
        asked = re.search(r"^Research question: (.*?)\??$", prompt, flags=re.M)
        topic = asked.group(1) if asked else "the question"
        # Short on-topic steps first, so that the first half of the plan (what a "garbled"
        # fault keeps) still holds two steps that pass the plan check.
        return (
            f"1. Evidence on: {topic}\n2. Costs and limits of: {topic}\n3. Write the report, "
            "with a citation to the sources read for each claim it makes, and what is unknown."
        )

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        thread = threading.Thread(target=self.server.run, daemon=True)
        thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _asks_for_paragraphs(body: dict[str, Any]) -> bool:
    """True when the schema asked for is the report draft of before claims (a summary and
    sections of paragraphs), as a released worker in the upgrade tests asks."""
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    return "summary" in (schema.get("properties") or {})


def _paragraphs_draft(prompt: str) -> str:
    numbers = list(dict.fromkeys(int(n) for n in re.findall(r"^\[(\d+)\] ", prompt, flags=re.M)))
    paragraph = {"text": "The sources agree on the main points.", "citations": numbers}
    sections = [{"heading": "Findings", "paragraphs": [paragraph]}]
    return json.dumps({"title": "Report", "summary": "What the sources say.", "sections": sections})


def _kind(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["name"]
    return "text"


def _first_sentence_note(prompt: str) -> list[dict[str, Any]]:
    """The first sentence of the first passage, citing it: a note its passage supports."""
    blocks = re.findall(
        r"^\[(p\d+)\] (.*?)(?=^\[p\d+\] |^Write up to |\Z)", prompt, flags=re.M | re.S
    )
    for pid, body in blocks:
        # Headings are titles, not statements: the note is the first sentence of the prose.
        prose = " ".join(ln for ln in body.split("\n") if ln.strip() and not ln.startswith("#"))
        sentence = re.match(r".*?[.!?](?=\s|$)", prose.strip())
        if sentence:
            return [{"text": sentence.group(0), "passage_ids": [pid]}]
    return []


def _claims_draft(
    prompt: str, bogus: int | None, unsupported: str | None, misattributed: str | None = None
) -> dict[str, Any]:
    """One claim per plan item: the first sentence of a passage shown in the prompt, quoted
    word for word, so it passes the writer's checks; plus the scripted bad claims."""
    items = re.findall(r"^(\d+)\. (.*)$", prompt.split("Passages")[0], flags=re.M)
    shown = re.findall(r"^\[(\d+) (\S+)\] (.*)$", prompt, flags=re.M)
    quotable = []
    for number, pid, text in shown:
        sentence = re.search(r"[A-Z][^.!?]*[.!?](?=\s|$)", text)
        if sentence and len(sentence.group(0).split()) >= 4:
            quotable.append((int(number), pid, sentence.group(0)))
    sections = []
    for i, (n, item) in enumerate(items[:4]):
        claims = []
        if quotable:
            number, pid, sentence = quotable[i % len(quotable)]
            claims.append(
                {"text": sentence, "source": number, "passage_id": pid, "quote": sentence}
            )
        sections.append({"heading": item, "plan_item": int(n), "claims": claims})
    extra = sections[0]["claims"] if sections else []
    if bogus is not None and quotable:
        number, pid, sentence = quotable[0]
        extra.append(
            {"text": "The sources agree on the main points.", "source": bogus,
             "passage_id": pid, "quote": sentence}
        )  # fmt: skip
    if unsupported is not None and quotable:
        number, pid, _ = quotable[0]
        extra.append(
            {"text": unsupported, "source": number, "passage_id": pid, "quote": unsupported}
        )
    if misattributed is not None and quotable:
        number, pid, sentence = quotable[-1]
        extra.append(
            {"text": misattributed, "source": number, "passage_id": pid, "quote": sentence}
        )
    asked = re.search(r"^Research question: (.*?)\??$", prompt, flags=re.M)
    topic = asked.group(1) if asked else "the question"
    revised = "Reviewer's comment:" in prompt
    return {
        "title": "Revised report" if revised else "Report",
        "lead": f"This report answers the question: {topic}.",
        "sections": sections,
    }
