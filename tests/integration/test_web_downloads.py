"""A finished run's downloads on the web page, in real headless Chromium, with API keys on.

The page lists the report's formats; a click fetches the file with the key the person typed
(a plain link would carry none and is refused) and hands it to the browser as a download: the
PDF is a real PDF, the DOCX and the bundle real zips, each named as the API names it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from settings import PROJECT_ROOT, Settings
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FAST,
    RUNS,
    STEP,
    api_in_loop,
    needs_chromium,
    poll,
    with_keys,
)

pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
from playwright.async_api import Page, async_playwright, expect

SHOTS = PROJECT_ROOT / "test-artifacts" / "web-downloads"
KEY = f"ada-key-{uuid.uuid4().hex[:8]}"
# Link text and file signature: PDF files start with %PDF, DOCX and zip files are zips (PK).
LINKS = ["Markdown", "PDF", "DOCX", "HTML", "JSON", "Bundle (zip)"]
SIGNATURES = {"pdf": (b"%PDF-", ".pdf"), "docx": (b"PK", ".docx"), "bundle": (b"PK", "-bundle.zip")}

pytestmark = needs_chromium


@pytest.fixture
async def keyed_url(client: Client, settings: Settings) -> AsyncIterator[str]:
    """The API with keys on, on a real port in the test's event loop."""
    async with api_in_loop(create_app(with_keys(settings, {KEY: "ada"})), client) as url:
        yield url


@pytest.fixture
async def page(keyed_url: str) -> AsyncIterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                base_url=keyed_url, viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            # As if typed into the key field earlier (common.js keeps it in localStorage).
            await context.add_init_script(f"localStorage.setItem('research-api-key', '{KEY}')")
            yield await context.new_page()
        finally:
            await browser.close()


async def test_a_finished_runs_page_downloads_its_report(
    page: Page, keyed_url: str, worker: Worker, llm: FakeLLM, run_id: str
) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda err: script_errors.append(str(err)))
    options = {**FAST, "clarify": False, "require_acceptance": False}
    body = {"question": "How is grid energy stored?", "run_id": run_id, "options": options}
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=keyed_url, headers=headers) as api:
        assert (await api.post(RUNS, json=body)).status_code == 202
        final = await poll(api, run_id, lambda v: v["stage"] == "finished")
    assert final["status"].startswith("completed"), final

    await page.goto(f"/runs/{run_id}")
    await expect(page.locator("#report-content")).to_be_visible(timeout=STEP)
    links = page.locator("#report .formats a")
    await expect(links).to_have_text(LINKS)
    await page.locator("#report").screenshot(path=SHOTS / "downloads.png")

    # The link's own address, fetched without the key, is refused: the click must add it.
    pdf_link = links.filter(has_text="PDF")
    href = await pdf_link.get_attribute("href")
    assert href == f"/api/v1/runs/{run_id}/report?format=pdf"
    assert (await page.request.get(href)).status == 401

    for fmt, (magic, suffix) in SIGNATURES.items():
        async with page.expect_download() as info:
            await links.and_(page.locator(f"[data-format={fmt}]")).click()
        download = await info.value
        assert download.suggested_filename == f"report-{run_id}{suffix}"
        data = (await download.path()).read_bytes()
        assert data.startswith(magic), (fmt, data[:16])
    await expect(page.locator("#report .alert:visible")).to_have_count(0)
    assert not script_errors, script_errors
