"""One trace from the HTTP request through the workflow to its activities, and JSON logs that
carry the request id and the run id (API side, workflow side, activity side)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.main import create_app
from runtime.temporal import connect
from settings import Settings
from telemetry.logs import JsonFormatter
from telemetry.tracing import temporal_interceptors
from worker import build_activities, build_worker
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, formatted as the JSON lines a shipper would read."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_from_http_request_to_activities_and_logs_carry_ids(
    settings: Settings, llm, run_id: str, json_logs: io.StringIO
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    own = settings.model_copy(update={"task_queue": f"traced-{uuid.uuid4().hex[:8]}"})
    client = await connect(own, interceptors=temporal_interceptors(provider))
    app = create_app(own, tracer_provider=provider)
    activities = await asyncio.to_thread(build_activities, own)
    transport = httpx.ASGITransport(app=app)
    async with (
        build_worker(client, own, activities),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api,
    ):
        body = {
            "question": "How is grid energy stored?",
            "run_id": run_id,
            "options": {"clarify": False, "require_acceptance": False, "depth": 1, "breadth": 1},
        }
        resp = await api.post("/api/v1/runs", json=body, headers={"X-Request-ID": "req-start"})
        assert resp.status_code == 202, resp.text
        handle = client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))
        final = await asyncio.wait_for(handle.result(), timeout=60)
        resp = await api.get(f"/api/v1/runs/{run_id}", headers={"X-Request-ID": "req-status"})
        assert resp.status_code == 200
    assert final.status.value == "completed"

    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    http = next(s for s in spans if s.name == "POST /api/v1/runs")
    assert http.kind == SpanKind.SERVER and http.parent is None
    assert http.attributes and http.attributes["request_id"] == "req-start"
    trace_spans = [s for s in spans if s.context.trace_id == http.context.trace_id]
    names = {s.name for s in trace_spans}
    assert {"StartWorkflow:ResearchWorkflow", "RunWorkflow:ResearchWorkflow"} <= names
    run_activity = [s for s in trace_spans if s.name.startswith("RunActivity:")]
    assert {s.name for s in run_activity} >= {
        "RunActivity:llm.plan",
        "RunActivity:search.provider",
        "RunActivity:llm.write_report",
    }
    # The interceptor's workflow spans are instants parented on the workflow's start (they
    # cannot stay open across replays), so the run and each scheduled activity hang under
    # StartWorkflow, which hangs under the HTTP request.
    run_workflow = next(s for s in trace_spans if s.name == "RunWorkflow:ResearchWorkflow")
    assert ancestors(run_workflow, by_id) == ["StartWorkflow:ResearchWorkflow", http.name]
    for span in run_activity:
        chain = ancestors(span, by_id)
        activity = span.name.removeprefix("RunActivity:")
        assert chain == [f"StartActivity:{activity}", "StartWorkflow:ResearchWorkflow", http.name]

    records = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    status_log = [r for r in records if r.get("request_id") == "req-status"]
    assert status_log and all(r["run_id"] == run_id for r in status_log)
    workflow_logs = [r for r in records if r["logger"] == "temporalio.workflow"]
    assert any("run finished: completed" in r["message"] for r in workflow_logs)
    assert all(r["run_id"] == run_id for r in workflow_logs if r.get("workflow_id") == handle.id)
    activity_logs = [r for r in records if r.get("activity") == "search.provider"]
    assert activity_logs and activity_logs[0]["run_id"] == run_id
