"""A run's source policy: sources read first, domains allowed or refused, a publication window.

Plain pydantic with pure helpers, so the API (422s), the workflow (which hits it refuses) and
the providers (the date window) share one reading of it. Domains match by suffix on label
boundaries: `example.org` covers `example.org` and `sub.example.org`, never `badexample.org`.
An IP address matches only itself.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, model_validator

MAX_PINNED = 20
MAX_DOMAINS = 100
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def is_url(entry: str) -> bool:
    """Whether a pinned entry is a web address (else it is a local document path)."""
    return entry.lower().startswith(("http://", "https://"))


def _domain(value: str) -> str:
    name = value.strip().lower().rstrip(".")
    if "://" in name or "/" in name or (":" in name and not _is_ip(name)):
        raise ValueError(f"{value!r}: a domain name only, without scheme, port or path")
    if _is_ip(name):
        return name
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a domain name")
    return name


def _pinned(value: str) -> str:
    entry = value.strip()
    if not entry or "\x00" in entry:
        raise ValueError("a pinned source must be a URL or a document path")
    if is_url(entry):
        parts = urlsplit(entry)
        if not parts.hostname:
            raise ValueError(f"{value!r}: a pinned URL needs a host")
        return entry
    if "://" in entry:
        raise ValueError(f"{value!r}: only http and https URLs can be pinned")
    if ".." in PurePosixPath(entry.replace("\\", "/")).parts:
        raise ValueError(f"{value!r}: a document path may not climb out of its folder ('..')")
    return entry


Domain = Annotated[str, AfterValidator(_domain)]
Pinned = Annotated[str, Field(max_length=2000), AfterValidator(_pinned)]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def host_of(url: str) -> str:
    """The lower-case host of `url` ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def domain_matches(host: str, domain: str) -> bool:
    """Whether `host` is `domain` or one of its subdomains (IP addresses: only themselves)."""
    host, domain = host.rstrip(".").lower(), domain.rstrip(".").lower()
    if _is_ip(host) or _is_ip(domain):
        return host.strip("[]") == domain.strip("[]")
    return host == domain or host.endswith("." + domain)


class DateWindow(BaseModel):
    """Only sources published in this window, as far as a search provider can tell."""

    published_after: date | None = None
    published_before: date | None = None


class SourcePolicy(BaseModel):
    pinned: list[Pinned] = Field(
        default_factory=list,
        max_length=MAX_PINNED,
        description="URLs or documents (relative to a configured docs folder) read first",
    )
    allow_domains: list[Domain] = Field(
        default_factory=list,
        max_length=MAX_DOMAINS,
        description="Web sources only from these domains (and their subdomains); empty = any",
    )
    deny_domains: list[Domain] = Field(
        default_factory=list,
        max_length=MAX_DOMAINS,
        description="Web sources never from these domains (and their subdomains)",
    )
    published_after: date | None = Field(default=None, description="Passed to web search")
    published_before: date | None = Field(default=None, description="Passed to web search")

    @model_validator(mode="after")
    def _window_is_ordered(self) -> SourcePolicy:
        after, before = self.published_after, self.published_before
        if after is not None and before is not None and after > before:
            raise ValueError("published_after is later than published_before")
        return self

    @property
    def window(self) -> DateWindow | None:
        """The date window for search providers; None when the policy sets no date."""
        if self.published_after is None and self.published_before is None:
            return None
        return DateWindow(
            published_after=self.published_after, published_before=self.published_before
        )

    @property
    def filters_domains(self) -> bool:
        return bool(self.allow_domains or self.deny_domains)

    def refusal(self, url: str) -> str | None:
        """Why a web source at `url` is refused, or None when the policy lets it be read."""
        host = host_of(url)
        if not host:
            return "the URL has no host"
        for domain in self.deny_domains:
            if domain_matches(host, domain):
                return f"{host} is in the deny list ({domain})"
        if self.allow_domains and not any(domain_matches(host, d) for d in self.allow_domains):
            return f"{host} is not in the allow list"
        return None

    @property
    def pinned_urls(self) -> list[str]:
        return [p for p in self.pinned if is_url(p)]

    @property
    def pinned_paths(self) -> list[str]:
        return [p for p in self.pinned if not is_url(p)]
