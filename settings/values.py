"""The structured values inside Settings fields, and the rules they must follow.

The project's folder and its example corpus (the default documents folder), search provider
names, one web provider's SearchLimit, and the API key map (key or `sha256:<hex>` of a key ->
owner) with its format checks. Kept apart so the Settings groups read as the list of what can be
configured; `settings` re-exports the public names (the API imports OWNER_PATTERN from there for
its visibility queries, `research up` and the tests PROJECT_ROOT).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CORPUS = PROJECT_ROOT / "corpus"

SearchProviderName = Literal["local", "tavily", "brave", "searxng", "duckduckgo"]
WebSearchProviderName = Literal["tavily", "brave", "searxng", "duckduckgo"]


class SearchLimit(BaseModel):
    """One web search provider's limits (see `Settings.search_limits`)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt limit must not be silently ignored

    per_minute: float | None = Field(default=None, gt=0)
    concurrent: int | None = Field(default=None, ge=1)


# An owner name goes into visibility queries (`ResearchOwner = '<owner>'`): plain tokens only.
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
HASHED_KEY = re.compile(r"^sha256:[0-9a-f]{64}$")
# Shorter plain keys could be guessed; generate one with `python -c "import secrets;
# print(secrets.token_urlsafe(32))"`.
MIN_KEY_CHARS = 16


def parse_keys(text: str) -> dict[str, str]:
    # Empty means "auth off". Messages never echo a key: validation errors end up in logs.
    keys = json.loads(text) if text.strip() else {}
    if not isinstance(keys, dict):
        raise ValueError('api_keys must be a JSON object {"<key>": "<owner>"}')
    for key, owner in keys.items():
        check_key(key, owner)
    return keys


def check_key(key: object, owner: object) -> None:
    if not isinstance(key, str) or not isinstance(owner, str):
        raise ValueError("api_keys maps key strings to owner strings")
    if not OWNER_PATTERN.fullmatch(owner):
        raise ValueError(f"api_keys owner {owner!r} must match {OWNER_PATTERN.pattern}")
    if key.startswith("sha256:"):
        if not HASHED_KEY.fullmatch(key):
            raise ValueError(f"a hashed key of {owner!r} must be sha256:<64 lowercase hex>")
    elif len(key) < MIN_KEY_CHARS:
        raise ValueError(f"the key of {owner!r} is shorter than {MIN_KEY_CHARS} characters")
