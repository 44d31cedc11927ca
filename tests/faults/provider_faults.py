"""The LLM, the web search and the web pages failing at a set rate: 429, 500, timeouts, bad bodies.

The fakes draw each reply from a seeded `FaultPlan`: the scripted LLM answers 429 (Retry-After:
1), 500, nothing before the client's timeout, a 200 whose JSON is cut off, or well-formed
content that is not the JSON asked for; the stub SearXNG the same but the last; the stub pages
429, 500 and timeouts. Half the runs search the web only (`sources=["web"]`), so a failed
search is retried rather than covered by the local index's hits.
"""

from __future__ import annotations

import asyncio

from bench.stack import BenchStack
from domain.run import RunOptions, RunStatus
from tests.fakes.faults import FAULT_KINDS, FaultPlan
from tests.fakes.web_server import StubWeb
from tests.faults.audit import History
from tests.faults.driver import OPTIONS, drive
from tests.faults.harness import Tally, account_llm, audit_wave, polling, run_ids, waves

NAME = "LLM + search + page faults"
RATE = 0.3
GAPS_OK = frozenset({RunStatus.completed, RunStatus.completed_with_gaps})
PAGES = ("/article.html", "/paper.pdf")


async def run(runs: int, seed: int, parallel: int = 3) -> Tally:
    tally = Tally(NAME)
    web = StubWeb().start()
    search = FaultPlan(RATE, FAULT_KINDS, seed=seed, hang_s=3.0)
    pages = FaultPlan(RATE, ("429", "500", "timeout"), seed=seed + 1, hang_s=3.0)
    llm = FaultPlan(RATE, (*FAULT_KINDS, "garbled"), seed=seed + 2, hang_s=3.0)
    web.faults = {"/search": search} | {page: pages for page in PAGES}
    extra = {
        "search_providers": ["local", "searxng"],
        "searxng_url": web.base_url,
        # The stub web is on loopback, which the fetcher refuses unless told otherwise.
        "allow_private_fetch": True,
        # Short client timeouts, so an injected hang costs seconds, not minutes.
        "llm_timeout_s": 1.5,
        "search_timeout_s": 1.5,
        "fetch_timeout_s": 1.5,
    }
    try:
        async with BenchStack(api=False, extra=extra) as stack:
            stack.llm.reset(faults=llm)
            assert stack.worker is not None
            await polling(stack, stack.worker)
            histories: list[History] = []
            for n, wave in enumerate(waves(run_ids("pf", runs), parallel)):
                # New page URLs each wave: pages are cached by URL, and a cached page would
                # never meet a fault again.
                web.searxng_results = [
                    {"url": f"{web.base_url}{path}?wave={n}", "title": path, "content": "storage"}
                    for path in PAGES
                ]
                work = [
                    drive(stack.client, stack.settings.task_queue, run_id, options=_options(n + i))
                    for i, run_id in enumerate(wave)
                ]
                drives = await asyncio.gather(*work, return_exceptions=True)
                histories += await audit_wave(stack, tally, wave, drives, GAPS_OK)
            account_llm(stack, tally, histories)
            tally.problems += _web_accounting(web, search, pages, histories)
    finally:
        web.stop()
    tally.faults = search.total + pages.total + llm.total
    tally.notes.append(
        f"injected at {RATE:.0%}: LLM {dict(llm.injected)}, search {dict(search.injected)}, "
        f"pages {dict(pages.injected)}"
    )
    return tally


def _options(n: int) -> RunOptions:
    # Every other run searches the web only: its failed searches must be retried, not covered.
    return OPTIONS.model_copy(update={"sources": ["web"] if n % 2 else None})


def _web_accounting(
    web: StubWeb, search: FaultPlan, pages: FaultPlan, histories: list[History]
) -> list[str]:
    """No search or page was answered more often than history shows attempts for it."""
    problems = []
    searched = web.hits["/search"] - search.total
    attempts = sum(h.attempts("search.") for h in histories)
    if searched > attempts:
        problems.append(f"SearXNG answered {searched} searches for {attempts} attempts")
    fetched = sum(web.hits[p] for p in PAGES) - pages.total
    reads = sum(h.attempts("read.") for h in histories)
    if fetched > reads:
        problems.append(f"{fetched} pages served for {reads} read attempts")
    return problems
