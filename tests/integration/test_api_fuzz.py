"""Schemathesis fuzzes the REST API against its own OpenAPI schema.

The rule: no response is a 5xx, and every response is documented (status code, content type,
headers) and matches its documented body. The app is the real one (`create_app`) on the tests'
Temporal dev server, with the session's worker answering queries and updates, so the fuzz
reaches Temporal instead of a mock. Besides random ids (which must be 404), every route with a
run or approval id is also fuzzed on live ones seeded first, so the 409/422 paths of real
workflows are exercised. The app runs with auth on and every call carries the key (one short
pass goes without it: guarded routes must answer a documented 401). Runs the fuzz starts are
terminated at the end, so they do not go on loading the session's worker.

`FUZZ_EXAMPLES` (default 8) is the number of examples per operation, generation mode and id;
raise it locally for a deeper search. Generation is derandomized, so CI sees the same requests
every time; `FUZZ_SEED=<n>` explores others, `FUZZ_ONLY=<text>` picks operations by label.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.client import Client
from temporalio.worker import Worker

from api.deps import get_temporal_client
from api.main import create_app
from api.runs_service import approval_workflow_id_for, run_workflow_id
from settings import Settings
from tests.fakes.llm_server import FakeLLM

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
ONLY = os.environ.get("FUZZ_ONLY", "")  # e.g. "GET /api/v1/runs"
SEED = os.environ.get("FUZZ_SEED")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# An event stream on a run still going never ends by itself; keep what came in this long.
READ_TIMEOUT_S = 3.0
RUNS = "/api/v1/runs"
# Fuzzed as production runs it: with auth on, every call made with this key.
KEY = "fuzz-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def fuzz_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": SecretStr(json.dumps({KEY: "fuzzer"}))})


@pytest.fixture
async def seeded(
    client: Client, fuzz_settings: Settings, worker: Worker, llm: FakeLLM
) -> AsyncIterator[dict[str, str]]:
    """Live ids to fuzz against, owned by the fuzzer's key: a run waiting for answers, a
    cancelled one, an open approval."""
    app = create_app(fuzz_settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=AUTH
    ) as api:
        ids: dict[str, str] = {}
        for name in ("waiting", "cancelled"):
            resp = await api.post(RUNS, json={"question": "How is grid energy stored?"})
            assert resp.status_code == 202, resp.text
            ids[name] = resp.json()["run_id"]
        await _wait(api, ids["waiting"], lambda v: (v.get("pending") or {}).get("kind"))
        resp = await api.post(f"{RUNS}/{ids['cancelled']}/cancel")
        assert resp.status_code == 202, resp.text
        await _wait(api, ids["cancelled"], lambda v: v["status"] == "cancelled")
        resp = await api.post("/api/v1/approvals", json={"title": "a plan", "content": "text"})
        assert resp.status_code == 202, resp.text
        ids["approval"] = resp.json()["approval_id"]
    yield ids


async def _wait(api: httpx.AsyncClient, run_id: str, until: Callable[[dict], Any]) -> None:
    for _ in range(300):
        resp = await api.get(f"{RUNS}/{run_id}")
        if resp.status_code == 200 and until(resp.json()):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"seed run {run_id} did not get ready: {resp.text}")


@dataclass
class Tally:
    """What the fuzz did: runs and approvals it started (to end them), statuses per operation."""

    created: list[tuple[str, str]] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))


def fuzz(schema: Any, seeds: dict[str, str], tally: Tally) -> list[str]:
    """Every operation in both generation modes, on random and on seeded ids, with the key; and
    once without it (guarded routes must answer a documented 401). The failures."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if ONLY not in operation.label:
            continue
        try:
            _run_examples(operation.as_strategy(), tally, headers={}, examples=2)
        except (Exception, BaseExceptionGroup) as err:
            failures.append(f"{operation.label} [without a key]:\n{describe(err)}")
        params = {p.name for p in operation.path_parameters}
        variants: list[dict[str, str] | None] = [None]
        if "run_id" in params:
            variants += [{"run_id": seeds["waiting"]}, {"run_id": seeds["cancelled"]}]
        if "approval_id" in params:
            variants += [{"approval_id": seeds["approval"]}]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed in variants:
                label = f"{operation.label} [{mode.value}{' ' + str(fixed) if fixed else ''}]"
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                try:
                    _run_examples(strategy, tally, headers=AUTH, examples=EXAMPLES)
                except Unsatisfiable:
                    pass  # nothing to negate: a route without parameters or body
                # Collected, not raised: one operation's failure must not hide the others'.
                except (Exception, BaseExceptionGroup) as err:
                    failures.append(f"{label}:\n{describe(err)}")
    return failures


