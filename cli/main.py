"""The `research` command line: run the stack or its pieces, ask questions, and look after runs.

Exit codes: 0 done (run completed, possibly with gaps); 1 the run (or the stack) ended badly;
2 the API is unreachable or the command was misused; 3 the API refused a request; 130 interrupted.
The client commands live in cli/commands.py, cli/decide.py, cli/outputs.py and cli/watch.py.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from cli import claims, commands, decide, outputs, watch
from cli.ask import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Asker,
    run_options,
)
from cli.client import DEFAULT_API_URL, ApiClient
from cli.client_errors import ApiError, ApiUnreachable
from cli.common import ApiKey, ApiUrl, fail
from runtime.process_exit import exit_code, exit_now
from settings import get_settings

app = typer.Typer(
    help="Durable, human-in-the-loop research runs on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for name, command in (
    ("list", commands.list_runs),
    ("status", commands.status),
    ("watch", watch.watch),
    ("answer", decide.answer),
    ("accept", decide.accept),
    ("reject", decide.reject),
    ("stop", commands.stop),
    ("cancel", commands.cancel),
    ("report", outputs.report),
    ("sources", outputs.sources),
):
    app.command(name)(command)
app.add_typer(claims.app, name="claims")


@app.command()
def up(
    data_dir: Annotated[
        Path | None, typer.Option(help="Runs, index, logs (default: settings.data_dir)")
    ] = None,
    api_port: Annotated[int | None, typer.Option(help="API port [8000]")] = None,
    temporal_port: Annotated[int | None, typer.Option(help="Temporal gRPC port [7233]")] = None,
    ui_port: Annotated[int | None, typer.Option(help="Temporal Web UI port [8233]")] = None,
    llm_port: Annotated[int | None, typer.Option(help="Local LLM port [8012]")] = None,
    docs: Annotated[
        list[Path] | None, typer.Option("--docs", help="Documents folder (repeatable)")
    ] = None,
) -> None:
    """Start Temporal, the local LLM, the worker and the API; Ctrl+C stops them all."""
    from stack.env import stack_settings
    from stack.up import run_stack

    base = get_settings()
    settings = stack_settings(
        base,
        data_dir=data_dir,
        docs_dirs=docs or None,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        llm_port=llm_port,
    )
    for folder in settings.docs_dirs:
        if not folder.is_dir():
            fail(f"documents folder {folder} does not exist", EXIT_USAGE)
    code = run_stack(settings, run_llm=base.embedded_llm, console=Console(highlight=False))
    raise typer.Exit(code)


@app.command()
def worker() -> None:
    """Run the Temporal worker alone (settings from RESEARCH_* variables)."""
    import worker as worker_module

    worker_module.main()  # ends the process when the worker stops


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings)")] = None,
) -> None:
    """Run the REST API alone (uvicorn)."""
    import uvicorn

    if host:
        # The app reads its settings when imported; its start-up check (no keys -> loopback
        # only) must see the address it will really bind to.
        os.environ["RESEARCH_API_HOST"] = host
        get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run("api.main:app", host=settings.api_host, port=port or settings.api_port)


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="What to research")] = None,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
    run_id: Annotated[
        str | None, typer.Option(help="Run id to use; an existing run is followed instead")
    ] = None,
    breadth: Annotated[int | None, typer.Option(min=1, max=10, help="Queries per round")] = None,
    depth: Annotated[int | None, typer.Option(min=1, max=5, help="Research rounds")] = None,
    max_sources: Annotated[int | None, typer.Option(min=1, max=50, help="Sources to read")] = None,
    plan_approval: Annotated[
        bool | None, typer.Option("--plan-approval/--no-plan-approval", help="Review the plan")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept plan and report")] = False,
    no_input: Annotated[
        bool,
        typer.Option(
            "--no-input", help="Never prompt: skip clarifying questions, accept what is proposed"
        ),
    ] = False,
    follow_up: Annotated[
        str | None,
        typer.Option("--follow-up", metavar="RUN", help="Follow up this finished run's report"),
    ] = None,
) -> None:
    """Ask a question and follow the run to its report, answering what it asks on the way."""
    if question is None and run_id is None:
        fail("give a question, or --run-id to follow an existing run", EXIT_USAGE)
    if follow_up is not None and question is None:
        fail("--follow-up needs a question", EXIT_USAGE)
    err, out = Console(stderr=True, highlight=False), Console(highlight=False)
    client = ApiClient(api_url, api_key=api_key)
    asker = Asker(client, err, out, no_input=no_input, yes=yes)
    followed: str | None = None
    try:
        followed = asker.start(
            question, run_options(breadth, depth, max_sources, plan_approval), run_id, follow_up
        )
        code = asker.finish(asker.follow(followed))
    except ApiUnreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except ApiError as exc:
        fail(f"the API refused: {exc}", EXIT_API_ERROR)
    except KeyboardInterrupt:
        resume = f"; follow it again with: research ask --run-id {followed}" if followed else ""
        typer.echo(f"\ninterrupted: the run goes on on the server{resume}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        client.close()
    raise typer.Exit(code)


@app.command()
def doctor(
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP check")] = 10.0,
) -> None:
    """Check that Temporal, the LLM, the search providers and the folders are reachable."""
    from cli.doctor import render, run_checks

    checks = asyncio.run(run_checks(get_settings(), timeout))
    render(checks, Console(highlight=False))
    raise typer.Exit(0 if all(check.ok for check in checks) else 1)


def main() -> NoReturn:
    """The `research` command. It ends with `exit_now` because `doctor`, `worker` and `up` hold
    Temporal clients in this process (see stack/process_exit.py)."""
    try:
        app()
    except SystemExit as exc:
        exit_now(exit_code(exc))
    exit_now(0)


if __name__ == "__main__":
    main()
