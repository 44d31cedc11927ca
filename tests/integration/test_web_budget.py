"""The web page at a budget pause, in headless Chromium against the real API, worker and server.

A person sees what the run spent, is told by the API what going on needs, extends the budget
with new limits and the run completes; on a second run they stop it instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from domain.run import RunStatus
from settings import PROJECT_ROOT
from tests.fakes.llm_server import FakeLLM
from tests.helpers import pending_kind, wait_for_status
from tests.helpers.frontends import CHROMIUM, CHROMIUM_ARGS, STEP, needs_chromium
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import Page, async_playwright, expect

pytestmark = needs_chromium
SHOTS = PROJECT_ROOT / "test-artifacts" / "web-budget"


@pytest.fixture
async def page(base_url: str) -> AsyncIterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                base_url=base_url, viewport={"width": 1280, "height": 900}
            )
            yield await context.new_page()
        finally:
            await browser.close()


async def start_over_budget(base_url: str, client: Client, run_id: str) -> None:
    """A run whose one-token budget runs out at its first LLM call."""
    options = {"depth": 1, "clarify": False, "require_acceptance": False, "max_tokens": 1}
    body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
    async with httpx.AsyncClient(base_url=base_url) as http:
        resp = await http.post("/api/v1/runs", json=body)
        assert resp.status_code == 202, resp.text
    handle = client.get_workflow_handle(research_workflow_id(run_id))
    await wait_for_status(handle, pending_kind("budget"))


async def test_budget_pause_extended_then_stopped_in_chromium(
    page: Page, base_url: str, worker: Worker, llm: FakeLLM, client: Client, run_id: str
) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    page.on("console", lambda msg: print(f"console.{msg.type}: {msg.text}"))
    try:
        await budget_flow(page, base_url, client, run_id)
    except BaseException:
        await page.screenshot(path=SHOTS / "failed.png", full_page=True)
        raise
    assert not script_errors, script_errors


async def budget_flow(page: Page, base_url: str, client: Client, run_id: str) -> None:
    await start_over_budget(base_url, client, run_id)
    await page.goto(f"/runs/{run_id}")
    pending = page.locator("#pending")
    await expect(pending.locator("h2")).to_have_text("The run's budget ran out", timeout=STEP)
    await expect(page.locator("#budget-reason")).to_contain_text("tokens used")
    spent = page.locator("#budget-spent")
    await expect(spent).to_contain_text("Tokens")
    await expect(spent).to_contain_text("$0.0000")  # the scripted model is not priced
    await expect(page.locator("#progress")).to_contain_text("Cost")

    # Going on without a limit: the API's own message says what is missing.
    extend = page.get_by_role("button", name="Extend and go on")
    await extend.click()
    refusal = page.locator("#budget-form .alert")
    await expect(refusal).to_contain_text("send the new limits")
    await expect(refusal).to_contain_text("invalid_decision")
    await page.fill("#budget-max_tokens", "1000000")
    await page.fill("#budget-max_duration", "PT2H")
    await page.screenshot(path=SHOTS / "01-budget-form.png", full_page=True)
    await extend.click()
    await expect(pending.locator(".notice")).to_contain_text("Budget extended")
    await expect(page.locator("#status")).to_have_text("completed", timeout=STEP)
    await expect(page.locator("#events")).to_contain_text("budget", timeout=STEP)
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    extended = [e.data for e in events if e.type == "budget_extended"]
    assert extended == [{"max_tokens": 1_000_000, "max_cost_usd": None, "max_duration": "PT2H"}]

    # A second run: the person stops it at the pause instead.
    stopped = f"{run_id}-stop"
    await start_over_budget(base_url, client, stopped)
    await page.goto(f"/runs/{stopped}")
    await expect(pending.locator("h2")).to_have_text("The run's budget ran out", timeout=STEP)
    await page.get_by_role("button", name="Stop with a partial report").click()
    await expect(page.locator("#status")).to_have_text("stopped", timeout=STEP)
    await page.screenshot(path=SHOTS / "02-stopped.png", full_page=True)
    handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(stopped))
    final = await handle.result()
    assert final.status == RunStatus.stopped
    events = (await handle.query(ResearchWorkflow.get_events, 0)).events
    decisions = [e.data for e in events if e.type == "input_received"]
    assert decisions == [{"kind": "budget decision", "by": "anonymous", "accepted": False}]
