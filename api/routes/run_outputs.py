"""What a finished run produced: the report and the sources bundle, read from the artifact store.

Large texts never travel through Temporal (payload limit); the run's view only holds their keys.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from api.claims_html import claims_page_html
from api.claims_json import cited_passages, report_json_from_doc
from api.deps import ArtifactsDep, RunHandleDep, SettingsDep
from api.errors import ApiError
from api.exports import EXPORT_FORMATS, ExportFormat
from api.exports.dispatch import EXPORT_CONTENT, export_response
from api.exports.document import read_artifact
from api.markdown_html import fragment_html
from api.render import markdown_sections, markdown_to_html, numbered_sources, report_citations
from api.report_schemas import ReportJson
from api.routes import API_PREFIX, error_responses
from api.views import resolve_run_view
from domain.report import ReportDoc
from domain.run import TERMINAL_STATUSES, RunView
from providers.artifacts import ArtifactStore

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/runs", tags=["runs"])

ReportFormat = Literal["md", "json", "html", "pdf", "docx", "bundle"]

# A report is text that a model wrote from pages anyone could publish, served from the origin
# where the web page keeps the API key: as HTML it may carry its own inline style and nothing
# else (no script, image, frame, form or base URL), and no format may be sniffed into HTML.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
REPORT_HTML_HEADERS = {
    **NOSNIFF,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}

REPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as Markdown, HTML, JSON, PDF, DOCX or a zip (by `format`)",
        "content": {
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
            "application/json": {"schema": ReportJson.model_json_schema()},
            **EXPORT_CONTENT,
        },
    }
}


def require_finished(view: RunView) -> None:
    if view.status not in TERMINAL_STATUSES:
        raise ApiError(
            409,
            "run_not_finished",
            "the run has not finished yet",
            {"status": view.status.value, "stage": view.stage.value},
        )


@router.get(
    "/{run_id}/report",
    response_class=Response,
    responses={**REPORT_CONTENT, **error_responses(404, 409, 422, 500, 503)},
)
async def get_report(
    handle: RunHandleDep,
    settings: SettingsDep,
    artifacts: ArtifactsDep,
    fmt: Annotated[ReportFormat, Query(alias="format")] = "md",
) -> Response:
    """The final report: Markdown (default), HTML with linked citations, or JSON with sections,
    citations, sources and `html` (the body as sanitised HTML for a page, citations as buttons);
    or, as a download, PDF, DOCX or a zip bundle of every format with the claims' passages, the
    sources' texts and hashes and a run manifest (api/exports);
    a report written as claims adds each claim with its evidence and support.
    """
    view, _ = await resolve_run_view(handle, settings)
    require_finished(view)
    if not view.report_ref and not view.report_json_ref:
        raise ApiError(
            409,
            "no_report",
            "the run finished without a report",
            {"status": view.status.value, "finish_reason": view.finish_reason},
        )
    if fmt in EXPORT_FORMATS:  # downloads read the claims themselves, or the Markdown of old runs
        return await export_response(cast(ExportFormat, fmt), handle, view, artifacts, settings)
    if view.report_json_ref:
        return await _claims_report(artifacts, view, fmt)
    assert view.report_ref is not None
    markdown: str = await read_artifact(artifacts, view.report_ref, as_json=False)
    if fmt == "md":
        return PlainTextResponse(
            markdown, media_type="text/markdown; charset=utf-8", headers=NOSNIFF
        )
    sources = (
        await read_artifact(artifacts, view.sources_ref, as_json=True) if view.sources_ref else None
    )
    if fmt == "html":
        html = markdown_to_html(markdown, title=view.question, sources=sources)
        return HTMLResponse(html, headers=REPORT_HTML_HEADERS)
    sections = markdown_sections(markdown)
    body = ReportJson(
        run_id=view.run_id,
        status=view.status,
        finish_reason=view.finish_reason,
        markdown=markdown,
        html=fragment_html(markdown),
        sections=sections,
        citations=report_citations(sections, sources),
        sources=sources,
    )
    return JSONResponse(body.model_dump(mode="json"), headers=NOSNIFF)


async def _claims_report(artifacts: ArtifactStore, view: RunView, fmt: ReportFormat) -> Response:
    """A report written as claims: JSON and HTML from its ReportDoc, Markdown as saved."""
    markdown = (
        await read_artifact(artifacts, view.report_ref, as_json=False) if view.report_ref else None
    )
    if fmt == "md":
        text = (
            markdown if markdown is not None else (await _report_doc(artifacts, view)).to_markdown()
        )
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers=NOSNIFF)
    doc = await _report_doc(artifacts, view)
    sources = (
        await read_artifact(artifacts, view.sources_ref, as_json=True) if view.sources_ref else None
    )
    if fmt == "html":
        page = claims_page_html(doc, view.question, numbered_sources(sources), cited_passages(doc))
        return HTMLResponse(page, headers=REPORT_HTML_HEADERS)
    body = report_json_from_doc(view, doc, markdown, sources)
    return JSONResponse(body.model_dump(mode="json"), headers=NOSNIFF)


async def _report_doc(artifacts: ArtifactStore, view: RunView) -> ReportDoc:
    raw = await read_artifact(artifacts, view.report_json_ref or "", as_json=True)
    try:
        return ReportDoc.model_validate(raw)
    except ValidationError as err:
        # Written by our own worker, so a mismatch is a version skew between worker and API.
        log.warning("report %s is not a ReportDoc: %s", view.report_json_ref, err)
        raise ApiError(
            500,
            "report_unreadable",
            "the run's report is not in a form this API reads",
            {"key": view.report_json_ref},
        ) from err


@router.get("/{run_id}/sources", responses=error_responses(404, 409, 503))
async def get_sources(
    handle: RunHandleDep, settings: SettingsDep, artifacts: ArtifactsDep
) -> JSONResponse:
    """Every source the run read, with the passages it cited."""
    view, _ = await resolve_run_view(handle, settings)
    if not view.sources_ref:
        raise ApiError(
            409,
            "sources_not_ready",
            "the run has not written its sources yet",
            {"status": view.status.value, "stage": view.stage.value},
        )
    return JSONResponse(await read_artifact(artifacts, view.sources_ref, as_json=True))
