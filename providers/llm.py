"""An OpenAI-compatible chat client with validated structured output and classified errors.

Built on the official `openai` SDK, which speaks to OpenAI, vLLM, Ollama, llama.cpp, OpenRouter
and the like. The SDK's own retries are off: Temporal retries the activity, so a retry is
visible in history and survives a worker crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import openai
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from settings import Settings
from telemetry.worker_metrics import record_llm_usage
from workflows.models import Usage

M = TypeVar("M", bound=BaseModel)


@dataclass
class ChatResult:
    text: str
    usage: Usage
    finish_reason: str | None = None


class ChatClient:
    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self.model = settings.llm_model
        self.client = client or openai.AsyncOpenAI(
            base_url=settings.effective_llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )

    async def complete(
        self,
        system: str,
        user: str,
        *,
        max_tokens: int | None = None,
        response_format: dict | None = None,
    ) -> ChatResult:
        kwargs: dict = {}
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            reply = await self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_tokens=max_tokens or self.settings.llm_max_tokens,
                temperature=self.settings.llm_temperature,
                **kwargs,
            )
        except openai.APIError as exc:
            raise classify(exc) from exc
        usage = Usage(llm_calls=1)
        if reply.usage is not None:
            usage.prompt_tokens = reply.usage.prompt_tokens
            usage.completion_tokens = reply.usage.completion_tokens
        price = self.settings.llm_prices.get(self.model)
        if price is not None:
            # Prices are USD per million tokens: (input, output), as providers publish them.
            usage.cost_usd = (
                usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]
            ) / 1_000_000
        record_llm_usage(self.model, usage)
        choice = reply.choices[0] if reply.choices else None
        text = choice.message.content if choice else None
        return ChatResult(
            text=text or "", usage=usage, finish_reason=choice.finish_reason if choice else None
        )

    async def complete_json(
        self, system: str, user: str, schema: type[M], *, max_tokens: int | None = None
    ) -> tuple[M, Usage]:
        """Ask for JSON matching `schema`; a malformed reply is re-asked, then refused."""
        total = Usage()
        prompt = user
        attempts = self.settings.llm_json_retries + 1
        for _ in range(attempts):
            result = await self.complete(
                system, prompt, max_tokens=max_tokens, response_format=self._format(schema)
            )
            total.add(result.usage)
            try:
                return schema.model_validate_json(_strip_fences(result.text)), total
            except ValidationError as exc:
                if result.finish_reason == "length":
                    # Cut off at the token limit: the same request would be cut off again.
                    why = "was cut off at the length limit; write much less"
                else:
                    errors = json.dumps(exc.errors(include_url=False)[:3], default=str)[:400]
                    why = f"was not valid JSON for the schema ({errors})"
                prompt = f"{user}\n\nYour previous reply {why}. Reply with JSON only."
        raise ApplicationError(
            f"the model gave no valid {schema.__name__} JSON in {attempts} tries",
            type="invalid_output",
            non_retryable=True,
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


RETRYABLE_4XX = {408, 409, 429}


def classify(exc: openai.APIError) -> ApplicationError:
    """Turn an SDK error into one Temporal knows how to retry (or not)."""
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ApplicationError(
            f"LLM refused the credentials: {exc}", type="bad_credentials", non_retryable=True
        )
    if isinstance(exc, openai.NotFoundError):
        return ApplicationError(
            f"LLM model or endpoint not found: {exc}", type="model_not_found", non_retryable=True
        )
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        return ApplicationError(
            f"LLM rejected the request: {exc}", type="bad_request", non_retryable=True
        )
    code = _error_code(exc)
    if code == "insufficient_quota" or (
        isinstance(exc, openai.APIStatusError)
        and 400 <= exc.status_code < 500
        and exc.status_code not in RETRYABLE_4XX
    ):
        # Out of quota or credits (402), a request too large (413): no retry fixes these.
        return ApplicationError(
            f"LLM refused the request for good: {exc}", type="bad_request", non_retryable=True
        )
    if isinstance(exc, openai.RateLimitError):
        return ApplicationError(
            f"LLM rate limit: {exc}", type="rate_limited", next_retry_delay=_retry_after(exc)
        )
    return ApplicationError(f"LLM unavailable: {exc}", type="llm_unavailable")


def _error_code(exc: openai.APIError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body)
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code is not None else None


def _retry_after(exc: openai.APIStatusError) -> timedelta | None:
    value = exc.response.headers.get("retry-after")
    try:
        return timedelta(seconds=min(float(value), 600.0)) if value else None
    except ValueError:
        return None  # an HTTP date; the retry policy's backoff is good enough then


def _strip_fences(text: str) -> str:
    # Some models wrap JSON in ```json fences even in JSON mode.
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()
