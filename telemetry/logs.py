"""Logging setup: plain text by default, one JSON object per line with RESEARCH_LOG_FORMAT=json.

Every record carries the request id (set by the API middleware for the request's duration) and
the run id: from the API's route, or from the `temporal_workflow` / `temporal_activity` extras
that `workflow.logger` and `activity.logger` attach.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# The ASGI scope of the request in flight: the router fills in `path_params` after the
# middleware set this, so the run id is read when a record is written, not when it is set.
REQUEST_SCOPE: ContextVar[dict[str, Any] | None] = ContextVar("request_scope", default=None)

RUN_WORKFLOW_PREFIXES = ("research-", "approval-")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_id_from_workflow_id(workflow_id: str | None) -> str | None:
    for prefix in RUN_WORKFLOW_PREFIXES:
        if workflow_id and workflow_id.startswith(prefix):
            return workflow_id[len(prefix) :]
    return workflow_id


def record_context(record: logging.LogRecord) -> dict[str, Any]:
    """The ids a record belongs to: request, run, workflow, activity."""
    ctx: dict[str, Any] = {}
    if request_id := REQUEST_ID.get():
        ctx["request_id"] = request_id
    scope = REQUEST_SCOPE.get()
    if scope and (path_run := scope.get("path_params", {}).get("run_id")):
        ctx["run_id"] = path_run
    wf = getattr(record, "temporal_workflow", None) or {}
    act = getattr(record, "temporal_activity", None) or {}
    workflow_id = wf.get("workflow_id") or act.get("workflow_id")
    if workflow_id:
        ctx["workflow_id"] = workflow_id
        ctx["run_id"] = run_id_from_workflow_id(workflow_id)
    if act:
        ctx["activity"] = act.get("activity_type")
        ctx["attempt"] = act.get("attempt")
    return ctx


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (Loki, CloudWatch, Elastic) to index."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **record_context(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Root handler for the worker and the API; replaces whatever handler was there."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers keep their own handlers otherwise, and would print plain text.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
