"""The researching stage: rounds of queries → search → read → notes → gaps, within budgets.

Reading the hits a round finds is SourceReader's (workflows/reading.py); what happens between
rounds (the run may continue as new) is the `between_rounds` callable's. Deterministic only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.table import (
        FIND_GAPS,
        GENERATE_QUERIES,
        SEARCH_ALL,
        SEARCH_PROVIDER,
        SEARCH_PROVIDERS,
    )
    from domain.calls import (
        GapsRequest,
        ProviderSearchRequest,
        ProvidersRequest,
        QueriesRequest,
        SearchRequest,
        SearchResult,
    )
    from domain.run import RunOptions, Stage
    from domain.sources import SearchHit
    from domain.state import RunState
    from providers.ranking import fuse
from workflows.calls import ActivityRunner
from workflows.policy import SourcePolicyGate
from workflows.reading import SourceReader
from workflows.tracker import RunTracker

# Runs started before it stop at the first round whose gap list comes back empty; their
# histories replay unchanged.
EVERY_ROUND_PATCH = "every-round-runs"


class ResearchRounds:
    """Runs the research rounds of a run on `question` under `options`."""

    def __init__(
        self,
        state: RunState,
        track: RunTracker,
        runner: ActivityRunner,
        reader: SourceReader,
        between_rounds: Callable[[int, list[str]], Awaitable[None]],
        question: str,
        options: RunOptions,
    ) -> None:
        self.state = state
        self.track = track
        self.runner = runner
        self.reader = reader
        self.between_rounds = between_rounds
        self.question = question
        self.options = options
        self.policy = SourcePolicyGate(track, reader, options.source_policy, question)

    async def run(self, first_round: int = 1, gaps: list[str] | None = None) -> None:
        """Rounds `first_round`..depth; a run continued as new resumes with the gaps it found."""
        opts = self.options
        progress = self.track.view.progress
        progress.rounds_total = opts.depth
        self.track.stage(Stage.researching, "searching and reading sources")
        if first_round == 1:
            await self.policy.read_pinned()
        gaps = list(gaps or [])
        for round_no in range(first_round, opts.depth + 1):
            if round_no > first_round:
                await self.between_rounds(round_no, gaps)
            progress.round = round_no
            queries = await self._next_queries(gaps, round_no)
            if not queries:
                self._nothing_new(round_no, "no new queries")
                break
            hits = await self._search(queries)
            await self.reader.read_all(hits)
            if len(self.state.sources) >= opts.max_sources:
                self.track.event("sources_enough", f"{opts.max_sources} sources read (max)")
                break
            if round_no == opts.depth:
                break
            req = GapsRequest(question=self.question, notes=self.state.notes)
            found = await self.runner.call(FIND_GAPS, req, f"round {round_no}: gaps")
            gaps = found.gaps
            self.track.event("gaps_found", f"{len(gaps)} gaps", gaps=gaps)
            # No gaps named: the next round still searches what the plan asks and was not
            # searched yet (issue 12: every round the options ask for runs unless nothing is new).
            if not gaps and not workflow.patched(EVERY_ROUND_PATCH):
                break

    async def targeted(self, text: str) -> None:
        """One more round, its queries drawn from `text`: a claim a reviewer wants a source for
        (the `find_source` update). The claim itself is searched when the model adds nothing."""
        progress = self.track.view.progress
        progress.round = round_no = progress.round + 1
        progress.rounds_total = max(progress.rounds_total, round_no)
        self.track.stage(Stage.researching, f"searching for a source: {text[:80]}")
        queries = await self._next_queries([text], round_no)
        if not queries and text not in self.state.queries:
            queries = [text]
            self.state.queries.append(text)
        if not queries:
            self._nothing_new(round_no, "no new queries for the claim")
            return
        await self.reader.read_all(await self._search(queries))

    def _nothing_new(self, round_no: int, why: str) -> None:
        rounds = f"round {round_no} of {self.options.depth}"
        self.track.event("nothing_new", f"{rounds}: {why}; research ends here", round=round_no)

    async def _next_queries(self, gaps: list[str], round_no: int) -> list[str]:
        opts, state = self.options, self.state
        req = QueriesRequest(
            question=self.question,
            plan=state.plan,
            gaps=gaps,
            previous_queries=state.queries,
            count=opts.breadth,
        )
        result = await self.runner.call(GENERATE_QUERIES, req, f"round {round_no}: queries")
        fresh = [q.strip() for q in result.queries if q.strip() and q.strip() not in state.queries]
        queries = list(dict.fromkeys(fresh))[: opts.breadth]
        if not queries and round_no == 1:
            queries = [self.question]  # a model with no ideas still gets the question searched
        state.queries += queries
        return queries

    async def _search(self, queries: list[str]) -> list[tuple[SearchHit, str]]:
        limit = max(self.options.breadth, 3)
        if workflow.patched("search-provider-queues"):
            results = await self._search_by_provider(queries, limit)
        else:
            # Runs started before per-provider queues: one activity asks every provider.
            results = await asyncio.gather(
                *(
                    self.runner.call(
                        SEARCH_ALL,
                        SearchRequest(query=q, limit=limit, sources=self.options.sources),
                        f"search: {q}",
                    )
                    for q in queries
                )
            )
        progress = self.track.view.progress
        seen = {s.source_id for s in self.state.sources}
        best: dict[str, tuple[SearchHit, str]] = {}
        for query, result in zip(queries, results, strict=True):
            progress.queries_run += 1
            self.track.event("query_issued", query, query=query, hits=len(result.hits))
            for hit in result.hits:
                if hit.source_id in seen:
                    continue
                if hit.source_id not in best or best[hit.source_id][0].score < hit.score:
                    best[hit.source_id] = (hit, query)
        admitted = self.policy.admit(list(best.values()))
        progress.sources_found += len(admitted)
        ranked = sorted(admitted, key=lambda pair: pair[0].score, reverse=True)
        room = self.options.max_sources - len(self.state.sources)
        return ranked[: max(room, 0)]

    async def _search_by_provider(self, queries: list[str], limit: int) -> list[SearchResult]:
        """Every query to every chosen provider, each on its provider's task queue, fused by rank.

        A provider's queue is where its rate limits hold for all runs on all workers; the
        worker says which configured providers the run's `sources` pick.
        """
        req = ProvidersRequest(sources=self.options.sources)
        chosen = await self.runner.call(SEARCH_PROVIDERS, req, "search: providers")
        return list(
            await asyncio.gather(*(self._search_one(q, chosen.providers, limit) for q in queries))
        )

    async def _search_one(self, query: str, providers: list[str], limit: int) -> SearchResult:
        outcomes = await asyncio.gather(
            *(
                self.runner.call(
                    SEARCH_PROVIDER,
                    ProviderSearchRequest(
                        provider=name,
                        query=query,
                        limit=limit,
                        # markdown_path / docs_folder narrows the local index only.
                        folder=self.options.docs_folder if name == "local" else None,
                        window=self.policy.window,
                    ),
                    f"search {name}: {query}",
                )
                for name in providers
            ),
            return_exceptions=True,
        )
        answered: list[list[SearchHit]] = []
        failed: list[ActivityError] = []
        for name, outcome in zip(providers, outcomes, strict=True):
            if isinstance(outcome, SearchResult):
                answered.append(outcome.hits)
                if outcome.window_ignored:
                    self.policy.window_ignored(name)
            elif isinstance(outcome, ActivityError) and not is_cancelled_exception(outcome):
                # One provider failing leaves the others to carry the query.
                failed.append(outcome)
                cause = outcome.cause or outcome
                self.track.event(
                    "search_failed", name, provider=name, query=query, error=str(cause)
                )
            else:
                raise outcome  # a stop or a cancellation ends the search like any other call
        if failed and not answered:
            final = [f for f in failed if f.retry_state == RetryState.NON_RETRYABLE_FAILURE]
            # Bad credentials or a bad request won't mend: the run fails and says why. Errors
            # that outlasted their retries leave a gap, as a source that cannot be read does.
            if final or not workflow.patched("search-outage-leaves-gap"):
                raise (final or failed)[0]
            self.track.view.progress.searches_failed += 1
        return SearchResult(hits=fuse(answered, limit))
