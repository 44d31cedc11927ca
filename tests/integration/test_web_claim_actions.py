"""The run page's Strike button in real headless Chromium, against the real app, worker and
Temporal server: a report written as claims (the stand-in writer of
tests/fakes/claims_writer.py) waits for review, the reviewer strikes one claim with a reason,
and the page shows it struck. A screenshot lands in test-artifacts/web-claims/.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from api.main import create_app
from settings import PROJECT_ROOT, Settings
from tests.fakes.claims_writer import ClaimsWriter, claims_worker
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RUNS,
    STEP,
    api_in_loop,
    needs_chromium,
    pending,
    poll,
)

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import async_playwright, expect

SHOTS = PROJECT_ROOT / "test-artifacts" / "web-claims"

pytestmark = needs_chromium


@pytest.fixture
async def served(client: Client, settings: Settings) -> AsyncIterator[tuple[str, ClaimsWriter]]:
    """The app on a real port, its runs on a worker whose writer writes claims."""
    async with claims_worker(client, settings) as (own, writer):
        async with api_in_loop(create_app(own), client) as url:
            yield url, writer


async def test_the_reviewer_strikes_a_claim_on_the_page(
    served: tuple[str, ClaimsWriter], llm: FakeLLM, run_id: str
) -> None:
    url, writer = served
    writer.lie = False
    async with httpx.AsyncClient(base_url=url) as api:
        body = {"question": "How is grid energy stored?", "run_id": run_id}
        body["options"] = {"clarify": False, "depth": 1, "breadth": 2}
        assert (await api.post(RUNS, json=body)).status_code == 202
        await poll(api, run_id, pending("report"))
        SHOTS.mkdir(parents=True, exist_ok=True)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(base_url=url)
                errors: list[str] = []
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept("off topic")))
                await page.goto(f"/runs/{run_id}")
                claim = page.locator('#pending-content li.claim[data-claim="s1c1"]')
                await expect(claim).to_have_attribute("data-support", "supported", timeout=STEP)
                await expect(claim.locator("button.find-source")).to_be_visible()
                await claim.locator("button.strike").click()
                # Struck: the page fetched the re-rendered report; the claim sits with the removed.
                struck = page.locator('details.removed li.claim[data-claim="s1c1"]')
                await expect(struck).to_have_attribute("data-support", "struck", timeout=STEP)
                await expect(struck).to_contain_text("off topic")
                await expect(struck.locator("button.strike")).to_have_count(0)
                await page.screenshot(path=SHOTS / "struck.png", full_page=True)
                assert errors == []
            finally:
                await browser.close()
        await api.post(f"{RUNS}/{run_id}/cancel")
