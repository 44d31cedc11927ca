"""`research doctor`: is everything this configuration needs reachable from here?

Checks Temporal, the LLM endpoint (GET /models; on Anthropic GET /v1/models/{model}, which
proves the key and the model), every configured search provider (one real one-result query
each: the only check that proves a key works), the documents folders and the data dir, and
prints what it found. Every check is required: exit 1 if any fails.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.exceptions import ApplicationError

from runtime.temporal import connect
from settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    target: str
    ok: bool
    detail: str


async def check_temporal(settings: Settings) -> Check:
    target = f"{settings.temporal_address} ({settings.temporal_namespace})"
    try:
        client = await asyncio.wait_for(connect(settings, attempts=1), timeout=10)
        await client.workflow_service.get_system_info(_system_info_request())
    except Exception as exc:  # any failure here means "not reachable"; the message says why
        return Check("temporal", target, False, _short(exc))
    return Check("temporal", target, True, "connected")


def _system_info_request() -> object:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()


async def check_llm(settings: Settings, timeout_s: float) -> Check:
    if settings.llm_provider == "anthropic":
        return await check_anthropic(settings, timeout_s)
    base = settings.effective_llm_base_url.rstrip("/")
    headers = {"authorization": f"Bearer {settings.llm_api_key.get_secret_value()}"}
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(f"{base}/models", headers=headers)
    except httpx.HTTPError as exc:
        return Check("llm", base, False, _short(exc))
    if response.status_code != 200:
        return Check("llm", base, False, f"GET /models: HTTP {response.status_code}")
    try:
        models = [m.get("id") for m in response.json().get("data", [])]
    except (ValueError, AttributeError):
        return Check("llm", base, False, "GET /models did not answer a model list")
    # Some servers (llama.cpp) list only what they serve under another name; say, don't fail.
    found = settings.llm_model in models
    note = "" if found or not models else f"; {settings.llm_model!r} not listed ({len(models)})"
    return Check("llm", base, True, f"model list answered{note}")


async def check_anthropic(settings: Settings, timeout_s: float) -> Check:
    """GET /v1/models/{model} through the SDK: proves the key and that the model exists."""
    import anthropic

    from providers.llm_anthropic import classify

    target = f"anthropic {settings.effective_llm_base_url.rstrip('/')}"
    client = anthropic.AsyncAnthropic(
        api_key=settings.llm_api_key.get_secret_value(),
        base_url=settings.effective_llm_base_url,
        timeout=timeout_s,
        max_retries=0,
    )
    try:
        model = await client.models.retrieve(settings.llm_model)
    except anthropic.APIError as exc:
        # The run's own classification, so doctor names the failure the run would end with.
        error = classify(exc)
        return Check("llm", target, False, f"{error.type}: {_short(exc)}")
    finally:
        await client.close()
    return Check("llm", target, True, f"model {model.id!r} available")


async def check_search(settings: Settings) -> list[Check]:
    from providers.registry import missing_settings, web_provider

    missing = missing_settings(settings)
    checks: list[Check] = []
    for name in settings.search_providers:
        if name == "local":
            continue  # the local index is the documents folders, checked on their own
        if name in missing:
            checks.append(Check(f"search: {name}", "-", False, f"{missing[name]} is not set"))
            continue
        provider = web_provider(name, settings)
        target = getattr(provider, "base_url", None) or getattr(provider, "endpoint", name)
        started = time.monotonic()
        try:
            hits = await provider.search("energy storage", 1)
        except ApplicationError as exc:
            checks.append(Check(f"search: {name}", target, False, f"{exc.type}: {exc.message}"))
            continue
        finally:
            await provider.aclose()
        took = time.monotonic() - started
        checks.append(Check(f"search: {name}", target, True, f"{len(hits)} hit(s), {took:.1f}s"))
    return checks


def check_folders(settings: Settings) -> list[Check]:
    checks = []
    if "local" in settings.search_providers:
        for folder in settings.docs_dirs:
            ok = folder.is_dir() and os.access(folder, os.R_OK)
            detail = "readable" if ok else "missing or unreadable"
            checks.append(Check("documents", str(folder), ok, detail))
    data = settings.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
        ok = os.access(data, os.W_OK)
        detail = "writable" if ok else "not writable"
    except OSError as exc:
        ok, detail = False, _short(exc)
    checks.append(Check("data dir", str(data), ok, detail))
    return checks


async def run_checks(settings: Settings, timeout_s: float = 10.0) -> list[Check]:
    temporal, llm, search = await asyncio.gather(
        check_temporal(settings), check_llm(settings, timeout_s), check_search(settings)
    )
    return [temporal, llm, *search, *check_folders(settings)]


def render(checks: list[Check], console: Console) -> None:
    table = Table(title="research doctor")
    for column in ("check", "target", "status", "detail"):
        table.add_column(column)
    for check in checks:
        status = "[green]ok[/green]" if check.ok else "[red]DOWN[/red]"
        table.add_row(check.name, check.target, status, check.detail)
    console.print(table)


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:160]
