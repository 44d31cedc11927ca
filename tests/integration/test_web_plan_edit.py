"""The plan edit on the web page, in real headless Chromium against the real API and worker.

The page shows the drafted plan as editable items, one per line; a bad edit is refused with the
API's own message, and the accepted edit is the plan the run researches. A screenshot of the
edit box goes to test-artifacts/web-plan/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.worker import Worker

from domain.plan import plan_lines, plan_text
from settings import PROJECT_ROOT
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import CHROMIUM, CHROMIUM_ARGS, RUNS, STEP, needs_chromium, poll

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import Page, async_playwright, expect

SHOTS = PROJECT_ROOT / "test-artifacts" / "web-plan"
EDITED = ["Flywheel spinning reserve response times", "Sodium sulfur battery lifetimes"]

pytestmark = needs_chromium


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


async def test_a_reviewer_edits_the_plan_on_the_page(
    page: Page, base_url: str, worker: Worker, llm: FakeLLM, run_id: str
) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    options = {
        "clarify": False,
        "require_plan_approval": True,
        "require_acceptance": False,
        "depth": 1,
    }
    body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
    async with httpx.AsyncClient(base_url=base_url) as api:
        assert (
            await api.post(RUNS, json=body | {"options": options | {"depth": 1}})
        ).status_code == 202
        drafted = plan_lines((await poll(api, run_id, lambda v: v["pending"] is not None))["plan"])

        await page.goto(f"/runs/{run_id}")
        box = page.locator("#plan-edit")
        await expect(box).to_be_visible(timeout=STEP)
        # The draft's items, one per line, without their numbers.
        await expect(box).to_have_value("\n".join(drafted))

        await box.fill("ab")
        await page.click("#accept-edited")
        refusal = page.locator("#decision-form .alert")
        await expect(refusal).to_contain_text("invalid_plan")
        await expect(refusal).to_contain_text("item 1 has 2 characters")

        await box.fill("\n".join([EDITED[0], "", f"  {EDITED[1]}  "]))
        await page.screenshot(path=SHOTS / "plan-edit.png", full_page=True)
        await page.click("#accept-edited")
        await expect(page.locator("#pending .notice")).to_contain_text("Edited plan accepted")

        final = await poll(api, run_id, lambda v: v["status"].startswith("completed"))
        assert final["plan"] == plan_text(EDITED)
    assert not script_errors, script_errors
