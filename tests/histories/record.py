"""Record the histories that tests/unit/test_replay.py replays: one per way a run can go.

Run it after a deliberate workflow change that is NOT meant to be replay-compatible (and say
so in the commit), or to add a scenario:

    uv run python -m tests.histories.record [SCENARIO ...]   # all of them when none is named

It starts its own Temporal dev server, worker and scripted LLM, drives each scenario to its end
and writes `<scenario>.json` beside this file. A scenario that continues as new gets a server
that suggests it early, and both ends of its chain are kept: `<scenario>_first.json` (the run
that hands over) and `<scenario>_last.json` (the run that resumes from carried state). The
scenarios themselves, and which server set-up each needs, are in tests/histories/scenarios.py.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

from temporalio.client import Client, WorkflowHistory

from runtime.process_exit import run_then_exit
from stack.temporal_server import TemporalDevServer
from tests.fakes.claims_writer import claims_worker
from tests.fakes.llm_server import FakeLLM
from tests.fakes.web_server import StubWeb
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers.stack import connect, free_port, stack_settings
from tests.histories.scenarios import (
    CHAINED,
    CLAIMS,
    NOTIFY,
    SCENARIOS,
    SUGGEST_CONTINUE_AS_NEW,
    WEB,
    Scenario,
)
from worker import build_activities, build_worker

HERE = Path(__file__).parent


async def main(names: list[str]) -> None:
    known = set(SCENARIOS) | set(CHAINED) | set(WEB) | set(NOTIFY) | set(CLAIMS)
    unknown = set(names) - known
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    wanted = set(names) or known
    await record({n: s for n, s in SCENARIOS.items() if n in wanted}, {})
    await record({n: s for n, s in CLAIMS.items() if n in wanted}, {}, lying_writer=True)
    await record({n: s for n, s in CHAINED.items() if n in wanted}, SUGGEST_CONTINUE_AS_NEW)
    web = StubWeb().start()
    web.searxng_results = [
        {"url": f"{web.base_url}/article.html", "title": "Flywheels", "content": "rotors"},
        {"url": f"{web.base_url}/paper.pdf", "title": "CAES paper", "content": "caverns"},
    ]
    try:
        scenarios = {n: partial(s, web) for n, s in WEB.items() if n in wanted}
        searxng = {
            "search_providers": ["local", "searxng"],
            "searxng_url": web.base_url,
            "allow_private_fetch": True,  # the stub web is on loopback
        }
        await record(scenarios, {}, searxng)
    finally:
        web.stop()
    receiver = WebhookReceiver("record-secret").start()
    try:
        scenarios = {n: partial(s, receiver) for n, s in NOTIFY.items() if n in wanted}
        await record(scenarios, {}, {"notify_allow_private": True})
    finally:
        receiver.stop()


async def record(
    scenarios: dict[str, Scenario],
    dynamic_config: dict[str, str],
    settings_update: dict[str, object] | None = None,
    lying_writer: bool = False,
) -> None:
    if not scenarios:
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = TemporalDevServer(
            port=free_port(),
            ui_port=None,
            db_path=data / "t.sqlite",
            dynamic_config=dynamic_config,
        )
        server.start()
        fake = FakeLLM()
        fake.start()
        settings = stack_settings(server.address, fake.base_url, data, "record")
        settings = settings.model_copy(update=settings_update or {})
        try:
            client = await connect(server.address)
            async with AsyncExitStack() as running:
                queue = settings.task_queue
                if lying_writer:
                    own, writer = await running.enter_async_context(claims_worker(client, settings))
                    queue, writer.lie = own.task_queue, True
                else:
                    activities = await asyncio.to_thread(build_activities, settings)
                    await running.enter_async_context(build_worker(client, settings, activities))
                for name, scenario in scenarios.items():
                    handle = await scenario(client, queue)
                    try:
                        await asyncio.wait_for(handle.result(), 60)
                    except Exception as exc:  # a cancelled run ends in an error; record it too
                        print(f"{name}: ended with {type(exc).__name__}")
                    if name in CHAINED:
                        chain = await chain_of(client, handle.id)
                        assert len(chain) >= 2, f"{name} never continued as new"
                        files = {f"{name}_first": chain[0], f"{name}_last": chain[-1]}
                    else:
                        files = {name: await handle.fetch_history()}
                    for stem, history in files.items():
                        (HERE / f"{stem}.json").write_text(history.to_json())
                        print(f"recorded {stem}: {len(history.events)} events")
        finally:
            fake.stop()
            server.stop()


async def chain_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every Temporal run of one workflow id, first to last (each start names the run before)."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.insert(0, history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return histories
        run_id = started.continued_execution_run_id


if __name__ == "__main__":
    run_then_exit(main(sys.argv[1:]))
