"""`research watch`: follow a run live through its event stream.

On a terminal a rich live view shows the stage, progress bars (research rounds, sources read)
and the latest events; through a pipe each event is one line. The stream resumes by event id
after a dropped connection or an API restart, so nothing is skipped or shown twice.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cli.ask import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, SUCCESS
from cli.client import DEFAULT_API_URL, ApiClient
from cli.common import ApiKey, ApiUrl, RunId, api_client, stderr, stdout
from cli.sse import StreamEnd, follow_events
from domain.run import TERMINAL_STATUSES, RunEvent, RunView

RECENT_EVENTS = 8
# Progress counts live in the status view, not in events; re-read it at most this often.
STATUS_EVERY_S = 1.0
FRESH_STATUS_ON = frozenset({"stage_changed", "input_awaited", "input_received", "finished"})


def event_line(event: RunEvent) -> str:
    stage = event.stage.value if event.stage else "-"
    return f"{event.seq:>4}  {event.at:%H:%M:%S}  {stage:<13} {event.type:<15} {event.message}"


class LiveView:
    """The live view's state: the latest status read and the last few events."""

    def __init__(self, view: RunView) -> None:
        self.view = view
        self.events: deque[RunEvent] = deque(maxlen=RECENT_EVENTS)

    def render(self) -> RenderableType:
        v, p = self.view, self.view.progress
        head = Text.assemble(
            ("run ", "dim"), (v.run_id, "bold"), ("  ", ""), (v.question, "italic")
        )
        state = Text.assemble(
            ("stage ", "dim"), (v.stage.value, "bold cyan"), ("   status ", "dim"), v.status.value
        )
        bars = Table.grid(padding=(0, 1))
        rounds_total = max(p.rounds_total, v.options.depth)
        bars.add_row(
            "rounds ",
            ProgressBar(total=rounds_total, completed=p.round, width=30),
            f"{p.round}/{rounds_total}",
        )
        bars.add_row(
            "sources",
            ProgressBar(total=v.options.max_sources, completed=p.sources_read, width=30),
            f"{p.sources_read}/{v.options.max_sources}",
        )
        recent = Table(box=None, show_header=False, pad_edge=False)
        for column in ("seq", "time", "type", "message"):
            recent.add_column(column, no_wrap=True, overflow="ellipsis")
        for e in self.events:
            recent.add_row(str(e.seq), f"{e.at:%H:%M:%S}", e.type, escape(e.message))
        parts: list[RenderableType] = [head, state, bars, recent]
        if v.pending is not None and v.status not in TERMINAL_STATUSES:
            verb = "answer" if v.pending.kind == "clarification" else "accept / reject"
            parts.append(
                Text(f"waiting for {v.pending.kind}: research {verb} {v.run_id}", style="yellow")
            )
        return Group(*parts)


def watch(run_id: RunId, api_url: ApiUrl = DEFAULT_API_URL, api_key: ApiKey = None) -> None:
    """Follow a run live: stage, progress and events, until it finishes."""
    out, err = stdout(), stderr()
    with api_client(api_url, api_key) as client:
        try:
            view = client.get_run(run_id)
            if out.is_terminal:
                view = _live(client, view, out, err)
            else:
                view = _plain(client, view, out, err)
        except KeyboardInterrupt:
            err.print(f"\nstopped watching; run {run_id} goes on on the server")
            raise typer.Exit(EXIT_INTERRUPTED) from None
    colour = "green" if view.status in SUCCESS else "red"
    reason = f": {escape(view.finish_reason)}" if view.finish_reason else ""
    out.print(f"run {view.run_id} [bold {colour}]{view.status}[/]{reason}")
    raise typer.Exit(EXIT_OK if view.status in SUCCESS else EXIT_RUN_FAILED)


def _plain(client: ApiClient, view: RunView, out: Console, err: Console) -> RunView:
    for item in _events(client, view.run_id, err):
        if isinstance(item, RunEvent):
            out.print(event_line(item), markup=False, highlight=False, soft_wrap=True)
    return client.get_run(view.run_id)


def _live(client: ApiClient, view: RunView, out: Console, err: Console) -> RunView:
    state = LiveView(view)
    last_read = time.monotonic()
    with Live(state.render(), console=out, refresh_per_second=4) as live:
        for item in _events(client, view.run_id, live.console):
            if not isinstance(item, RunEvent):
                continue
            state.events.append(item)
            now = time.monotonic()
            if item.type in FRESH_STATUS_ON or now - last_read >= STATUS_EVERY_S:
                state.view, last_read = client.get_run(view.run_id), now
            live.update(state.render())
        state.view = client.get_run(view.run_id)
        live.update(state.render())
    return state.view


def _events(client: ApiClient, run_id: str, err: Console) -> Iterator[RunEvent | StreamEnd]:
    def reconnecting(after: int, reason: str) -> None:
        err.print(f"[yellow]connection lost ({escape(reason)}); resuming after event {after}[/]")

    for item in follow_events(client, run_id, on_reconnect=reconnecting):
        if isinstance(item, StreamEnd):
            err.print(f"[yellow]the event stream ended: {escape(item.message)}[/]")
        yield item
