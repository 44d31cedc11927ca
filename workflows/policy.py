"""A run's source policy in the workflow: pinned sources read first, web hits the domain lists
refuse, and the providers that cannot apply the date window said once. Deterministic only.

Everything here acts only for runs whose options carry a `source_policy`, and only past the
SOURCE_POLICY_PATCH marker: a run started by a worker that ignored the option (before this
change) and replayed by this code keeps the commands it recorded.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.source_policy import DateWindow, SourcePolicy, is_url
    from domain.sources import SearchHit
    from providers.ranking import normalise_url
from workflows.reading import SourceReader
from workflows.tracker import RunTracker

SOURCE_POLICY_PATCH = "source-policy"


class SourcePolicyGate:
    """Applies `policy` (None: no policy, nothing changes) to what a run searches and reads."""

    def __init__(
        self, track: RunTracker, reader: SourceReader, policy: SourcePolicy | None, question: str
    ) -> None:
        self.track = track
        self.reader = reader
        self.policy = policy
        self.question = question
        # Said once each (within this Temporal run): refused source ids, providers without window.
        self.refused: set[str] = set()
        self.window_said: set[str] = set()

    @property
    def active(self) -> SourcePolicy | None:
        """The policy when the run has one and its history has (or now gets) the patch."""
        if self.policy is None or not workflow.patched(SOURCE_POLICY_PATCH):
            return None
        return self.policy

    @property
    def window(self) -> DateWindow | None:
        policy = self.active
        return policy.window if policy is not None else None

    async def read_pinned(self) -> None:
        """Read the pinned sources, in the order given, before the first search round."""
        policy = self.active
        if policy is None or not policy.pinned:
            return
        hits: list[tuple[SearchHit, str]] = []
        for entry in policy.pinned:
            if is_url(entry):
                if (why := policy.refusal(entry)) is not None:
                    self._refuse(normalise_url(entry), entry, why)
                    continue
                hit = SearchHit(
                    source_id=normalise_url(entry), title=entry, url=entry, provider="pinned"
                )
            else:
                # The read activity finds the path in the configured documents folders.
                hit = SearchHit(source_id=entry, title=entry, url="", provider="local")
            hits.append((hit, self.question))
        self.track.event(
            "pinned_reading", f"{len(hits)} pinned sources read first", count=len(hits)
        )
        await self.reader.read_all(hits)

    def admit(self, hits: list[tuple[SearchHit, str]]) -> list[tuple[SearchHit, str]]:
        """The hits the domain lists let through; each web hit refused is a `source_refused`
        event (once per source). Local documents are the operator's folders: never refused."""
        policy = self.active
        if policy is None or not policy.filters_domains:
            return hits
        kept = []
        for hit, query in hits:
            why = None if hit.provider == "local" else policy.refusal(hit.url)
            if why is None:
                kept.append((hit, query))
            else:
                self._refuse(hit.source_id, hit.url, why)
        return kept

    def window_ignored(self, provider: str) -> None:
        """Say once that `provider` searched without the run's date window."""
        if provider in self.window_said:
            return
        self.window_said.add(provider)
        self.track.event(
            "window_ignored",
            f"{provider} cannot search by publication date; its results are not narrowed",
            provider=provider,
        )

    def _refuse(self, source_id: str, url: str, why: str) -> None:
        if source_id in self.refused:
            return
        self.refused.add(source_id)
        self.track.event("source_refused", f"{url}: {why}", url=url, reason=why)
