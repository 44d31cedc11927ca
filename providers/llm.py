"""The LLM client the activities call, chosen by `RESEARCH_LLM_PROVIDER`.

`openai` (the default) speaks to any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama,
llama.cpp (the embedded model), OpenRouter. `anthropic` speaks Anthropic's native Messages API.
Both share one interface, one re-ask of malformed output and one error classification
(providers/llm_base.py), so a run behaves the same whichever model it talks to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.llm_base import ChatClient, ChatResult
from providers.llm_openai import OpenAIChatClient, classify
from settings import Settings

if TYPE_CHECKING:
    pass

__all__ = [
    "ChatClient",
    "ChatResult",
    "OpenAIChatClient",
    "build_chat_client",
    "classify",
]


def build_chat_client(settings: Settings) -> ChatClient:
    if settings.llm_provider == "anthropic":
        # Imported only when chosen: the SDK takes seconds to import, which every worker
        # (re)start on the default OpenAI-compatible path would otherwise pay.
        from providers.llm_anthropic import AnthropicChatClient

        return AnthropicChatClient(settings)
    return OpenAIChatClient(settings)
