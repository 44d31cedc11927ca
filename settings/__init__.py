"""One settings object, shared by the API, the worker, the CLI and `research up`.

Every field reads from the environment with the prefix `RESEARCH_` (or from `.env`),
for example `RESEARCH_LLM_BASE_URL` or `RESEARCH_DOCS_DIRS=/srv/docs,/srv/more`. The fields come
in groups: the LLM's (settings/llm.py), search and reading (settings/search.py), the API's
(settings/api.py), and the rest below. The structured values some fields hold (search limits,
the API key map) and their checks are in settings/values.py.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from settings.api import ApiSettings
from settings.llm import LlmSettings
from settings.search import SearchSettings

# These are imported from here by the API, `research up` and the tests.
from settings.values import EXAMPLE_CORPUS as EXAMPLE_CORPUS
from settings.values import OWNER_PATTERN as OWNER_PATTERN
from settings.values import PROJECT_ROOT as PROJECT_ROOT
from settings.values import SearchLimit as SearchLimit


class Settings(LlmSettings, SearchSettings, ApiSettings):
    # Inputs stay out of validation errors: they would print API keys and provider credentials.
    model_config = SettingsConfigDict(
        env_prefix="RESEARCH_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "research"

    # Where runs keep their artifacts and the search index.
    data_dir: Path = Path(".data")

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

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.sqlite"

    @property
    def temporal_db_path(self) -> Path:
        return self.data_dir / "temporal.sqlite"


@lru_cache
def get_settings() -> Settings:
    return Settings()
