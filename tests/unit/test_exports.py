"""Reports people hand on (issue 15, item 6): PDF, DOCX and the zip bundle, through the API.

No Temporal server: the run's view is stubbed and its handle answers describe(); the report,
sources.json and each source's text are real artifacts in a temp store. The PDF is read back
with pypdf and one page rendered with pdftoppm; the DOCX is opened with python-docx.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import docx
import httpx
import pypdf
import pytest
from PIL import Image
from pydantic import SecretStr

from api.deps import get_run_handle
from api.main import create_app
from api.routes import run_outputs
from domain.report import ReportDoc
from domain.run import RunView
from providers.artifacts import ArtifactStore
from settings import Settings
from tests.helpers.offline_api import assert_error
from tests.helpers.report_artifacts import KARIKO, SOURCE_URL, TEXTS, report_doc, stored_view

URL = "/api/v1/runs/r1/report"


class Handle:
    """What the bundle asks Temporal: describe() for the workflow and run ids."""

    id = "research-r1"

    async def describe(self, **_: object) -> SimpleNamespace:
        times = {"status": None, "start_time": None, "close_time": None}
        return SimpleNamespace(id=self.id, run_id="temporal-run-1", workflow_type="W", **times)


async def serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_json: bool = True
) -> httpx.AsyncClient:
    settings = Settings(api_keys=SecretStr(""), data_dir=tmp_path)
    app = create_app(settings)
    store = ArtifactStore(settings.artifacts_dir)
    view = stored_view(store, with_json=with_json)

    async def resolved(*_: object) -> tuple[RunView, str]:
        return view, "memo"

    monkeypatch.setattr(run_outputs, "resolve_run_view", resolved)
    app.state.artifacts = store
    app.dependency_overrides[get_run_handle] = Handle
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    async with await serve(tmp_path, monkeypatch) as http:
        yield http


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


async def test_pdf_has_headings_claims_citations_and_linked_sources(api: httpx.AsyncClient) -> None:
    response = await api.get(URL, params={"format": "pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="report-r1.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    for expected in ("mRNA & the immune system", "Findings", "Sources", "Karikó", "≥", "αβγ"):
        assert expected in text, expected
    assert "[1]" in text and "[2]" in text and SOURCE_URL in text
    # Untrusted markup is shown as text, never interpreted.
    assert "<script>alert(1)</script>" in text and "<b>not bold</b>" in text
    page = pypdf.PdfReader(io.BytesIO(response.content)).pages[0]
    links = [a.get_object() for a in page.get("/Annots", [])]
    uris = [link["/A"]["/URI"] for link in links if "/A" in link]
    assert uris == [SOURCE_URL]  # the local path is not a link
    assert sum("/Dest" in link for link in links) == 2  # [1] and [2] jump to their sources


def render_first_page(pdf: bytes, folder: Path) -> bytes:
    (folder / "r.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "r.pdf", "page"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return next(folder.glob("page*.png")).read_bytes()


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
async def test_pdf_page_renders_to_png(api: httpx.AsyncClient, tmp_path: Path) -> None:
    response = await api.get(URL, params={"format": "pdf"})
    png = await asyncio.to_thread(render_first_page, response.content, tmp_path)
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.format is None and image.size[0] > 300  # A4 at 50 dpi is 413 px wide
    # Text was drawn: a share of the page is dark, and not all of it (a failed font is a blot).
    dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
    assert 0.001 < dark < 0.2, dark


async def test_docx_has_headings_citations_and_sources(api: httpx.AsyncClient) -> None:
    response = await api.get(URL, params={"format": "docx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["content-disposition"] == 'attachment; filename="report-r1.docx"'
    word = docx.Document(io.BytesIO(response.content))
    styled = [(p.style.name, p.text) for p in word.paragraphs]
    assert ("Title", "mRNA & the immune system") in styled
    headings = [text for style, text in styled if style == "Heading 1"]
    assert headings == ["Findings", "Sources"]
    claims = [text for style, text in styled if style == "List Bullet"]
    assert claims == [f"{KARIKO} [1]", "A second claim <b>not bold</b>. [2]"]
    sources = [text for _, text in styled[styled.index(("Heading 1", "Sources")) + 1 :]]
    assert sources == [
        f"[1] Source 1 <title> — {SOURCE_URL}",
        "[2] Source 2 <title> — corpus/local.md",
    ]
    external = [r.target_ref for r in word.part.rels.values() if r.is_external]
    assert external == [SOURCE_URL]
    xml = word.element.xml
    assert xml.count('w:anchor="source_1"') == 1 and 'w:name="source_1"' in xml


async def test_bundle_has_every_format_claims_sources_hashes_and_manifest(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get(URL, params={"format": "bundle"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="report-r1-bundle.zip"'
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    files = {name.removeprefix("r1/"): zf.read(name) for name in zf.namelist()}
    expected = {"report.md", "report.html", "report.json", "report.pdf", "report.docx"}
    assert expected | {"claims.json", "sources.json", "manifest.json", "SHA256SUMS"} <= set(files)
    assert ReportDoc.model_validate_json(files["report.json"]) == report_doc()
    claims = json.loads(files["claims.json"])
    assert [(c["id"], c["kept"]) for c in claims] == [
        ("s1c1", True),
        ("s1c2", True),
        ("s1c3", False),
    ]
    assert claims[0]["evidence"][0]["passage_text"] == "passage one of 1"
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["sources"]:
        data = files[entry["file"]]
        assert data.decode() == TEXTS[entry["number"]]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["temporal"]["workflow_id"] == "research-r1"
    assert manifest["temporal"]["run_id"] == "temporal-run-1"
    assert manifest["usage"]["prompt_tokens"] == 1000 and manifest["usage"]["cost_usd"] == 0.01
    assert manifest["timings"]["duration_s"] == pytest.approx(180, abs=1)
    assert manifest["models"]["llm_model"] and manifest["options"]["max_sources"] == 8
    sums = dict(line.split("  ")[::-1] for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[name]).hexdigest() == digest for name, digest in sums.items())


async def test_a_run_without_report_json_exports_from_its_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await serve(tmp_path, monkeypatch, with_json=False) as api:
        response = await api.get(URL, params={"format": "pdf"})
        assert response.status_code == 200, response.text
        text = pdf_text(response.content)
        assert "predates checked claims" in text and "Karikó" in text and "[1]" in text
        assert SOURCE_URL in text
        bundle = zipfile.ZipFile(
            io.BytesIO((await api.get(URL, params={"format": "bundle"})).content)
        )
        assert json.loads(bundle.read("r1/manifest.json"))["legacy_report"] is True


async def test_unknown_format_is_422(api: httpx.AsyncClient) -> None:
    assert_error(await api.get(URL, params={"format": "odt"}), 422, "invalid_request")
