"""Settings for the children of `research up`, passed down as RESEARCH_* variables.

The worker and the API each build their own `Settings()` from the environment, so the one
way to hand them the stack's ports and folders is to export every field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from settings import Settings

ENV_PREFIX = "RESEARCH_"


def stack_settings(
    base: Settings,
    *,
    data_dir: Path | None = None,
    docs_dirs: list[Path] | None = None,
    api_port: int | None = None,
    temporal_port: int | None = None,
    ui_port: int | None = None,
    llm_port: int | None = None,
) -> Settings:
    """`base` with the command-line choices applied, as the children must see it.

    Paths become absolute because the children run from the project root, not from the
    caller's directory. Without an external LLM the children point at the embedded one.
    """
    data_dir = (data_dir or base.data_dir).resolve()
    temporal_port = temporal_port or base.temporal_port
    llm_port = llm_port or base.llm_port
    update: dict[str, object] = {
        "data_dir": data_dir,
        "docs_dirs": [p.resolve() for p in (docs_dirs or base.docs_dirs)],
        "api_port": api_port or base.api_port,
        "temporal_port": temporal_port,
        "temporal_address": f"127.0.0.1:{temporal_port}",
        "ui_port": ui_port or base.ui_port,
        "llm_port": llm_port,
    }
    if base.llm_model_path is not None:
        update["llm_model_path"] = base.llm_model_path.resolve()
    if base.embedded_llm:
        update["llm_base_url"] = f"http://127.0.0.1:{llm_port}/v1"
        # llama-cpp-python's server answers OpenAI's `json_schema` format with HTTP 500; it
        # constrains output only for `{"type": "json_object", "schema": ...}`.
        update["llm_structured_output"] = "llama_schema"
    return base.model_copy(update=update)


def _env_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        # Settings splits list fields on commas (docs_dirs), not JSON.
        return ",".join(_env_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every settings field as its RESEARCH_* variable; unset (None) fields are left out."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = _env_value(value)
    return env


def child_env(settings: Settings, base_env: Mapping[str, str]) -> dict[str, str]:
    """The full environment of a worker or API child: the caller's, with the stack's settings."""
    env = {
        key: value
        for key, value in base_env.items()
        # A field left None here must not come back from the caller's environment.
        if not (
            key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() in Settings.model_fields
        )
    }
    env.update(settings_env(settings))
    # Unbuffered output, so a child's last words reach its log before it dies.
    env["PYTHONUNBUFFERED"] = "1"
    return env
