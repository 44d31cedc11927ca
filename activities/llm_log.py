"""A run's LLM payload log (RunOptions.log_llm_payload): every request sent to the model and
every reply, one JSON artifact per call under `runs/<folder>/llm/`, with secrets redacted.

The log wraps the chat client for one activity call only when the request names a folder
(`LLMRequest.payload_log`), so runs that did not ask pay nothing and write nothing.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from providers.artifacts import ArtifactStore, run_key
from providers.llm import ChatClient, ChatResult

REDACTED = "[redacted]"
# Credentials that may sit in a prompt or a reply (a pasted key, a token in a page read).
SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)\b(api[_-]?key|token|password|secret)(\s*[=:]\s*)\S+"),
    re.compile(r"(?<=//)[^/@\s]+:[^/@\s]+(?=@)"),  # user:password@ in a URL
)


def redact(text: str, secrets: list[str]) -> str:
    """`text` with the given secret values and anything shaped like a credential replaced."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}" if m.lastindex else REDACTED, text
        )
    return text


def configured_secrets(chat: ChatClient) -> list[str]:
    """The secret values of the worker's settings, whatever provider they belong to."""
    settings = chat.settings
    values = [settings.llm_api_key, settings.tavily_api_key, settings.brave_api_key]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


class LoggedChat(ChatClient):
    """`inner`, with each request and reply stored in `runs/<folder>/llm/`."""

    def __init__(self, inner: ChatClient, store: ArtifactStore, folder: str) -> None:
        self.inner = inner
        self.settings = inner.settings
        self.model = inner.model
        self.store = store
        self.folder = folder
        self.secrets = configured_secrets(inner)
        self.calls = 0

    async def complete(
        self, system: str, user: str, *, max_tokens: int | None = None
    ) -> ChatResult:
        result = await self.inner.complete(system, user, max_tokens=max_tokens)
        await self._log(system, user, None, max_tokens, result)
        return result

    async def _structured(
        self, system: str, user: str, schema: type[BaseModel], max_tokens: int | None
    ) -> ChatResult:
        result = await self.inner._structured(system, user, schema, max_tokens)
        await self._log(system, user, schema.__name__, max_tokens, result)
        return result

    async def _log(
        self,
        system: str,
        user: str,
        schema: str | None,
        max_tokens: int | None,
        result: ChatResult,
    ) -> None:
        self.calls += 1
        info = activity.info()
        # Activity id and attempt make the name unique within the run and stable on a retry of
        # the same attempt, so an at-least-once write never doubles an entry.
        name = f"llm/{info.activity_id}-{info.attempt}-{self.calls}.json"
        record: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(),
            "activity": info.activity_type,
            "attempt": info.attempt,
            "model": self.model,
            "endpoint": redact(self.settings.effective_llm_base_url, self.secrets),
            "request": {
                "system": redact(system, self.secrets),
                "user": redact(user, self.secrets),
                "schema": schema,
                "max_tokens": max_tokens,
            },
            "response": {
                "text": redact(result.text, self.secrets),
                "finish_reason": result.finish_reason,
                "usage": result.usage.model_dump(),
            },
        }
        key = run_key(self.folder, name)
        await asyncio.to_thread(self.store.write_json, key, record)
