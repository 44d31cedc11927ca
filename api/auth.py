"""Who is calling: API keys mapped to owners, and the one ownership check every run route uses.

Keys come from `RESEARCH_API_KEYS` ({"<key>": "<owner>"}, or `sha256:<hex>` of a key). With no
keys, auth is off: the embedded default, one trusted person on this machine, so the API then
serves loopback only (checked at start and on every request).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Scope
from temporalio.client import WorkflowHandle

from api.errors import ApiError, Subject
from api.owners import OwnerCache
from api.temporal import temporal_calls
from domain.run import Decision
from settings import Settings
from workflows.search_attributes import RESEARCH_OWNER

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
# RFC 6750: a 401 names the scheme the client should use.
WWW_AUTHENTICATE = 'Bearer realm="research", charset="UTF-8"'
DESCRIBE_TIMEOUT = timedelta(seconds=5)


class AuthConfigError(RuntimeError):
    """The settings would expose an unauthenticated API; raised at start, stops the server."""


@dataclass(frozen=True)
class Principal:
    owner: str
    # A short, non-reversible name for the key: rate-limit buckets and logs use it, never the key.
    key_id: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    """Keys by their SHA-256, so plain and hashed entries look up alike.

    Looking up the digest of what the client sent (rather than comparing keys) leaves no timing
    signal worth having: learning bits of a SHA-256 does not bring an attacker closer to a key.
    """

    def __init__(self, owners: dict[str, str]) -> None:
        self._owners = {
            key.removeprefix("sha256:") if key.startswith("sha256:") else _digest(key): owner
            for key, owner in owners.items()
        }

    def __len__(self) -> int:
        return len(self._owners)

    def principal(self, key: str) -> Principal | None:
        digest = _digest(key)
        owner = self._owners.get(digest)
        return Principal(owner=owner, key_id=digest[:12]) if owner else None


def presented_key(scope: Scope) -> str | None:
    """The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    headers = Headers(scope=scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get(API_KEY_HEADER) or None


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def is_loopback(host: str | None) -> bool:
    if host is None:
        return True  # a Unix socket: only this machine can connect
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name (or 0.0.0.0-like wildcard spelled oddly): not provably local
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def check_exposure(settings: Settings) -> None:
    """Refuse to serve an unauthenticated API on a non-loopback address."""
    if settings.auth_enabled or settings.api_allow_unauthenticated_remote:
        return
    if not is_loopback(settings.api_host):
        raise AuthConfigError(
            f"refusing to start: RESEARCH_API_HOST={settings.api_host} is not a loopback address "
            "and authentication is off (RESEARCH_API_KEYS is empty), so anyone who reaches the "
            "port could read and steer every run. Set RESEARCH_API_KEYS, bind to 127.0.0.1, or "
            "set RESEARCH_API_ALLOW_UNAUTHENTICATED_REMOTE=true if a proxy in front authenticates."
        )


def describe_auth(settings: Settings) -> str:
    """One line for the start-up log and `research up`."""
    if settings.auth_enabled:
        return f"API keys required ({len(KeyRing(settings.api_key_owners))} configured)"
    if settings.api_allow_unauthenticated_remote:
        return (
            "authentication off; remote clients allowed (RESEARCH_API_ALLOW_UNAUTHENTICATED_REMOTE)"
        )
    return "authentication off (no RESEARCH_API_KEYS): serving loopback clients only"


def not_found(subject: Subject) -> ApiError:
    # Byte for byte what Temporal's NOT_FOUND becomes (api.errors), so another owner's id and an
    # id that never existed cannot be told apart.
    return ApiError(404, f"{subject}_not_found", f"no such {subject}")


async def ensure_owner(
    handle: WorkflowHandle[Any, Any],
    principal: Principal | None,
    subject: Subject,
    owners: OwnerCache | None = None,
) -> None:
    """404 unless the caller owns the workflow (auth off: everyone owns everything).

    One describe, answered by the server from the execution's search attributes (no worker),
    the first time this process sees the workflow; `owners` remembers the answer after that.
    """
    if principal is None:
        return
    owner = owners.get(handle.id) if owners is not None else None
    if owner is None:
        async with temporal_calls(subject):
            desc = await handle.describe(rpc_timeout=DESCRIBE_TIMEOUT)
        owner = desc.typed_search_attributes.get(RESEARCH_OWNER)
        if owners is not None:
            owners.put(handle.id, owner)
    if owner != principal.owner:
        raise not_found(subject)


def acting_as(principal: Principal | None, claimed: str) -> str:
    """Who a decision or answer is recorded as: the key's owner, never a name the body claims.
    With auth off the body's own `decided_by` / `answered_by` is all there is."""
    return principal.owner if principal else claimed


def decision_by(body: Decision, principal: Principal | None) -> Decision:
    """The decision a request body carries, recorded as the caller (`acting_as`)."""
    return Decision.model_validate(
        body.model_dump() | {"decided_by": acting_as(principal, body.decided_by)}
    )
