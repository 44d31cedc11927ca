"""The OpenAI-compatible client's per-model parameters, seen at the transport.

OpenAI's reasoning models (o1, o3, o4-mini, the gpt-5 family) answer HTTP 400 to `max_tokens`
and to `temperature`; they take `max_completion_tokens`, which also pays for hidden reasoning.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from temporalio.exceptions import ApplicationError

from activities.drafts import QueriesDraft
from providers.llm_openai import OpenAIChatClient, is_reasoning_model
from settings import Settings

REASONING_EXTRA = 2048  # the default llm_reasoning_extra_tokens


def recording_client(model: str, **settings: object) -> tuple[list[dict], OpenAIChatClient]:
    """A client for `model` whose requests' JSON bodies land in the returned list."""
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        reply = {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": '{"queries": ["a"]}'},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        return httpx.Response(200, json=reply)

    sdk = openai.AsyncOpenAI(
        api_key="k",
        base_url="http://openai.test/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    chat = OpenAIChatClient(Settings(_env_file=None, llm_model=model, **settings), sdk)
    return bodies, chat


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o1", True),
        ("o1-mini", True),
        ("o3-mini", True),
        ("o4-mini", True),
        ("gpt-5", True),
        ("gpt-5-nano", True),
        ("openai/o3", True),  # OpenRouter's vendor/model names
        ("gpt-4o", False),
        ("gpt-4o-mini", False),
        ("gpt-4.1", False),
        ("o1x-local", False),
        ("smollm2-135m-instruct", False),
        ("llama3.1:8b", False),
    ],
)
def test_reasoning_models_are_recognised_by_name(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning


async def call(model: str, **settings: object) -> dict:
    """One structured call with `model`; the JSON body the SDK sent."""
    bodies, chat = recording_client(model, **settings)
    draft, _ = await chat.complete_json("sys", "q", QueriesDraft, max_tokens=200)
    assert draft.queries == ["a"]
    assert len(bodies) == 1
    return bodies[0]


async def test_a_reasoning_model_gets_max_completion_tokens_and_no_temperature() -> None:
    body = await call("o3-mini")
    assert body["max_completion_tokens"] == 200 + REASONING_EXTRA
    assert "max_tokens" not in body and "temperature" not in body
    assert body["response_format"]["type"] == "json_schema"


async def test_other_models_keep_max_tokens_and_temperature() -> None:
    body = await call("gpt-4o-mini", llm_temperature=0.3)
    assert body["max_tokens"] == 200 and body["temperature"] == 0.3
    assert "max_completion_tokens" not in body


async def test_the_token_parameter_can_be_forced_either_way() -> None:
    # A reasoning model behind a server that only knows max_tokens (an older vLLM, a proxy)...
    body = await call("o3-mini", llm_token_param="max_tokens")
    assert body["max_tokens"] == 200 and "max_completion_tokens" not in body
    # ...and a model the name check does not know, with a smaller reasoning allowance.
    body = await call(
        "my-reasoner", llm_token_param="max_completion_tokens", llm_reasoning_extra_tokens=100
    )
    assert body["max_completion_tokens"] == 300 and "temperature" not in body


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"id": "c1", "object": "chat.completion", "choices": [{"mess'),
        ("text/html", b"<html><body>502 Bad Gateway</body></html>"),
    ],
)
async def test_an_unreadable_200_is_a_retryable_llm_unavailable(
    content_type: str, body: bytes
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    sdk = openai.AsyncOpenAI(
        api_key="k",
        base_url="http://openai.test/v1",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    chat = OpenAIChatClient(Settings(_env_file=None, llm_model="gpt-4o"), sdk)
    with pytest.raises(ApplicationError) as caught:
        await chat.complete("system", "user", max_tokens=50)
    assert caught.value.type == "llm_unavailable" and not caught.value.non_retryable
    assert "unreadable reply" in caught.value.message
