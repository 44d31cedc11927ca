"""Merging hits from several search providers: URL identity and rank fusion.

Pure functions with no I/O, so the research workflow can merge per-provider results itself
(deterministically) and the `search.search` activity can merge the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.sources import SearchHit

# Query parameters that only track the visitor; two URLs differing in them are one page.
_TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Reciprocal-rank fusion's damping constant; 60 is the value of Cormack et al. (2009) that most
# search engines use. It makes rank 1 worth little more than rank 2, so a page several providers
# found beats a page only one provider ranked first.
RRF_K = 60


def normalise_url(url: str) -> str:
    """A comparison key for URLs that name the same page in different spellings."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or ("" if netloc else parts.path)
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith(_TRACKING_PREFIXES)
        )
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def hit_key(hit: SearchHit) -> str:
    return normalise_url(hit.url) if hit.url else hit.source_id


def fuse(results: Sequence[Sequence[SearchHit]], limit: int) -> list[SearchHit]:
    """One ranked list from each provider's ranked list, by reciprocal-rank fusion.

    Providers' scores are on unrelated scales (BM25 in the tens, web ranks below 1), so merging by
    raw score lets one provider crowd out the others. Each hit instead earns 1 / (RRF_K + rank)
    from every provider that found it: the providers' first hits take turns at the top, and a
    page found by several providers (de-duplicated by normalised URL) rises above the rest. Ties
    go to the better single rank, then to the earlier provider. The fused score replaces the
    provider's, so lists fused for different queries compare on one scale.
    """
    fused: dict[str, tuple[float, int, int, SearchHit]] = {}
    for order, hits in enumerate(results):
        seen: set[str] = set()
        # sorted() is stable: a provider's equal scores keep the order it gave them.
        for rank, hit in enumerate(sorted(hits, key=lambda h: h.score, reverse=True), start=1):
            key = hit_key(hit)
            if key in seen:
                continue  # one provider listing a page twice does not vote twice
            seen.add(key)
            share = 1.0 / (RRF_K + rank)
            kept = fused.get(key)
            if kept is None:
                fused[key] = (share, rank, order, hit)
            else:
                score, best_rank, best_order, best_hit = kept
                if rank < best_rank:  # show the hit as the provider that ranked it best has it
                    best_rank, best_order, best_hit = rank, order, hit
                fused[key] = (score + share, best_rank, best_order, best_hit)
    ranked = sorted(fused.values(), key=lambda entry: (-entry[0], entry[1], entry[2]))
    return [hit.model_copy(update={"score": score}) for score, _, _, hit in ranked[: max(limit, 0)]]
