"""The web page in real headless Chromium, against the real API, worker and Temporal server.

A person starts a run from the form, answers the questions, rejects the report with a comment,
accepts the revision and opens a citation. Each step leaves a screenshot in test-artifacts/web/.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.worker import Worker

from settings import PROJECT_ROOT
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import CHROMIUM, CHROMIUM_ARGS, STEP, needs_chromium

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import Page, Route, async_playwright, expect

SHOTS = PROJECT_ROOT / "test-artifacts" / "web"
# Markup in the question must come back as text: it is user input shown on every page.
QUESTION = "How is grid energy stored? <b>not bold</b>"

pytestmark = needs_chromium


@pytest.fixture
async def page(base_url: str) -> AsyncIterator[Page]:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                base_url=base_url, viewport={"width": 1280, "height": 900}
            )
            yield await context.new_page()
        finally:
            await browser.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


async def test_reviewer_flow_in_chromium(
    page: Page, base_url: str, worker: Worker, llm: FakeLLM, run_id: str
) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    # Printed only when the test fails, next to a screenshot of where it stopped.
    page.on("console", lambda msg: print(f"console.{msg.type}: {msg.text}"))
    try:
        await reviewer_flow(page, base_url, run_id)
    except BaseException:
        await shot(page, "failed")
        raise
    assert not script_errors, script_errors


async def reviewer_flow(page: Page, base_url: str, run_id: str) -> None:
    # Start a run from the form.
    await page.goto("/")
    await page.fill("#question", QUESTION)
    await page.click("details.options summary")
    await page.fill("#opt-depth", "1")
    await page.fill("#opt-breadth", "2")
    await page.fill("#run-id", run_id)
    await shot(page, "01-start-form")
    await page.click("#start-form button[type=submit]")
    await page.wait_for_url(f"**/runs/{run_id}")
    await expect(page.locator("#question")).to_have_text(QUESTION)

    # Answer the clarifying questions.
    questions = page.locator("#clarify-form")
    await expect(questions).to_be_visible(timeout=STEP)
    await expect(questions).to_contain_text("Which region?")
    await page.fill("#answer-q1", "the last decade")
    await page.fill("#answer-q2", "Europe")
    await shot(page, "02-questions")
    await page.click("#clarify-form button[type=submit]")

    # Reject the report: first without a comment, which the API refuses with its own message.
    content = page.locator("#pending-content")
    await expect(content.locator("h2")).to_have_text("Report", timeout=STEP)
    await page.click("text=Reject with comment")
    refusal = page.locator("#decision-form .alert")
    await expect(refusal).to_contain_text("a rejection needs a comment")
    await expect(refusal).to_contain_text("invalid_decision")
    await shot(page, "03-report-review-refused")
    await page.fill("#decision-comment", "say more about costs")
    await page.fill("#decision-form input.reviewer", "Ada Reviewer")
    # The API takes the rejection, but its reply is lost on the way back: the page sends the
    # same request again, the run answers it from its record, and the person sees it done.
    replies: list[tuple[int, str, dict]] = []

    async def lose_first_reply(route: Route) -> None:
        reply = await route.fetch()
        sent = route.request.post_data_json
        replies.append((reply.status, sent["request_id"], await reply.json()))
        if len(replies) == 1:
            await route.abort("connectionreset")
        else:
            await route.fulfill(response=reply)

    await page.route("**/api/v1/runs/*/acceptance", lose_first_reply)
    await page.click("text=Reject with comment")
    for _ in range(100):  # the page sends it again after half a second
        if len(replies) == 2:
            break
        await asyncio.sleep(0.1)
    await page.unroute("**/api/v1/runs/*/acceptance")
    # The repeat carries the same request id, and Temporal answers it with the first result.
    assert replies[0] == replies[1] and replies[0][0] == 200, replies

    # Accept the revision.
    await expect(content.locator("h2")).to_have_text("Revised report", timeout=STEP)
    await expect(page.locator("#pending")).to_contain_text("revision 1")
    # The name is remembered for the next form, and the decision is recorded as hers.
    await expect(page.locator("#decision-form input.reviewer")).to_have_value("Ada Reviewer")
    await shot(page, "04-revision-review")
    await page.click("#decision-form button.primary")

    # The finished report, its sources, and the live events that got it here.
    report = page.locator("#report-content")
    await expect(report).to_be_visible(timeout=STEP)
    await expect(page.locator("#status")).to_have_text("completed")
    await expect(page.locator("#source-list li").first).to_be_visible()
    # The events came over SSE (the API polls the run at most every few seconds), each once.
    await expect(page.locator("#events .ev-finished")).to_have_count(1, timeout=STEP)
    await expect(page.locator("#events")).to_contain_text("report decision from Ada Reviewer")
    # Applied once: one rejection and one acceptance, though the rejection was sent twice.
    await expect(page.locator("#events li", has_text="report decision from")).to_have_count(2)
    seqs = await page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.seq)")
    assert len(seqs) == len(set(seqs)) and "1" in seqs, seqs
    await shot(page, "05-report")

    # Open a citation: the dialog shows the passage the run cited from that source.
    citation = report.locator("button.cite").first
    number = int((await citation.inner_text()).strip("[]"))
    await citation.click()
    dialog = page.locator("#source-dialog")
    await expect(dialog).to_be_visible()
    async with httpx.AsyncClient(base_url=base_url) as http:
        sources = (await http.get(f"/api/v1/runs/{run_id}/sources")).json()
    source = next(s for s in sources if s["number"] == number)
    cited = [p for p in source["passages"] if p["cited"]]
    assert cited, source
    await expect(dialog.locator("h2")).to_contain_text(source["title"])
    await expect(dialog.locator(".passage.cited").first).to_contain_text(cited[0]["text"][:60])
    await page.screenshot(path=SHOTS / "06-citation.png")  # the viewport: the dialog is modal
    await dialog.locator("button.close").click()
    await expect(dialog).to_be_hidden()

    # The list shows the run, finished; an unknown run shows the API's message.
    await page.goto("/")
    # Filtered, as open runs of other tests sort first and could push this one off the page.
    await page.select_option("#status-filter", "completed")
    row = page.locator(f"tr[data-run-id='{run_id}']")
    await expect(row).to_contain_text("completed")
    await expect(row.locator("a")).to_have_text(QUESTION)
    await shot(page, "07-runs-list")
    await page.goto("/runs/no-such-run")
    await expect(page.locator("#page-error")).to_contain_text("no such run")
