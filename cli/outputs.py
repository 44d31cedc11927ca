"""`research report` and `research sources`: what a run produced, for a person or a file.

On a terminal Markdown is rendered and JSON coloured; through a pipe or into a file the bytes
are exactly what the API sent, so `research report ID > report.md` is the report itself.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.ask import EXIT_USAGE, sources_markdown
from cli.client import DEFAULT_API_URL
from cli.common import (
    ApiKey,
    ApiUrl,
    AsJson,
    RunId,
    api_client,
    emit_json,
    emit_markdown,
    fail,
    stderr,
    stdout,
)


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


def report(
    run_id: RunId,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Markdown, HTML or JSON")
    ] = ReportFormat.md,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file", dir_okay=False),
    ] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """A finished run's report: rendered on a terminal, raw when piped or saved."""
    with api_client(api_url, api_key) as client:
        text = client.report_as(run_id, fmt.value)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE)
        stderr().print(f"wrote the {fmt.value} report of run {run_id} to {output}", markup=False)
        return
    out = stdout()
    if fmt is ReportFormat.md:
        emit_markdown(out, text)
    elif fmt is ReportFormat.json and out.is_terminal:
        emit_json(out, json.loads(text))
    else:
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")


def sources(
    run_id: RunId,
    as_json: AsJson = False,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Every source a run read, numbered as the report cites them."""
    with api_client(api_url, api_key) as client:
        raw = client.sources_raw(run_id)
    out = stdout()
    data = json.loads(raw)
    if as_json:
        emit_json(out, data)
        return
    items = data.get("sources", []) if isinstance(data, dict) else data
    bundle = [item for item in items if isinstance(item, dict)]
    if not bundle:
        out.print("the run read no sources")
        return
    emit_markdown(out, sources_markdown(bundle))
