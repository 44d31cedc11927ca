"""The researching stage: rounds of queries → search → read → notes → gaps, within budgets.

A base class of ResearchWorkflow, kept apart so each module stays readable; reading sources and
taking notes on them is its own base class (workflows/reading.py). Deterministic only.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.calls import (
        GapsRequest,
        GapsResult,
        ProviderSearchRequest,
        ProvidersRequest,
        ProvidersResult,
        QueriesRequest,
        QueriesResult,
        SearchRequest,
        SearchResult,
    )
    from domain.run import ResearchInput, Stage, StopRequest
    from domain.sources import Note, ReadSource, SearchHit
    from providers.ranking import fuse
from workflows.activity_calls import lost_before_start, start
from workflows.reading import SourceReader
from workflows.tracker import RunTracker

T = TypeVar("T")


class Stopped(Exception):
    """The `stop` signal arrived: finish with what the run has."""


class ResearchLoop(SourceReader):
    def __init__(self, inp: ResearchInput) -> None:
        self.inp = inp
        self.track = RunTracker(inp)
        self.stop_request: StopRequest | None = None
        self.plan = ""
        self.queries: list[str] = []
        self.sources: list[ReadSource] = []
        self.notes: list[Note] = []
        self.revision = 0
        # Activities completed by this run (not the chain): a run continued as new must do some
        # work before it may continue again, whatever the server suggests.
        self.calls_done = 0

    async def call(
        self, name: str, arg: Any, result_type: type[T], summary: str, interruptible: bool = True
    ) -> T:
        """Run one activity; a `stop` abandons it (unless it must finish) and raises Stopped."""
        while True:
            if interruptible and self.stop_request is not None:
                raise Stopped()
            handle = start(name, arg, result_type, summary, self.inp.task_start_timeout)
            try:
                result = await self._outcome(handle, interruptible)
                break
            except ActivityError as err:
                if not lost_before_start(name, err):
                    raise
                waited = self.inp.task_start_timeout.total_seconds()
                message = f"{summary}: no worker started it in {waited:g} s; scheduled again"
                self.track.event("task_requeued", message, activity=name)
        self.calls_done += 1
        usage = getattr(result, "usage", None)
        if usage is not None:
            self.track.add_usage(usage)
            self.track.event("llm_call", name, tokens=usage.prompt_tokens + usage.completion_tokens)
            await self.after_usage()
        return result

    async def _outcome(self, handle: workflow.ActivityHandle[T], interruptible: bool) -> T:
        if interruptible:
            await workflow.wait_condition(lambda: handle.done() or self.stop_request is not None)
            if not handle.done():
                handle.cancel()
                raise Stopped()
        return await handle

    async def after_usage(self) -> None:
        """Hook run after every LLM call; the budget guard pauses the run here."""

    async def between_rounds(self, next_round: int, gaps: list[str]) -> None:
        """Hook run before every round but a run's first; the run may continue as new here."""

    async def research_rounds(self, first_round: int = 1, gaps: list[str] | None = None) -> None:
        """Rounds `first_round`..depth; a run continued as new resumes with the gaps it found."""
        opts = self.inp.options
        progress = self.track.view.progress
        progress.rounds_total = opts.depth
        self.track.stage(Stage.researching, "searching and reading sources")
        gaps = list(gaps or [])
        for round_no in range(first_round, opts.depth + 1):
            if round_no > first_round:
                await self.between_rounds(round_no, gaps)
            progress.round = round_no
            queries = await self._next_queries(gaps, round_no)
            if not queries:
                break
            hits = await self._search(queries)
            await self._read_all(hits)
            if len(self.sources) >= opts.max_sources or round_no == opts.depth:
                break
            req = GapsRequest(question=self.inp.question, notes=self.notes)
            found = await self.call("llm.find_gaps", req, GapsResult, f"round {round_no}: gaps")
            gaps = found.gaps
            self.track.event("gaps_found", f"{len(gaps)} gaps", gaps=gaps)
            if not gaps:
                break

    async def _next_queries(self, gaps: list[str], round_no: int) -> list[str]:
        opts = self.inp.options
        req = QueriesRequest(
            question=self.inp.question,
            plan=self.plan,
            gaps=gaps,
            previous_queries=self.queries,
            count=opts.breadth,
        )
        result = await self.call(
            "llm.generate_queries", req, QueriesResult, f"round {round_no}: queries"
        )
        fresh = [q.strip() for q in result.queries if q.strip() and q.strip() not in self.queries]
        queries = list(dict.fromkeys(fresh))[: opts.breadth]
        if not queries and round_no == 1:
            queries = [self.inp.question]  # a model with no ideas still gets the question searched
        self.queries += queries
        return queries

    async def _search(self, queries: list[str]) -> list[tuple[SearchHit, str]]:
        limit = max(self.inp.options.breadth, 3)
        if workflow.patched("search-provider-queues"):
            results = await self._search_by_provider(queries, limit)
        else:
            # Runs started before per-provider queues: one activity asks every provider.
            results = await asyncio.gather(
                *(
                    self.call(
                        "search.search",
                        SearchRequest(query=q, limit=limit, sources=self.inp.options.sources),
                        SearchResult,
                        f"search: {q}",
                    )
                    for q in queries
                )
            )
        progress = self.track.view.progress
        seen = {s.source_id for s in self.sources}
        best: dict[str, tuple[SearchHit, str]] = {}
        for query, result in zip(queries, results, strict=True):
            progress.queries_run += 1
            self.track.event("query_issued", query, query=query, hits=len(result.hits))
            for hit in result.hits:
                if hit.source_id in seen:
                    continue
                if hit.source_id not in best or best[hit.source_id][0].score < hit.score:
                    best[hit.source_id] = (hit, query)
        progress.sources_found += len(best)
        ranked = sorted(best.values(), key=lambda pair: pair[0].score, reverse=True)
        room = self.inp.options.max_sources - len(self.sources)
        return ranked[: max(room, 0)]

    async def _search_by_provider(self, queries: list[str], limit: int) -> list[SearchResult]:
        """Every query to every chosen provider, each on its provider's task queue, fused by rank.

        A provider's queue is where its rate limits hold for all runs on all workers; the
        worker says which configured providers the run's `sources` pick.
        """
        req = ProvidersRequest(sources=self.inp.options.sources)
        chosen = await self.call("search.providers", req, ProvidersResult, "search: providers")
        return list(
            await asyncio.gather(*(self._search_one(q, chosen.providers, limit) for q in queries))
        )

    async def _search_one(self, query: str, providers: list[str], limit: int) -> SearchResult:
        outcomes = await asyncio.gather(
            *(
                self.call(
                    "search.provider",
                    ProviderSearchRequest(provider=name, query=query, limit=limit),
                    SearchResult,
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
