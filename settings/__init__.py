"""One settings object, shared by the API, the worker, the CLI and `research up`.

Every field reads from the environment with the prefix `RESEARCH_` (or from `.env`),
for example `RESEARCH_LLM_BASE_URL` or `RESEARCH_DOCS_DIRS=/srv/docs,/srv/more`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SearchProviderName = Literal["local", "tavily", "brave", "searxng", "duckduckgo"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CORPUS = PROJECT_ROOT / "corpus"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESEARCH_", env_file=".env", extra="ignore")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "research"

    # LLM: any OpenAI-compatible endpoint. Unset base URL means the embedded llama.cpp server.
    llm_base_url: str | None = None
    llm_model: str = "smollm2-135m-instruct"
    llm_api_key: SecretStr = SecretStr("local")
    llm_timeout_s: float = 300.0
    llm_max_tokens: int = 512
    # The report is the one long answer: its schema allows ~8,400 characters (~2,100 tokens).
    llm_report_max_tokens: int = 2400
    llm_temperature: float = 0.2
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
    # Reading web pages: one page's whole fetch, its size, redirects, and whether loopback,
    # link-local and private addresses may be fetched (off: a question must not probe our network).
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    fetch_max_bytes: int = Field(default=5_000_000, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0)
    allow_private_fetch: bool = False

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

    # Embedded Temporal dev server (`research up`)
    temporal_port: int = 7233
    ui_port: int = 8233

    @field_validator("docs_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        # Comma or os.pathsep separated, so a plain shell variable works.
        if isinstance(value, str):
            parts = value.replace(":", ",").split(",")
            return [Path(p.strip()) for p in parts if p.strip()]
        return value

    @field_validator("search_providers", mode="before")
    @classmethod
    def _split_providers(cls, value: object) -> object:
        if isinstance(value, str):
            return list(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
        return value

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
        return not self.llm_base_url

    @property
    def effective_llm_base_url(self) -> str:
        return self.llm_base_url or f"http://127.0.0.1:{self.llm_port}/v1"


@lru_cache
def get_settings() -> Settings:
    return Settings()
