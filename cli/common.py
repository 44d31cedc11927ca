"""What every `research` client command shares: the API options, one-line errors, output.

Exit codes: 0 done; 1 the run ended badly; 2 the API is unreachable or the command was
misused; 3 the API refused a request; 130 interrupted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.json import JSON
from rich.markdown import Markdown

from cli.ask import EXIT_API_ERROR, EXIT_UNREACHABLE, EXIT_USAGE
from cli.client import API_KEY_ENV, API_URL_ENV, ApiClient
from cli.client_errors import ApiError, ApiUnreachable

ApiUrl = Annotated[str, typer.Option("--api-url", envvar=API_URL_ENV, help="API base URL")]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=API_KEY_ENV,
        help="Sent as `Authorization: Bearer KEY`, for APIs that require one",
        show_default=False,
    ),
]
RunId = Annotated[str, typer.Argument(help="The run's id", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON as it came")]
PlanItem = Annotated[
    list[str] | None,
    typer.Option("--plan", help="Plan review: an item of your edited plan (repeat, in order)"),
]
PlanFile = Annotated[
    Path | None,
    typer.Option(
        "--plan-file",
        help="Plan review: your edited plan, one item per line ('-' reads stdin)",
        dir_okay=False,
        allow_dash=True,
    ),
]


def edited_plan(items: list[str] | None, path: Path | None) -> list[str] | None:
    """The edited plan from `--plan` items or a `--plan-file` (blank lines skipped), or None
    when neither was given; the run checks the items and says what is wrong with them."""
    if items and path is not None:
        fail("give --plan items or --plan-file, not both", EXIT_USAGE)
    if path is None:
        return items or None
    try:
        text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the plan file: {exc}", EXIT_USAGE)
    return [line.strip() for line in text.splitlines() if line.strip()]


def fail(message: str, code: int) -> NoReturn:
    """One plain line on stderr (no markup, no wrapping), then exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def api_client(api_url: str, api_key: str | None) -> Iterator[ApiClient]:
    """A client whose failures end the command with one line and the matching exit code."""
    client = ApiClient(api_url, api_key=api_key)
    try:
        yield client
    except ApiUnreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except ApiError as exc:
        fail(f"the API refused: {exc}", EXIT_API_ERROR)
    finally:
        client.close()


# soft_wrap: a line that names a file or a command must stay one line, even through a pipe.
def stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit_markdown(console: Console, text: str) -> None:
    """Rendered on a terminal; the Markdown itself through a pipe or into a file."""
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        if not text.endswith("\n"):
            console.print()


def emit_json(console: Console, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if console.is_terminal:
        console.print(JSON(text))
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
