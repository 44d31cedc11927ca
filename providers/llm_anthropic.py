"""Anthropic's native Messages API, on the official `anthropic` SDK.

Structured output is a forced tool call: one tool whose `input_schema` is the pydantic model's
JSON schema, and `tool_choice` naming it, so the reply is a `tool_use` block holding the JSON.
It works on every Claude model and through Anthropic-compatible gateways; the reply is still
validated against the model here and re-asked when it does not fit, as on the OpenAI path.

The SDK's retries are off (Temporal retries the activity). No temperature is sent: the SDK's
2.x API version removed the sampling parameters, and the API refuses them.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain.run import Usage
from providers.llm_base import ChatClient, ChatResult, classify_status, unavailable
from settings import Settings


class AnthropicChatClient(ChatClient):
    def __init__(self, settings: Settings, client: anthropic.AsyncAnthropic | None = None) -> None:
        self.settings = settings
        self.model = settings.llm_model
        # Key and base URL are always passed, so the SDK's own discovery (ANTHROPIC_API_KEY,
        # ANTHROPIC_BASE_URL, profiles) cannot quietly send the run's calls somewhere else.
        self.client = client or anthropic.AsyncAnthropic(
            api_key=settings.llm_api_key.get_secret_value(),
            base_url=settings.effective_llm_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )

    async def complete(
        self, system: str, user: str, *, max_tokens: int | None = None
    ) -> ChatResult:
        reply = await self._create(system, user, max_tokens, {})
        text = "".join(block.text for block in reply.content if block.type == "text")
        return ChatResult(text=text, usage=self._usage(reply), finish_reason=_finish(reply))

    async def _structured(
        self, system: str, user: str, schema: type[BaseModel], max_tokens: int | None
    ) -> ChatResult:
        name = schema.__name__
        tool = {
            "name": name,
            "description": f"Record the answer as a {name} object.",
            "input_schema": schema.model_json_schema(),
        }
        extra = {"tools": [tool], "tool_choice": {"type": "tool", "name": name}}
        reply = await self._create(system, user, max_tokens, extra)
        # The forced tool's input is the answer; a model that wrote text instead (a gateway
        # that ignored tool_choice) may still have written the JSON there.
        calls = [b.input for b in reply.content if b.type == "tool_use" and b.name == name]
        if calls:
            text = json.dumps(calls[0])
        else:
            text = "".join(block.text for block in reply.content if block.type == "text")
        return ChatResult(text=text, usage=self._usage(reply), finish_reason=_finish(reply))

    async def _create(
        self, system: str, user: str, max_tokens: int | None, extra: dict[str, Any]
    ) -> anthropic.types.Message:
        try:
            return await self.client.messages.create(
                model=self.model,
                system=system,
                messages=[{"role": "user", "content": user}],
                max_tokens=max_tokens or self.settings.llm_max_tokens,
                **extra,
            )
        except anthropic.APIError as exc:
            raise classify(exc) from exc

    def _usage(self, reply: anthropic.types.Message) -> Usage:
        u = reply.usage
        # Cache reads and writes are input too; without prompt caching they are 0 or absent.
        prompt = (
            u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
        )
        return self.usage(prompt, u.output_tokens)


def _finish(reply: anthropic.types.Message) -> str | None:
    # One word for "cut off at the token limit" across providers: OpenAI's.
    return "length" if reply.stop_reason == "max_tokens" else reply.stop_reason


def classify(exc: anthropic.APIError) -> ApplicationError:
    """Anthropic's errors on the same classification as the OpenAI path.

    401/403 bad credentials, 404 unknown model, 400 bad request (also "credit balance too
    low"), 413 too large: final. 429 waits for Retry-After; 5xx and 529 "overloaded" retry.
    """
    if isinstance(exc, anthropic.APIStatusError):
        return classify_status(
            exc.status_code, str(exc), retry_after=exc.response.headers.get("retry-after")
        )
    # APITimeoutError, APIConnectionError, a reply the SDK could not read.
    return unavailable(str(exc))
