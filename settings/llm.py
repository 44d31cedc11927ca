"""The LLM settings: which provider and model, its limits, prices and output format.

A group of `Settings` fields (settings/__init__.py), kept apart so each group reads on its own;
it is not meant to be built alone (it would read the environment without the RESEARCH_ prefix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class LlmSettings(BaseSettings):
    # LLM: `openai` is any OpenAI-compatible endpoint (unset base URL: the embedded llama.cpp
    # server); `anthropic` is Anthropic's Messages API (unset base URL: api.anthropic.com).
    # The key and base URL are the chosen provider's: one provider serves a worker at a time.
    llm_provider: Literal["openai", "anthropic"] = "openai"
    llm_base_url: str | None = None
    llm_model: str = "smollm2-135m-instruct"
    llm_api_key: SecretStr = SecretStr("local")
    llm_timeout_s: float = 300.0
    llm_max_tokens: int = 512
    # The report is the one long answer: its schema allows ~8,400 characters (~2,100 tokens).
    llm_report_max_tokens: int = 2400
    # Not sent to reasoning models (they refuse it) nor to Anthropic (its current API version
    # removed the sampling parameters).
    llm_temperature: float = 0.2
    # Which field carries the completion budget on the OpenAI path: OpenAI's reasoning models
    # (o1, o3, o4-mini, gpt-5...) want `max_completion_tokens`; `auto` picks by model name.
    llm_token_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    # Added to every call's budget under `max_completion_tokens`: the hidden reasoning spends
    # from the same budget, and a 200-token call would otherwise think and say nothing.
    llm_reasoning_extra_tokens: int = Field(default=2048, ge=0)
    llm_json_retries: int = 2
    # How to ask for JSON-schema output: OpenAI's `json_schema` response format, or llama.cpp's
    # `json_object` + `schema` (what llama-cpp-python's server honours), or plain JSON mode.
    llm_structured_output: Literal["json_schema", "llama_schema", "json_object"] = "json_schema"
    # Provider limits, enforced through the LLM task queue: requests per minute by the Temporal
    # server across all workers; concurrent calls per worker.
    llm_requests_per_minute: float | None = None
    # USD per million tokens by model name, (input, output): RESEARCH_LLM_PRICES='{"gpt-4o":
    # [2.5, 10]}'. A model not listed costs 0 (the embedded model is free).
    llm_prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    llm_max_concurrent: int = 4
    llm_port: int = 8012
    llm_model_path: Path | None = None
    llm_context_size: int = 4096

    @property
    def embedded_llm(self) -> bool:
        return self.llm_provider == "openai" and not self.llm_base_url

    @property
    def effective_llm_base_url(self) -> str:
        if self.llm_base_url:
            return self.llm_base_url
        if self.llm_provider == "anthropic":
            return "https://api.anthropic.com"
        return f"http://127.0.0.1:{self.llm_port}/v1"
