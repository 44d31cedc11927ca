"""The Anthropic client at the transport (httpx2 MockTransport inside the real SDK), the
classification it shares with the OpenAI path, `research doctor` on it, and one research run
on the real dev server with the worker talking to an Anthropic-shaped scripted server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import anthropic
import httpx
import httpx2
import openai
import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.drafts import NotesDraft, QueriesDraft
from cli.doctor import check_llm
from domain.run import RunOptions, RunStatus
from domain.state import ResearchInput
from providers.llm import OpenAIChatClient, build_chat_client
from providers.llm_anthropic import AnthropicChatClient
from settings import Settings
from tests.fakes.anthropic_server import FakeAnthropic
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

MODEL = "claude-fake"
PRICES = {MODEL: (3.0, 15.0)}  # USD per million tokens, (input, output)

Handler = Callable[[httpx2.Request], httpx2.Response]


def anthropic_settings(**update: object) -> Settings:
    fields: dict = {
        "llm_provider": "anthropic",
        "llm_model": MODEL,
        "llm_api_key": "sk-ant-test",
        "llm_prices": PRICES,
    }
    return Settings(_env_file=None, **(fields | update))


class Recorder:
    """Answers each request with the next scripted response, keeping the bodies it got."""

    def __init__(self, *responses: httpx2.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def body(self, i: int = -1) -> dict:
        return json.loads(self.requests[i].content)


def client_for(handler: Handler, **update: object) -> AnthropicChatClient:
    settings = anthropic_settings(**update)
    sdk = anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        base_url="http://anthropic.test",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
    )
    return AnthropicChatClient(settings, sdk)


def message(*content: dict, stop_reason: str = "tool_use", tokens=(1000, 200)) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": list(content),
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        },
    )


def tool_use(data: object, name: str = "QueriesDraft") -> dict:
    return {"type": "tool_use", "id": "toolu_1", "name": name, "input": data}


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"type": "error", "error": {"type": kind, "message": f"{kind} happened"}}
    return httpx2.Response(status, json=body, headers=headers or {})


# -- success ---------------------------------------------------------------------------------


async def test_structured_output_is_a_forced_tool_call_validated_and_priced() -> None:
    rec = Recorder(message(tool_use({"queries": ["battery storage", "pumped hydro"]})))
    chat = client_for(rec)
    draft, usage = await chat.complete_json(
        "be brief", "grid storage?", QueriesDraft, max_tokens=99
    )

    assert draft.queries == ["battery storage", "pumped hydro"]
    assert (usage.llm_calls, usage.prompt_tokens, usage.completion_tokens) == (1, 1000, 200)
    assert usage.cost_usd == pytest.approx((1000 * 3.0 + 200 * 15.0) / 1_000_000)
    request = rec.requests[0]
    assert request.url.path == "/v1/messages"
    assert "sk-ant-test" in (
        request.headers.get("authorization", "") + request.headers.get("x-api-key", "")
    )
    body = rec.body()
    assert body["tools"] == [
        {
            "name": "QueriesDraft",
            "description": "Record the answer as a QueriesDraft object.",
            "input_schema": QueriesDraft.model_json_schema(),
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "QueriesDraft"}
    assert body["system"] == "be brief" and body["messages"] == [
        {"role": "user", "content": "grid storage?"}
    ]
    assert body["max_tokens"] == 99 and body["model"] == MODEL
    # The SDK's API version refuses sampling parameters: none may be sent.
    assert "temperature" not in body


async def test_plain_completion_joins_text_blocks() -> None:
    rec = Recorder(
        message(
            {"type": "text", "text": "1. Search.\n"},
            {"type": "text", "text": "2. Write."},
            stop_reason="end_turn",
            tokens=(50, 7),
        )
    )
    result = await client_for(rec).complete("sys", "plan it")
    assert result.text == "1. Search.\n2. Write." and result.finish_reason == "end_turn"
    assert result.usage.total_tokens == 57
    assert "tools" not in rec.body() and rec.body()["max_tokens"] == 512  # llm_max_tokens


# -- malformed output is re-asked, then refused ---------------------------------------------


async def test_malformed_tool_input_is_re_asked_then_invalid_output() -> None:
    rec = Recorder(message(tool_use({"queries": "not a list"})))
    with pytest.raises(ApplicationError) as caught:
        await client_for(rec).complete_json("sys", "grid storage?", QueriesDraft)
    assert caught.value.type == "invalid_output" and caught.value.non_retryable
    assert len(rec.requests) == 3  # llm_json_retries=2: asked once and re-asked twice
    reasked = rec.body(1)["messages"][0]["content"]
    assert reasked.startswith("grid storage?") and "was not valid JSON for the schema" in reasked


async def test_a_malformed_reply_then_a_good_one_succeeds_and_both_are_counted() -> None:
    rec = Recorder(
        message(tool_use({"notes": [{"text": "x"}]}, "NotesDraft"), stop_reason="max_tokens"),
        message(tool_use({"notes": [{"text": "Batteries.", "passage_ids": ["p1"]}]}, "NotesDraft")),
    )
    draft, usage = await client_for(rec).complete_json("sys", "notes?", NotesDraft)
    assert draft.notes[0].passage_ids == ["p1"]
    assert usage.llm_calls == 2 and usage.total_tokens == 2 * 1200
    # Cut off at max_tokens: the re-ask says to write less, not to fix the JSON.
    assert "cut off at the length limit" in rec.body(1)["messages"][0]["content"]


# -- errors: the same classification as the OpenAI path --------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (401, "authentication_error", "bad_credentials"),
        (403, "permission_error", "bad_credentials"),
        (404, "not_found_error", "model_not_found"),
        (400, "invalid_request_error", "bad_request"),
        (413, "request_too_large", "bad_request"),
    ],
)
async def test_errors_no_retry_can_fix_fail_at_once(status: int, kind: str, expected: str) -> None:
    rec = Recorder(error(status, kind))
    with pytest.raises(ApplicationError) as caught:
        await client_for(rec).complete_json("sys", "q", QueriesDraft)
    assert caught.value.type == expected and caught.value.non_retryable
    assert len(rec.requests) == 1  # neither the SDK nor the re-ask loop tried again


async def test_429_retries_after_the_delay_the_provider_asks_for() -> None:
    rec = Recorder(error(429, "rate_limit_error", {"retry-after": "7"}))
    with pytest.raises(ApplicationError) as caught:
        await client_for(rec).complete("sys", "q")
    assert caught.value.type == "rate_limited" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert len(rec.requests) == 1  # SDK retries are off: Temporal retries the activity


@pytest.mark.parametrize(
    ("status", "kind"), [(500, "api_error"), (503, "api_error"), (529, "overloaded_error")]
)
async def test_server_errors_and_overload_are_retried(status: int, kind: str) -> None:
    rec = Recorder(error(status, kind))
    with pytest.raises(ApplicationError) as caught:
        await client_for(rec).complete("sys", "q")
    assert caught.value.type == "llm_unavailable" and not caught.value.non_retryable
    assert caught.value.next_retry_delay is None and len(rec.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx2.ReadTimeout("slow"), httpx2.ConnectError("refused")],
    ids=["timeout", "connection"],
)
async def test_timeouts_and_connection_failures_are_retried(failure: Exception) -> None:
    rec = Recorder(failure)
    with pytest.raises(ApplicationError) as caught:
        await client_for(rec).complete_json("sys", "q", QueriesDraft)
    assert caught.value.type == "llm_unavailable" and not caught.value.non_retryable
    assert len(rec.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 402, 413, 422, 429, 500, 502, 529])
async def test_both_providers_classify_a_status_alike(status: int) -> None:
    """The same HTTP answer gets the same Temporal treatment whichever provider sent it."""
    headers = {"retry-after": "3"}
    a_rec = Recorder(error(status, "some_error", headers))
    with pytest.raises(ApplicationError) as from_anthropic:
        await client_for(a_rec).complete("sys", "q")

    def openai_handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "x"}}, headers=headers)

    sdk = openai.AsyncOpenAI(
        api_key="k",
        base_url="http://openai.test/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(openai_handler)),
    )
    o_chat = OpenAIChatClient(Settings(_env_file=None, llm_model="gpt-4o"), sdk)
    with pytest.raises(ApplicationError) as from_openai:
        await o_chat.complete("sys", "q")
    a, o = from_anthropic.value, from_openai.value
    assert (a.type, a.non_retryable, a.next_retry_delay) == (
        o.type,
        o.non_retryable,
        o.next_retry_delay,
    )


# -- settings ----------------------------------------------------------------------------------


def test_the_provider_is_chosen_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_LLM_PROVIDER", "anthropic")
    monkeypatch.setenv("RESEARCH_LLM_API_KEY", "sk-ant-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://elsewhere.test")  # must not win
    settings = Settings(_env_file=None)
    chat = build_chat_client(settings)
    assert isinstance(chat, AnthropicChatClient)
    assert str(chat.client.base_url).rstrip("/") == "https://api.anthropic.com"
    assert chat.client.api_key == "sk-ant-env" and chat.client.max_retries == 0
    # No embedded llama.cpp server for `research up` to start: the model is Anthropic's.
    assert not settings.embedded_llm
    monkeypatch.delenv("RESEARCH_LLM_PROVIDER")
    assert isinstance(build_chat_client(Settings(_env_file=None)), OpenAIChatClient)


# -- doctor and a whole run against an Anthropic-shaped server ------------------------------


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(models=(MODEL,))
    fake.start()
    yield fake
    fake.stop()


async def test_doctor_checks_the_anthropic_model(fake_anthropic: FakeAnthropic) -> None:
    ok = await check_llm(anthropic_settings(llm_base_url=fake_anthropic.anthropic_url), 5)
    assert ok.ok and ok.name == "llm" and MODEL in ok.detail, ok
    assert ok.target.startswith("anthropic ")
    unknown = anthropic_settings(llm_base_url=fake_anthropic.anthropic_url, llm_model="claude-x")
    missing = await check_llm(unknown, 5)
    assert not missing.ok and "model_not_found" in missing.detail, missing


async def test_a_research_run_on_the_anthropic_provider(
    client: Client, settings: Settings, fake_anthropic: FakeAnthropic, run_id: str
) -> None:
    fake_anthropic.reset(failures={"QueriesDraft": [529]})  # overloaded once: retried
    on_anthropic = settings.model_copy(
        update={
            "task_queue": f"anthropic-{run_id}",
            "llm_provider": "anthropic",
            "llm_base_url": fake_anthropic.anthropic_url,
            "llm_model": MODEL,
            "llm_prices": PRICES,
        }
    )
    activities = await asyncio.to_thread(build_activities, on_anthropic)
    async with build_worker(client, on_anthropic, activities):
        inp = ResearchInput(
            run_id=run_id,
            question="How is grid energy stored?",
            options=RunOptions(clarify=False, require_acceptance=False, depth=1, breadth=2),
        )
        handle = await client.start_workflow(
            ResearchWorkflow.run,
            inp,
            id=research_workflow_id(run_id),
            task_queue=on_anthropic.task_queue,
        )
        final = await asyncio.wait_for(handle.result(), 120)

    assert final.status == RunStatus.completed, final
    assert final.progress.sources_read > 0 and final.progress.citations > 0
    kinds = [c.kind for c in fake_anthropic.calls]
    assert {"text", "QueriesDraft", "NotesDraft", "ReportDraft"} <= set(kinds)
    assert kinds.count("QueriesDraft") == 2  # the 529, then the retry that answered
    assert final.usage.total_tokens > 0 and final.usage.cost_usd > 0
    report = (on_anthropic.artifacts_dir / final.report_ref).read_text()
    # The scripted claims quote the corpus: the model's sentences passed the writer's checks.
    assert "Battery storage shifts solar power into the evening." in report
