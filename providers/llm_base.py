"""What every LLM provider client shares: the interface the activities call, the bounded
re-ask of malformed structured output, usage and cost, and one error classification.

A provider client only says how to send one request and what its errors look like; the rules
(what is retried, what fails the run at once, how a bad reply is re-asked) live here, so
OpenAI-compatible endpoints and Anthropic behave the same way under Temporal.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from domain.run import Usage
from settings import Settings
from telemetry.worker_metrics import record_llm_usage

M = TypeVar("M", bound=BaseModel)

# 408 and 409 are the provider saying "try again"; 429 is the rate limit, retried after the
# delay the provider asks for. Every other 4xx sends the same request to the same refusal.
RETRYABLE_4XX = {408, 409, 429}
# Longest wait honoured from a Retry-After header; a longer one is left to the retry policy.
MAX_RETRY_AFTER_S = 600.0


@dataclass
class ChatResult:
    text: str
    usage: Usage
    # "length" when the reply was cut off at the token limit (each provider's word mapped).
    finish_reason: str | None = None


class ChatClient(ABC):
    """One LLM endpoint: plain text completions and JSON validated against a pydantic model."""

    settings: Settings
    model: str

    @abstractmethod
    async def complete(
        self, system: str, user: str, *, max_tokens: int | None = None
    ) -> ChatResult:
        """A plain-text reply."""

    @abstractmethod
    async def _structured(
        self, system: str, user: str, schema: type[BaseModel], max_tokens: int | None
    ) -> ChatResult:
        """One request for output in `schema`'s shape; the result's text is the JSON."""

    async def complete_json(
        self, system: str, user: str, schema: type[M], *, max_tokens: int | None = None
    ) -> tuple[M, Usage]:
        """Ask for JSON matching `schema`; a malformed reply is re-asked, then refused."""
        total = Usage()
        prompt = user
        attempts = self.settings.llm_json_retries + 1
        for _ in range(attempts):
            result = await self._structured(system, prompt, schema, max_tokens)
            total.add(result.usage)
            try:
                return schema.model_validate_json(strip_fences(result.text)), total
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

    def usage(self, prompt_tokens: int, completion_tokens: int) -> Usage:
        """One call's usage, priced from `llm_prices`, and counted on the worker's metrics."""
        usage = Usage(llm_calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        price = self.settings.llm_prices.get(self.model)
        if price is not None:
            # Prices are USD per million tokens: (input, output), as providers publish them.
            usage.cost_usd = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
        record_llm_usage(self.model, usage)
        return usage


def classify_status(
    status: int, message: str, *, code: str | None = None, retry_after: str | None = None
) -> ApplicationError:
    """An HTTP error reply from any provider, as an error Temporal retries (or not)."""
    if status in (401, 403):
        return ApplicationError(
            f"LLM refused the credentials: {message}", type="bad_credentials", non_retryable=True
        )
    if status == 404:
        return ApplicationError(
            f"LLM model or endpoint not found: {message}",
            type="model_not_found",
            non_retryable=True,
        )
    if status in (400, 422):
        return ApplicationError(
            f"LLM rejected the request: {message}", type="bad_request", non_retryable=True
        )
    if code == "insufficient_quota" or (400 <= status < 500 and status not in RETRYABLE_4XX):
        # Out of quota or credits (402, or OpenAI's 429 insufficient_quota), a request too
        # large (413): no retry fixes these.
        return ApplicationError(
            f"LLM refused the request for good: {message}", type="bad_request", non_retryable=True
        )
    if status == 429:
        return ApplicationError(
            f"LLM rate limit: {message}",
            type="rate_limited",
            next_retry_delay=retry_after_delay(retry_after),
        )
    # 5xx, Anthropic's 529 "overloaded", 408, 409: the provider's trouble, back off and retry.
    return ApplicationError(f"LLM unavailable: {message}", type="llm_unavailable")


def unavailable(message: str) -> ApplicationError:
    """Timeouts, dropped connections, an unreadable reply: transient, retried with backoff."""
    return ApplicationError(f"LLM unavailable: {message}", type="llm_unavailable")


def retry_after_delay(value: str | None) -> timedelta | None:
    try:
        return timedelta(seconds=min(max(float(value), 0.0), MAX_RETRY_AFTER_S)) if value else None
    except ValueError:
        return None  # an HTTP date; the retry policy's backoff is good enough then


def strip_fences(text: str) -> str:
    # Some models wrap JSON in ```json fences even in JSON mode.
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()
