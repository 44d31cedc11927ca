"""End-to-end on the real local model: one default research run on SmolLM2 via llama.cpp.

Full mode only. A person is played over the API: the clarifying questions are skipped and the
report is accepted as soon as they are asked for. Reports the run's duration, the time to the
first clarifying question, and completion tokens per second of the whole run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.report import Result
from bench.stack import BenchStack
from stack.llm_server import LlamaServer, default_model_path
from tests.conftest import free_port

ALIAS = "smollm2"


async def drive(stack: BenchStack, run_id: str) -> dict[str, Any]:
    """Start a default run, answer it as a person would, return its timings and usage."""
    t0 = time.perf_counter()
    await stack.post_run(run_id, {})
    first_question: float | None = None
    answered: set[str] = set()
    while True:
        view = (await stack.http.get(f"/api/v1/runs/{run_id}")).json()
        pending = view.get("pending")
        if pending and pending["kind"] not in answered:
            answered.add(pending["kind"])
            if pending["kind"] == "clarification":
                first_question = first_question or time.perf_counter() - t0
                body: dict[str, object] = {"skip": True}
                await stack.http.post(f"/api/v1/runs/{run_id}/clarification", json=body)
            else:
                body = {"accepted": True}
                await stack.http.post(f"/api/v1/runs/{run_id}/acceptance", json=body)
        if view["finished_at"]:
            return {
                "seconds": time.perf_counter() - t0,
                "first_question": first_question,
                "status": view["status"],
                **view["usage"],
            }
        await asyncio.sleep(0.2)


async def run(mode: str) -> Result:
    result = Result(
        "local_model",
        "End-to-end on the local model (SmolLM2-135M, llama.cpp)",
        [
            "run",
            "status",
            "duration s",
            "first question s",
            "LLM calls",
            "completion tokens",
            "tokens/s",
        ],
    )
    server = LlamaServer(model=default_model_path(), alias=ALIAS, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        extra: dict[str, object] = {
            "llm_base_url": server.base_url,
            "llm_model": ALIAS,
            "llm_structured_output": "llama_schema",
        }
        async with BenchStack(extra=extra) as stack:
            got = await drive(stack, "local-1")
    finally:
        await asyncio.to_thread(server.stop)
    rate = got["completion_tokens"] / got["seconds"]
    result.add(
        "default options",
        got["status"],
        got["seconds"],
        got["first_question"],
        got["llm_calls"],
        got["completion_tokens"],
        rate,
    )
    result.notes.append(
        "tokens/s = completion tokens over the whole run's wall time "
        "(searches, reads and orchestration included), questions skipped, "
        "report accepted at once."
    )
    return result
