"""The run page in real headless Chromium for a report written as claims: each claim with its
support badge and citations, the exact quote and passage on a click, the counts, and removed
claims collapsed with their reason. Hostile text in claims and quotes stays text.

The API is the real app on a real port; its Temporal client is a fake whose run answers with a
finished view, over artifacts the test wrote (tests/helpers/claims_report.py). No Temporal
server is needed: the writer and the support check that make these artifacts are tested on
their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from settings import PROJECT_ROOT
from tests.helpers.claims_report import HOSTILE, PASSAGE_1, QUOTE_1, serve_claims_run
from tests.helpers.frontends import CHROMIUM, CHROMIUM_ARGS, STEP, needs_chromium

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import Page, Route, async_playwright, expect

SHOTS = PROJECT_ROOT / "test-artifacts" / "web-claims"
RUN_ID = "r-claims"

pytestmark = needs_chromium


@pytest.fixture
async def claims_api(tmp_path: Path) -> AsyncIterator[str]:
    async with serve_claims_run(tmp_path, RUN_ID) as url:
        yield url


@pytest.fixture
async def page(claims_api: str) -> AsyncIterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                base_url=claims_api, viewport={"width": 1280, "height": 900}
            )
            page = await context.new_page()

            # The fake run has no event history: the stream says it has ended.
            async def no_events(route: Route) -> None:
                await route.fulfill(status=204)

            await page.route("**/api/v1/runs/*/events*", no_events)
            yield page
        finally:
            await browser.close()


async def test_the_reviewer_sees_claims_support_and_quotes(page: Page) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    page.on("dialog", lambda d: script_errors.append(f"a dialog opened: {d.message}"))
    try:
        await check_claims_page(page)
    except BaseException:
        await page.screenshot(path=SHOTS / "failed.png", full_page=True)
        raise
    assert not script_errors, script_errors


async def check_claims_page(page: Page) -> None:
    await page.goto(f"/runs/{RUN_ID}")
    report = page.locator("#report-content")
    await expect(report).to_be_visible(timeout=STEP)
    await expect(report.locator(".claim-counts")).to_have_text("2 claims, 2 supported, 1 removed")
    # Each kept claim with its badge; hostile text shown as text, never as an element.
    first = report.locator("#claim-s1c1")
    await expect(first.locator(".claim-text")).to_contain_text(HOSTILE)
    await expect(first.locator(".support")).to_have_text("supported")
    assert await report.locator("script, img, b").count() == 0
    await expect(report.locator("section.report-section li.claim")).to_have_count(2)
    # The progress panel counts them too.
    await expect(page.locator("#progress")).to_contain_text("2 (2 supported, 1 removed)")
    # Removed claims: collapsed, with their reason.
    removed = report.locator("details.removed")
    await expect(removed.locator("summary")).to_have_text("1 claim removed")
    await expect(removed.locator("li.claim")).to_be_hidden()
    await removed.locator("summary").click()
    await expect(removed.locator("li.claim .reason")).to_contain_text("quote not found")
    await expect(removed.locator(".support")).to_have_text("unsupported")
    # The sources list counts the passages the claims cite (sources.json marks none).
    sources = page.locator("#source-list li")
    await expect(sources.first).to_contain_text("1 cited passage")
    await page.screenshot(path=SHOTS / "01-claims.png", full_page=True)

    # A citation opens the exact quote, and the passage it comes from with the quote marked.
    await first.locator("button.cite").click()
    dialog = page.locator("#source-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("blockquote.quote")).to_have_text(QUOTE_1)
    quoted = dialog.locator(".passage.quoted")
    await expect(quoted).to_contain_text(PASSAGE_1)
    await expect(quoted.locator("mark")).to_have_text(QUOTE_1)
    assert await dialog.locator("b").count() == 0  # the quote's <b> is text
    await page.screenshot(path=SHOTS / "02-quote.png")
    await dialog.locator("button.close").click()
    await expect(dialog).to_be_hidden()

    # The second claim cites two sources; its second button is source 1's passage again.
    buttons = report.locator("#claim-s2c1 button.cite")
    await expect(buttons).to_have_count(2)
    await buttons.nth(0).click()
    await expect(dialog.locator("h2")).to_contain_text("[2] Batteries")
    await expect(dialog.locator(".passage.quoted mark")).to_contain_text("costs fell by 89%")
    await dialog.locator("button.close").click()