def _is_ast_race(err: BaseException | None) -> bool:
    if err is None:
        return False
    if isinstance(err, SystemError) and "AST constructor recursion depth" in str(err):
        return True
    inner = list(err.exceptions) if isinstance(err, BaseExceptionGroup) else []
    return any(_is_ast_race(e) for e in [*inner, err.__cause__, err.__context__])


def describe(err: BaseException) -> str:
    # Schemathesis' own failures explain themselves; anything else (a flaky example, a crash in
    # the client) needs the exceptions inside it too.
    if isinstance(err, FailureGroup) or not isinstance(err, BaseExceptionGroup):
        return str(err)
    return f"{err}\n" + "\n".join(describe(inner) for inner in err.exceptions)


def _run_examples(strategy: Any, tally: Tally, *, headers: dict[str, str], examples: int) -> None:
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        # Shrinking would repeat Temporal calls for minutes; the report has the exact request.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        try:
            response = case.call_and_validate(
                headers=headers, checks=CHECKS, timeout=READ_TIMEOUT_S
            )
        except requests.exceptions.Timeout as err:  # a hang is a failure too; say which request
            curl = case.as_curl_command()
            raise AssertionError(f"no answer in {READ_TIMEOUT_S}s: {curl}") from err
        tally.statuses[case.operation.label][response.status_code] += 1
        if response.status_code == 202 and case.method == "POST":
            body = response.json()
            tally.created.extend((k, body[k]) for k in ("run_id", "approval_id") if k in body)

    test = seed(int(SEED))(run) if SEED else run
    # Run again when CPython 3.11's `ast` races between threads (python/cpython#106905):
    # Hypothesis parses the source of newly imported local modules while the worker runs on the
    # main thread, and 3.11 keeps ast's recursion counter per interpreter, so the two can trip
    # over it ("AST constructor recursion depth mismatch"). It says nothing about the API.
    for attempt in range(1, 4):
        try:
            test()
            return
        except (Exception, BaseExceptionGroup) as err:
            if attempt == 3 or not _is_ast_race(err):
                raise


async def test_api_conforms_to_its_schema(
    client: Client, fuzz_settings: Settings, seeded: dict[str, str]
) -> None:
    # Schemathesis runs the app on its own event-loop thread (so the app makes its own Temporal
    # client there); the fuzz runs in a thread so this loop keeps the session's worker polling.
    app = create_app(fuzz_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tally = Tally(created=[("run_id", seeded["waiting"]), ("approval_id", seeded["approval"])])
    try:
        failures = await asyncio.to_thread(fuzz, schema, seeded, tally)
    finally:
        await asyncio.to_thread(shutdown_lifespans)
        for kind, value in tally.created:
            wf_id = (
                run_workflow_id(value, "fuzzer")
                if kind == "run_id"
                else approval_workflow_id_for(value, "fuzzer")
            )
            try:
                await client.get_workflow_handle(wf_id).terminate("fuzz test over")
            except Exception:  # already closed
                pass
    for label, counts in sorted(tally.statuses.items()):
        print(f"{label:55} {dict(sorted(counts.items()))}")  # shown with -s: what was answered
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
    # Not vacuous: every operation was called, and the calls got past the guard into the routes.
    fuzzed = {op.ok().label for op in schema.get_all_operations() if ONLY in op.ok().label}
    assert set(tally.statuses) == fuzzed
    assert len(tally.created) > 2, "the fuzz started nothing: the generator is not reaching the API"
    answered = Counter(code for counts in tally.statuses.values() for code in counts.elements())
    assert answered[404] and answered[409] and answered[422] and answered[200]


async def test_made_up_page_token_is_422(client: Client, settings: Settings) -> None:
    """Found by the fuzz: Temporal answered a made-up page token with a retryable error, so
    GET /runs took seconds and ended 502. Tokens now carry a check and are refused up front."""
    app = create_app(settings)
    app.dependency_overrides[get_temporal_client] = lambda: client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        for token in ("AAAA", "W0ZpbHRlcmVkXQ==", "abcd"):
            resp = await api.get(RUNS, params={"page_token": token})
            assert resp.status_code == 422, resp.text
            assert resp.json()["details"]["errors"][0]["loc"] == ["query", "page_token"]
