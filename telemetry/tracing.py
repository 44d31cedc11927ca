"""OpenTelemetry: one trace from the HTTP request through the workflow to each activity.

`temporalio.contrib.opentelemetry.TracingInterceptor` on the client carries the trace context in
Temporal headers, so the workflow and activity spans (on any worker) join the API's trace. Spans
are exported by OTLP/HTTP only when RESEARCH_OTLP_ENDPOINT is set; otherwise the global tracer
provider stays the no-op one and tracing costs next to nothing.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

log = logging.getLogger(__name__)

TRACER_NAME = "durable-research"
_configured: TracerProvider | None = None


def configure_tracing(otlp_endpoint: str | None, service_name: str) -> TracerProvider | None:
    """Install an OTLP-exporting tracer provider as the global one, once per process."""
    global _configured
    if not otlp_endpoint:
        return None
    if _configured is not None:
        return _configured
    # Imported here: the exporter pulls in protobuf and requests, needed only when exporting.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"  # accept the collector's base URL, as OTEL_* variables do
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = provider
    log.info("exporting traces to %s as %s", endpoint, service_name)
    return provider


def get_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """A tracer from `provider`, or from the global provider (a no-op one unless configured)."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


def temporal_interceptors(provider: trace.TracerProvider | None = None) -> list[Interceptor]:
    """Client interceptors; a worker built on the client inherits them for its workflows and
    activities."""
    return [TracingInterceptor(get_tracer(provider))]
