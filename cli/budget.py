"""New limits for a run paused on its budget, from flags (`research accept`) or a prompt
(`research ask`), as the `budget` object of `POST /runs/{id}/acceptance`.

Durations are typed the way people say them (`90s`, `30m`, `2h`, `1d`, `1h30m`) or as ISO 8601
(`PT2H`), and sent as seconds, which the API's timedelta field takes as they are.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, Prompt

from domain.run import PendingInput, RunView

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError with a readable message when it is not a duration."""
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)  # a bare number is seconds, as the API reads it
    elif iso := ISO_DURATION.match(value):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        seconds = sum(parts.get(k, 0.0) * UNITS[k] for k in "dhms")
    elif value and DURATION.sub("", value).strip() == "":
        seconds = sum(float(n) * UNITS[u.lower()] for n, u in DURATION.findall(value))
    else:
        raise ValueError(f"{text!r} is not a duration (try 90s, 30m, 2h, 1d or PT2H)")
    if seconds < 1:
        raise ValueError(f"{text!r} is shorter than one second")
    return seconds


def budget_limits(
    max_tokens: int | None, max_cost_usd: float | None, max_duration: str | None
) -> dict[str, Any]:
    """The limits the person gave, as the API's `budget` object; unset ones keep the run's."""
    limits: dict[str, Any] = {}
    if max_tokens is not None:
        if max_tokens < 1:
            raise ValueError("the token limit must be at least 1")
        limits["max_tokens"] = max_tokens
    if max_cost_usd is not None:
        if not max_cost_usd > 0:
            raise ValueError("the cost limit must be more than 0 USD")
        limits["max_cost_usd"] = max_cost_usd
    if max_duration is not None:
        limits["max_duration"] = parse_duration(max_duration)
    return limits


def limits_text(limits: dict[str, Any]) -> str:
    """`200000 tokens, $2.5, 1h30m` for a confirmation line."""
    parts = []
    if "max_tokens" in limits:
        parts.append(f"{limits['max_tokens']} tokens")
    if "max_cost_usd" in limits:
        parts.append(f"${limits['max_cost_usd']:g}")
    if "max_duration" in limits:
        left, text = int(limits["max_duration"]), ""
        for unit in "dhms":
            count, left = divmod(left, UNITS[unit])
            text += f"{count}{unit}" if count else ""
        parts.append(text)
    return ", ".join(parts)


def spent_line(view: RunView) -> str:
    u = view.usage
    return f"spent so far: {u.total_tokens} tokens, ${u.cost_usd:.4f}, {u.llm_calls} LLM calls"


def ask_for_limits(err: Console, view: RunView, pending: PendingInput) -> dict[str, Any] | None:
    """Ask the person for new limits; None when they would rather stop the run.

    Raises EOFError when input runs out, which the caller treats as "stop": going on would
    spend more money without anyone having said so.
    """
    err.print(f"[bold yellow]The run's budget ran out.[/] {pending.content or ''}")
    err.print(spent_line(view))
    if not Confirm.ask("Extend the budget and go on?", default=False, console=err):
        return None
    err.print("New limits (leave one empty to keep it as it is):")
    while True:
        tokens = Prompt.ask("  max tokens", default="", console=err).strip()
        cost = Prompt.ask("  max cost in USD", default="", console=err).strip()
        duration = Prompt.ask("  max duration (30m, 2h, 1d)", default="", console=err).strip()
        try:
            limits = budget_limits(
                _number(int, tokens, "max tokens"),
                _number(float, cost, "max cost"),
                duration or None,
            )
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/]; try again")
            continue
        if limits:
            return limits
        if not Confirm.ask("No new limit given. Stop the run instead?", default=True, console=err):
            continue
        return None


def _number(kind: type[int] | type[float], text: str, what: str) -> Any:
    if not text:
        return None
    try:
        return kind(text.replace(",", "").lstrip("$"))
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number") from None
