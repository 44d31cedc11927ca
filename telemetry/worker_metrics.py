"""The worker's Prometheus endpoint: Temporal SDK metrics plus the run-level metrics.

Temporal's Rust core serves it (`PrometheusConfig`) on RESEARCH_WORKER_METRICS_BIND, a port
of the worker's own. Run-level metrics go through the same runtime:
- `research_runs_finished{status}` and `research_human_wait_seconds{kind}` from the workflow
  (`workflow.metric_meter()`, which is silent during replay, so nothing is counted twice);
- `research_llm_tokens{kind,model}` from the LLM activity, so tokens spent by an attempt whose
  result was lost (a killed worker) are still counted: they were paid for.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.run import Usage

LLM_TOKENS_METRIC = "research_llm_tokens"
HUMAN_WAIT_BUCKETS = [60, 600, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400]


def build_runtime(bind_address: str | None) -> Runtime | None:
    """A runtime serving Prometheus metrics on `bind_address`, or None for the default one."""
    if not bind_address:
        return None
    prometheus = PrometheusConfig(
        bind_address=bind_address,
        histogram_bucket_overrides={"research_human_wait_seconds": HUMAN_WAIT_BUCKETS},
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


def record_llm_usage(model: str, usage: Usage) -> None:
    """Count one LLM reply's tokens on the worker's endpoint (no-op outside an activity)."""
    if not activity.in_activity():
        return
    counter = activity.metric_meter().create_counter(
        LLM_TOKENS_METRIC, "Tokens used by LLM calls, by kind (prompt or completion)"
    )
    counter.add(usage.prompt_tokens, {"kind": "prompt", "model": model})
    counter.add(usage.completion_tokens, {"kind": "completion", "model": model})
