"""`research status` for a run whose report was written as claims: the counts, each claim with
its support, citations and quotes, and the removed ones with their reason, through the real API
on a real socket (its Temporal client a fake whose run is the one the test wrote)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.claims_report import HOSTILE, QUOTE_1, QUOTE_2, serve_claims_run
from tests.helpers.frontends import Cli, ok

RUN_ID = "r-claims"


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[Cli]:
    async with serve_claims_run(tmp_path, RUN_ID) as url:
        yield Cli(url)


async def test_status_lists_claims_with_support_and_quotes(cli: Cli) -> None:
    out = ok(
        await cli("status", RUN_ID),
        "status    completed_with_gaps, stage finished",
        "claims    2 kept, 2 supported, 1 removed",
        "2 claims in the report, 2 supported, 1 removed, 2 cited passages",
        # Hostile text is printed as it is: rich markup in it is not applied.
        f"✓ supported 0.93  Pumped hydro stores most grid energy {HOSTILE} [1]",
        f"[1] p1 “{QUOTE_1}”",
        "✓ supported 0.81  Batteries got much cheaper. [2][1]",
        f"[2] p2 “{QUOTE_2}”",
        "✗ unsupported 0.12  Flywheels power whole cities. [2]",
        'reason: quote not found in passage p3 <script>"r"</script>',
        "no supported claim for plan item 3: safety",
    )
    lines = out.splitlines()
    # Sections are ruled off by their headings, and removed claims come after the kept ones.
    costs = next(i for i, line in enumerate(lines) if "Costs" in line)
    removed = next(i for i, line in enumerate(lines) if "removed (1)" in line)
    cheaper = next(i for i, line in enumerate(lines) if "Batteries got much cheaper" in line)
    flywheels = next(i for i, line in enumerate(lines) if "Flywheels" in line)
    assert costs < cheaper < removed < flywheels


async def test_no_claims_flag_and_json_leave_them_out(cli: Cli) -> None:
    out = ok(await cli("status", RUN_ID, "--no-claims"), "claims    2 kept, 2 supported")
    assert "cited passages" not in out and "Flywheels" not in out
    raw = ok(await cli("status", RUN_ID, "--json"), '"claims_unsupported": 1')
    assert "Flywheels" not in raw
