"""The FastAPI app: a thin facade over the Temporal client (it keeps no run state of its own).

Run with `uvicorn api.main:app`, or build a configured app with `create_app(settings)`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.trace import TracerProvider

from api import web
from api.auth import check_exposure, describe_auth
from api.contracts import execution_api, jobs_api, ops, research_api, workflows_api
from api.errors import ApiError, install_error_handlers
from api.guard import GuardMiddleware
from api.limits import StreamSlots
from api.middleware import RequestContextMiddleware
from api.owners import OwnerCache
from api.routes import (
    approvals,
    claims,
    events,
    followups,
    meta,
    run_actions,
    run_files,
    run_outputs,
    runs,
)
from api.routes import codec as codec_server
from api.routes.codec import CodecCORS, codec_origins
from api.temporal import TemporalConnector
from codec import payload_codec
from providers.artifacts import ArtifactStore
from settings import Settings, get_settings
from telemetry.logs import configure_logging
from telemetry.tracing import configure_tracing, get_tracer, temporal_interceptors

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Durable, human-in-the-loop research runs on Temporal. Every error has the shape "
    "`{error_code, message, details, request_id}`; send `X-Request-ID` to choose the id."
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # Here rather than in create_app: importing this module (tests, tools) must not fail, but a
    # server about to listen must. uvicorn prints the error and exits.
    check_exposure(settings)
    # A warning when off, so it shows in the default (text) log config too.
    log.log(
        logging.INFO if settings.auth_enabled else logging.WARNING,
        "API auth: %s",
        describe_auth(settings),
    )
    connector: TemporalConnector = app.state.temporal
    try:
        await connector.get()
    except ApiError:
        # Not fatal: /health answers, /ready says 503, and each request tries to connect again.
        log.warning("starting without Temporal; will keep trying on demand")
    yield


def create_app(
    settings: Settings | None = None, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """`tracer_provider` defaults to the global one (OTLP-exporting when configured)."""
    settings = settings or get_settings()
    if settings.log_format == "json":
        configure_logging(settings.log_format, settings.log_level)
    tracer_provider = tracer_provider or configure_tracing(settings.otlp_endpoint, "research-api")
    app = FastAPI(
        title="Durable research",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    # State, not globals: tests build several apps side by side and swap these through deps.
    app.state.settings = settings
    app.state.temporal = TemporalConnector(settings, temporal_interceptors(tracer_provider))
    app.state.artifacts = ArtifactStore(settings.artifacts_dir)
    app.state.owners = OwnerCache()
    app.state.streams = StreamSlots(settings.api_max_streams_per_key)

    install_error_handlers(app)
    # Added first, so it runs inside the request context (ids and metrics on its refusals).
    app.add_middleware(GuardMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware, tracer=get_tracer(tracer_provider))
    # The web page goes last: its `/` and `/runs/{id}` must never shadow an API route.
    routers = (
        runs,
        followups,
        run_actions,
        claims,
        run_outputs,
        run_files,
        events,
        approvals,
        meta,
    )
    for module in routers:
        app.include_router(module.router)
    # The seeds' own contracts (api/contracts/), before the web page like every API route.
    app.include_router(research_api.router)
    app.include_router(ops.router)
    app.include_router(jobs_api.router)
    app.include_router(workflows_api.router)
    app.include_router(execution_api.router)
    app.include_router(execution_api.nested_router)
    app.include_router(execution_api.ws_router)
    app.include_router(web.router)
    app.state.payload_codec = payload_codec(settings)
    if app.state.payload_codec is not None:
        # The codec server for the Web UI, only where there is something to decrypt.
        app.include_router(codec_server.router)
        app.add_middleware(CodecCORS, origins=codec_origins(settings))
    return app


app = create_app()
