"""Seeding a follow-up run with what the run it follows read and reported. Deterministic only.

A follow-up run (ResearchInput.follow_up, set by POST /runs/{id}/followups) starts with the
followed run's sources and notes in its state, numbered as they were there, so its report may
cite them, and ResearchRounds skips every search hit whose source_id is already in the state:
no page read there is read again. The followed report's claims become context for the plan and
writer prompts (RunState.seed_context). Seeded sources count toward `max_sources`.

A seed that cannot be loaded (the followed run's artifacts were deleted) leaves a gap, not a
failed run: the run researches its question from scratch and says so in an event.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.table import LOAD_SEED
    from domain.calls import SeedRequest
    from domain.options import FollowUpSeed
    from domain.state import RunState
from workflows.calls import ActivityRunner
from workflows.tracker import RunTracker

# Only runs with a follow_up seed ask for it, and none did before it existed; the marker still
# keeps any history recorded before this change replaying should one carry the field.
FOLLOW_UP_PATCH = "follow-up-seed"


class FollowUpSeeder:
    """Loads `seed` (None: not a follow-up, nothing to do) into `state` through `runner`."""

    def __init__(
        self,
        state: RunState,
        track: RunTracker,
        runner: ActivityRunner,
        folder: str,
        seed: FollowUpSeed | None,
    ) -> None:
        self.state = state
        self.track = track
        self.runner = runner
        self.folder = folder  # the follow-up run's own artifact folder
        self.seed = seed

    async def seed_state(self) -> None:
        """Put the followed run's sources, notes and report context into the state, once."""
        seed = self.seed
        if seed is None or not workflow.patched(FOLLOW_UP_PATCH):
            return
        req = SeedRequest(run_id=self.folder, seed=seed)
        try:
            result = await self.runner.call(LOAD_SEED, req, f"follow up run {seed.run_id}")
        except ActivityError as exc:
            if is_cancelled_exception(exc):
                raise
            cause = exc.cause or exc
            self.track.event("seed_failed", str(cause), follow_up_of=seed.run_id)
            return
        state, progress = self.state, self.track.view.progress
        known = {s.source_id for s in state.sources}
        fresh = [s for s in result.sources if s.source_id not in known]
        state.sources += fresh
        state.notes += [n for n in result.notes if n.source_id not in known]
        state.seed_context = result.context
        progress.sources_reused = len(fresh)
        progress.sources_read = len(state.sources)
        progress.notes = len(state.notes)
        self.track.event(
            "sources_reused",
            f"{len(fresh)} sources from run {seed.run_id}",
            follow_up_of=seed.run_id,
            count=len(fresh),
            source_ids=[s.source_id for s in fresh],
        )
