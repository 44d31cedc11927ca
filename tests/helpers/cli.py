"""The `research` command line as the CLI tests run it, and what they check of its output."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from click.testing import Result
from temporalio.client import Client, WorkflowHandle
from typer.testing import CliRunner

from cli.ask import EXIT_OK
from cli.main import app
from workflows.research import ResearchWorkflow
from workflows.search_attributes import research_workflow_id


class Cli:
    """Runs one `research` command against `api_url` in a thread, so the worker on the test's
    event loop keeps working while the command blocks."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    async def __call__(self, *args: str) -> Result:
        argv = [*args, "--api-url", self.api_url]
        return await asyncio.to_thread(CliRunner().invoke, app, argv)


def handle_of(client: Client, run_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(ResearchWorkflow.run, research_workflow_id(run_id))


def ok(result: Result, *fragments: str) -> str:
    assert result.exit_code == EXIT_OK, (result.stdout, result.stderr)
    for fragment in fragments:
        assert fragment in result.stdout, (fragment, result.stdout)
    return result.stdout


def one_line_error(result: Result, code: int, starts: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"error: {starts}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def posted_body(path: str, request: httpx.Request) -> dict[str, Any]:
    """A POST's JSON body; every answer and decision must carry its own idempotency key, which
    is checked here and dropped so that tests compare what the person sent."""
    body = json.loads(request.content)
    if path.endswith(("/clarification", "/acceptance")):
        assert len(body.pop("request_id")) == 32
    return body
