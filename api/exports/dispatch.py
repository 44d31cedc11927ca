"""The report route's hook for PDF, DOCX and bundle: read, render off the event loop, answer.

Rendering is CPU work (reportlab, python-docx, zip): it runs on a thread so one large report
never stalls the API's other requests.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi.responses import Response
from temporalio.client import WorkflowHandle

from api.exports import ExportFormat
from api.exports.bundle import build_bundle
from api.exports.document import ExportSource, load_export_source
from api.exports.pdf import report_pdf
from api.exports.word import report_docx
from api.temporal import temporal_calls
from domain.run import RunView
from providers.artifacts import ArtifactStore
from settings import Settings

MEDIA_TYPES: dict[ExportFormat, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "bundle": "application/zip",
}
# The OpenAPI description of these bodies, merged into the report route's responses.
EXPORT_CONTENT: dict[str, dict[str, Any]] = {
    media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
}


def filename(view: RunView, fmt: ExportFormat) -> str:
    """The download's name; run ids are `[A-Za-z0-9_.-]` (api/schemas.ID_PATTERN), no quoting."""
    suffix = {"pdf": ".pdf", "docx": ".docx", "bundle": "-bundle.zip"}[fmt]
    return f"report-{view.run_id}{suffix}"


async def export_response(
    fmt: ExportFormat,
    handle: WorkflowHandle[Any, Any],
    view: RunView,
    artifacts: ArtifactStore,
    settings: Settings,
) -> Response:
    """The finished run's report as `fmt`, as an attachment (the caller checked it finished
    with a report)."""
    source = await load_export_source(view, artifacts)
    if fmt == "pdf":
        body = await asyncio.to_thread(report_pdf, source.doc)
    elif fmt == "docx":
        body = await asyncio.to_thread(report_docx, source.doc)
    else:
        texts = await asyncio.to_thread(source_texts, source, artifacts)
        manifest = await run_manifest(handle, view, source, settings)
        body = await asyncio.to_thread(build_bundle, view, source, texts, manifest)
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename(view, fmt)}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def source_texts(source: ExportSource, artifacts: ArtifactStore) -> dict[int, str | None]:
    """Each source's full text by number; None when its artifact is not in the store (or its
    recorded key is not a key of this store)."""
    found: dict[int, str | None] = {}
    for item in source.sources:
        number, key = item.get("number"), item.get("artifact_ref")
        if not isinstance(number, int):
            continue
        try:
            ok = isinstance(key, str) and artifacts.exists(key)
        except ValueError:  # a key that would leave the store
            ok = False
        found[number] = artifacts.read_text(key) if ok and isinstance(key, str) else None
    return found


async def run_manifest(
    handle: WorkflowHandle[Any, Any], view: RunView, source: ExportSource, settings: Settings
) -> dict[str, Any]:
    """What made this report: the run, its options, models, usage, timings and Temporal ids."""
    async with temporal_calls("run"):
        desc = await handle.describe(rpc_timeout=timedelta(seconds=settings.api_query_timeout_s))
    duration = (view.finished_at - view.created_at).total_seconds() if view.finished_at else None
    return {
        "run": {
            "run_id": view.run_id,
            "question": view.question,
            "status": view.status.value,
            "finish_reason": view.finish_reason,
            "error": view.error,
            "report_revision": source.doc.revision,
            "report_ref": view.report_ref,
            "report_json_ref": view.report_json_ref,
        },
        "timings": {
            "created_at": view.created_at.isoformat(),
            "finished_at": view.finished_at.isoformat() if view.finished_at else None,
            "duration_s": duration,
        },
        "usage": view.usage.model_dump(mode="json"),
        "progress": view.progress.model_dump(mode="json"),
        "options": view.options.model_dump(mode="json"),
        # The deployment's models as the API is configured now: a run records no model name
        # of its own, so a deployment that changed models since the run says the new ones.
        "models": {
            "llm_provider": settings.llm_provider,
            "llm_model": settings.llm_model,
            "llm_temperature": settings.llm_temperature,
            "llm_max_tokens": settings.llm_max_tokens,
            "llm_report_max_tokens": settings.llm_report_max_tokens,
            "search_providers": list(settings.search_providers),
        },
        "temporal": {
            "namespace": settings.temporal_namespace,
            "task_queue": settings.task_queue,
            "workflow_id": desc.id,
            "run_id": desc.run_id,
            "workflow_type": desc.workflow_type,
            "status": desc.status.name if desc.status is not None else None,
            "start_time": desc.start_time.isoformat() if desc.start_time else None,
            "close_time": desc.close_time.isoformat() if desc.close_time else None,
        },
    }
