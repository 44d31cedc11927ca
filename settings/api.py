"""The API settings: where it listens, its event streams, authentication, abuse limits and the
payload codec.

A group of `Settings` fields (settings/__init__.py), kept apart so each group reads on its own;
it is not meant to be built alone (it would read the environment without the RESEARCH_ prefix).
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode

from settings.values import parse_keys


class ApiSettings(BaseSettings):
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
