"""One settings object, shared by the API, the worker, the CLI and `research up`.

Every field reads from the environment with the prefix `RESEARCH_` (or from `.env`),
for example `RESEARCH_LLM_BASE_URL` or `RESEARCH_DOCS_DIRS=/srv/docs,/srv/more`. The structured
values some fields hold (search limits, the API key map) and their checks are in settings/values.py.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# OWNER_PATTERN and SearchLimit are imported from here by the API and the tests.
from settings.values import OWNER_PATTERN as OWNER_PATTERN
from settings.values import (
    SearchLimit,
    SearchProviderName,
    WebSearchProviderName,
    parse_keys,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CORPUS = PROJECT_ROOT / "corpus"


class Settings(BaseSettings):
    # Inputs stay out of validation errors: they would print API keys and provider credentials.
    model_config = SettingsConfigDict(
        env_prefix="RESEARCH_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "research"

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

    # Local documents searched by the embedded search provider.
    docs_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [EXAMPLE_CORPUS])

    # Search providers, in the order their hits win ties: local, tavily, brave, searxng, duckduckgo.
    search_providers: Annotated[list[SearchProviderName], NoDecode] = Field(
        default_factory=lambda: ["local"]
    )
    tavily_api_key: SecretStr | None = None
    brave_api_key: SecretStr | None = None
    searxng_url: str | None = None
    search_timeout_s: float = Field(default=15.0, gt=0)
    # Each web provider's limits, kept through its own task queue `<task queue>-search-<name>`:
    # per_minute by the Temporal server across all workers, concurrent per worker. JSON, e.g.
    # RESEARCH_SEARCH_LIMITS='{"brave": {"per_minute": 60, "concurrent": 2}}'; a provider not
    # listed has no per-minute limit and search_max_concurrent calls per worker.
    search_limits: dict[WebSearchProviderName, SearchLimit] = Field(default_factory=dict)
    search_max_concurrent: int = Field(default=4, ge=1)
    # Reading web pages: one page's whole fetch, its size, redirects, and whether loopback,
    # link-local and private addresses may be fetched (off: a question must not probe our network).
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    fetch_max_bytes: int = Field(default=5_000_000, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    allow_private_fetch: bool = False
    # Turning pages and indexed files into text, in this many child processes; a document still
    # parsing after extract_timeout_s is killed (the read's 45 s also hold fetch_timeout_s).
    extract_timeout_s: float = Field(default=15.0, gt=0)
    extract_workers: int = Field(default=2, ge=1)

    # Where runs keep their artifacts and the search index.
    data_dir: Path = Path(".data")

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_query_timeout_s: float = 5.0
    # Event streams (SSE / WebSocket): a comment every keep-alive so proxies keep the line open;
    # the workflow is looked at every poll_min right after news, backing off to poll_max when idle.
    sse_keepalive_s: float = Field(default=15.0, gt=0)
    events_poll_min_s: float = Field(default=0.25, gt=0)
    events_poll_max_s: float = Field(default=3.0, gt=0)
    # A stream this many events behind its run's shared feed is ended (reason `lagging`) and
    # resumes with Last-Event-ID; the backlog it asked for when it started does not count.
    events_max_lag: int = Field(default=1000, ge=1)

    # API authentication (README "Authentication and limits"). Keys map to their owner:
    # RESEARCH_API_KEYS='{"<key>": "ada", "sha256:<hex of a key>": "grace"}'; the hashed form
    # keeps the key itself out of the config. Empty means auth is off, and then the API serves
    # loopback only unless api_allow_unauthenticated_remote says something in front authenticates.
    # Held as the JSON text: a SecretStr hides it in reprs and passes to `research up`'s children.
    api_keys: SecretStr = SecretStr("")
    api_allow_unauthenticated_remote: bool = False
    # The client side (CLI) key, sent as `Authorization: Bearer ...`.
    api_key: SecretStr | None = None
    # Abuse limits. Rate: requests per second per key (per client address when auth is off),
    # with bursts up to `burst`. Active runs and pending approvals: per owner. Unset means none
    # with auth off, and the defaults in api/limits.py (KEYED_DEFAULTS) with keys on.
    api_rate_limit_per_s: float | None = Field(default=None, gt=0)
    api_rate_limit_burst: int = Field(default=20, ge=1)
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    api_max_active_runs: int | None = Field(default=None, ge=1)
    api_max_pending_approvals: int | None = Field(default=None, ge=1)
    # Open SSE / WebSocket event streams per key (per client address with auth off).
    api_max_streams_per_key: int = Field(default=10, ge=1)
    # Signs GET /runs page tokens (HMAC-SHA256). Unset: a random key per process, so tokens die
    # with it; set one shared secret when several API replicas serve one listing.
    api_page_token_key: SecretStr | None = None
    # Owners (as in RESEARCH_API_KEYS) who may use /codec to encrypt and decrypt any run's
    # payloads, comma-separated. With keys on and this empty, nobody may; with auth off, the one
    # local person may.
    api_operators: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Payload encryption (README "Encrypting payloads"): base64 of 32 random bytes, AES-256-GCM.
    # Comma-separated to rotate: the first key encrypts, every listed key decrypts. Unset: off.
    payload_key: SecretStr | None = None
    # Browser origins allowed to call the codec endpoint (/codec); empty means the embedded
    # Web UI's, http://127.0.0.1:<ui_port> and http://localhost:<ui_port>.
    payload_codec_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Webhook notifications (docs/api.md "Notifications"): every run's events go to these URLs
    # (comma-separated) too, signed with notify_secret (HMAC-SHA256; unset: sent unsigned).
    # Loopback and private addresses are refused unless notify_allow_private (tests, intranets).
    notify_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    notify_secret: SecretStr | None = None
    notify_allow_private: bool = False
    notify_timeout_s: float = Field(default=10.0, gt=0)

    # Operations: logs, traces, the worker's Prometheus endpoint, shutdown.
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    # OTLP/HTTP collector, e.g. http://otel-collector:4318; unset means no trace export.
    otlp_endpoint: str | None = None
    # host:port for the worker's Prometheus metrics, e.g. 0.0.0.0:9464; unset means off.
    worker_metrics_bind: str | None = None
    # How long a stopping worker lets running activities finish before cancelling them
    # (they are then retried on another worker).
    worker_shutdown_timeout_s: float = 10.0
    # Workflows a worker keeps in memory between tasks (~375 KB each). Fewer saves memory, but
    # a status query or answer for an evicted run replays its whole history first: with 250,
    # status p95 over 1,000 waiting runs went from 44 ms to 295 ms (bench/waiting.py).
    worker_max_cached_workflows: int = Field(default=1000, ge=0)

    # Embedded Temporal dev server (`research up`)
    temporal_port: int = 7233
    ui_port: int = 8233

    @field_validator(
        "docs_dirs",
        "payload_codec_origins",
        "api_operators",
        "search_providers",
        "notify_urls",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object, info: ValidationInfo) -> object:
        # Comma-separated in the environment (folders: os.pathsep too, as in a shell variable);
        # origins lose a trailing slash; provider names are case-insensitive and listed once.
        if not isinstance(value, str):
            return value
        if info.field_name == "docs_dirs":
            value = value.replace(":", ",")
        items = [item.strip() for item in value.split(",") if item.strip()]
        if info.field_name == "docs_dirs":
            return [Path(item) for item in items]
        if info.field_name == "payload_codec_origins":
            return [item.rstrip("/") for item in items]
        if info.field_name == "search_providers":
            return list(dict.fromkeys(item.lower() for item in items))
        return items

    @model_validator(mode="after")
    def _keyed_providers_by_default(self) -> Settings:
        # Unset RESEARCH_SEARCH_PROVIDERS: local documents plus every web provider whose API key
        # is given, so a key alone turns its provider on. SearXNG (a URL, not a key) and
        # DuckDuckGo (nothing to give) are only used when listed.
        if "search_providers" not in self.model_fields_set:
            keyed = {"tavily": self.tavily_api_key, "brave": self.brave_api_key}
            self.search_providers = ["local", *(name for name, key in keyed.items() if key)]
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _check_keys(cls, value: object) -> object:
        # A dict is accepted too (tests, code); it is kept as JSON like the environment's text.
        if isinstance(value, dict):
            value = json.dumps(value)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str):
            parse_keys(text)
        return value

    @property
    def api_key_owners(self) -> dict[str, str]:
        """Key (or `sha256:<hex>` of a key) -> owner; empty when auth is off."""
        return parse_keys(self.api_keys.get_secret_value())

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_key_owners)

    def search_limit(self, provider: str) -> tuple[float | None, int]:
        """(requests per minute or None, concurrent calls per worker) for one web provider."""
        limit = self.search_limits.get(provider) or SearchLimit()
        return limit.per_minute, limit.concurrent or self.search_max_concurrent

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite"

    @property
    def temporal_db_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
