"""Claims at the command line: `research status`'s view of a report written as claims (the
counts, then each claim with its support, its citations and the quotes behind them, and the
removed claims with their reason), and `research claims strike | find-source`, a reviewer's
requests on one claim of the report under review.

The view reads the API's report JSON (`GET /runs/{id}/report?format=json`, api/claims_json.py).
All of that text is model output or quoted web text, so it is printed as rich `Text`, never as
markup.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from cli.client import DEFAULT_API_URL, ApiClient
from cli.client_errors import ApiError
from cli.common import ApiKey, ApiUrl, RunId, api_client, stdout
from domain.run import Progress

ShowClaims = Annotated[
    bool | None,
    typer.Option(
        "--claims/--no-claims",
        help="Each claim of the report with its citations and support "
        "(default: shown once a finished run's report is written as claims)",
        show_default=False,
    ),
]
MARKS = {
    "supported": ("✓", "green"),
    "unsupported": ("✗", "red"),
    "struck": ("✗", "red"),
    "refused": ("✗", "red"),
}


def progress_claims(p: Progress) -> str | None:
    """The claim counts of a run's progress, once the support check has counted any."""
    if not (p.claims or p.claims_unsupported):
        return None
    return f"{p.claims} kept, {p.claims_supported} supported, {p.claims_unsupported} removed"


def fetch_claims_report(client: ApiClient, run_id: str) -> dict[str, Any] | None:
    """The report JSON if the run's report is written as claims; None for a Markdown-only one,
    or when the API cannot give it (the status is still worth printing)."""
    try:
        report = json.loads(client.report_as(run_id, "json"))
    except (ApiError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("structured") else None


def _claim_lines(claim: dict[str, Any]) -> list[Text]:
    support = str(claim.get("support", "unchecked"))
    mark, style = MARKS.get(support, ("?", "yellow"))
    marks = "".join(f"[{n}]" for n in claim.get("citations") or [])
    head = Text("  ")
    head.append(f"{mark} {support}", style=style)
    head.append(f" {float(claim.get('score') or 0):.2f}  ", style="dim")
    head.append(str(claim.get("text", "")))
    head.append(f" {marks}" if marks else "", style="cyan")
    lines = [head]
    for evidence in claim.get("evidence") or []:
        line = Text(f"      [{evidence.get('source')}] {evidence.get('passage_id')} ", style="dim")
        line.append(f"“{evidence.get('quote') or ''}”")
        lines.append(line)
    if claim.get("reason") and support != "supported":
        lines.append(Text(f"      reason: {claim['reason']}", style=style))
    return lines


def print_claims(out: Console, report: dict[str, Any]) -> None:
    counts = report.get("counts") or {}
    out.rule("claims")
    out.print(
        f"{counts.get('claims', 0)} claims in the report, {counts.get('supported', 0)} "
        f"supported, {counts.get('removed', 0)} removed, "
        f"{counts.get('cited_passages', 0)} cited passages"
    )
    section = None
    for claim in report.get("claims") or []:
        if claim.get("section") != section:
            section = claim.get("section")
            out.rule(Text(str(section or "Findings")))
        for line in _claim_lines(claim):
            out.print(line)
    removed = report.get("removed") or []
    if removed:
        out.rule(Text(f"removed ({len(removed)})"))
        for claim in removed:
            for line in _claim_lines(claim):
                out.print(line)
    uncovered = report.get("plan_items_uncovered") or []
    items = report.get("plan_items") or []
    for n in uncovered:
        item = items[n - 1] if 0 < n <= len(items) else ""
        out.print(Text(f"no supported claim for plan item {n}: {item}", style="yellow"))


# -- a reviewer's requests on one claim ------------------------------------------------------

app = typer.Typer(
    help="Strike a claim from the report under review, or ask the run to find a source for one.",
    no_args_is_help=True,
)
ClaimId = Annotated[
    str, typer.Argument(help="The claim's id (data-claim on the run page)", show_default=False)
]


@app.command("strike")
def strike(
    run_id: RunId,
    claim_id: ClaimId,
    reason: Annotated[str, typer.Option("--reason", "-m", help="Why, kept with the claim")] = "",
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Take one claim out of the report waiting for review (kept in its JSON as struck)."""
    with api_client(api_url, api_key) as client:
        result = client.strike_claim(run_id, claim_id, reason.strip())
    revision = result.get("revision") if isinstance(result, dict) else None
    stdout().print(
        Text(f"struck claim {claim_id} from the report of run {run_id} (revision {revision})")
    )


@app.command("find-source")
def find_source(
    run_id: RunId,
    claim_id: ClaimId,
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key: ApiKey = None,
) -> None:
    """Send the report back to search once for a source for this claim (uses a revision)."""
    with api_client(api_url, api_key) as client:
        result = client.find_source(run_id, claim_id)
    revision = result.get("revision") if isinstance(result, dict) else None
    after = f"; revision {revision + 1} comes for review" if isinstance(revision, int) else ""
    stdout().print(Text(f"run {run_id} searches for a source for claim {claim_id}{after}"))
