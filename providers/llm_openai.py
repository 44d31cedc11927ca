"""The OpenAI-compatible chat client: OpenAI, vLLM, Ollama, llama.cpp, OpenRouter and the like.

Built on the official `openai` SDK. The SDK's own retries are off: Temporal retries the
activity, so a retry is visible in history and survives a worker crash.
"""

from __future__ import annotations

from typing import Any

import openai
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from providers.llm_base import ChatClient, ChatResult, classify_status, unavailable
from settings import Settings

# OpenAI's reasoning models refuse `max_tokens` and `temperature`: they take
# `max_completion_tokens`, which also pays for the hidden reasoning, and sample as they must.
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_reasoning_model(model: str) -> bool:
    # OpenRouter and some proxies name models "vendor/model": look at the model part.
    name = model.rsplit("/", 1)[-1].lower()
    return any(name == p or name.startswith(f"{p}-") for p in REASONING_PREFIXES)


def token_param(settings: Settings) -> str:
    """The request field that carries the completion budget for this model."""
    if settings.llm_token_param != "auto":
        return settings.llm_token_param
    return "max_completion_tokens" if is_reasoning_model(settings.llm_model) else "max_tokens"


class OpenAIChatClient(ChatClient):
    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self.model = settings.llm_model
        self.client = client or openai.AsyncOpenAI(
            base_url=settings.effective_llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )

    def sampling(self, max_tokens: int) -> dict[str, Any]:
        """The budget and temperature fields this model accepts."""
        if token_param(self.settings) == "max_completion_tokens":
            # Reasoning tokens count against the budget; without room for them a short call
            # spends it all thinking and answers nothing (finish_reason "length").
            budget = max_tokens + self.settings.llm_reasoning_extra_tokens
            return {"max_completion_tokens": budget}
        return {"max_tokens": max_tokens, "temperature": self.settings.llm_temperature}

    async def complete(
        self, system: str, user: str, *, max_tokens: int | None = None
    ) -> ChatResult:
        return await self._create(system, user, max_tokens, {})

    async def _structured(
        self, system: str, user: str, schema: type[BaseModel], max_tokens: int | None
    ) -> ChatResult:
        return await self._create(
            system, user, max_tokens, {"response_format": self._format(schema)}
        )

    async def _create(
        self, system: str, user: str, max_tokens: int | None, extra: dict[str, Any]
    ) -> ChatResult:
        try:
            reply = await self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                **self.sampling(max_tokens or self.settings.llm_max_tokens),
                **extra,
            )
        except openai.APIError as exc:
            raise classify(exc) from exc
        except ValueError as exc:  # a 200 whose JSON body is cut off (a proxy, a dying server)
            raise unavailable(f"unreadable reply: {exc}") from exc
        if not isinstance(reply, openai.types.chat.ChatCompletion):
            # A 200 that isn't JSON at all (an HTML error page): the SDK hands back the text.
            raise unavailable(f"unreadable reply: {str(reply)[:200]!r}")
        tokens = reply.usage
        usage = self.usage(
            tokens.prompt_tokens if tokens else 0, tokens.completion_tokens if tokens else 0
        )
        choice = reply.choices[0] if reply.choices else None
        text = choice.message.content if choice else None
        return ChatResult(
            text=text or "", usage=usage, finish_reason=choice.finish_reason if choice else None
        )

    def _format(self, schema: type[BaseModel]) -> dict:
        json_schema = schema.model_json_schema()
        mode = self.settings.llm_structured_output
        if mode == "llama_schema":
            return {"type": "json_object", "schema": json_schema}
        if mode == "json_object":
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": json_schema},
        }


def classify(exc: openai.APIError) -> ApplicationError:
    """Turn an SDK error into one Temporal knows how to retry (or not)."""
    if isinstance(exc, openai.APIStatusError):
        return classify_status(
            exc.status_code,
            str(exc),
            code=_error_code(exc),
            retry_after=exc.response.headers.get("retry-after"),
        )
    # APIConnectionError, APITimeoutError, a reply the SDK could not read.
    return unavailable(str(exc))


def _error_code(exc: openai.APIError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body)
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code is not None else None
