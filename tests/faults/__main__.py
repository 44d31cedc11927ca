"""`uv run python -m tests.faults [--runs 20] [--seed 1] [scenario ...]`: the fault table.

Runs each scenario on its own fresh stack, prints its row as it finishes (with the problems
behind any non-zero "lost"), then the whole table, and writes it to docs/faults.md (`--md -`
for none). Exits 1 when a run did not complete or anything was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

from bench.report import text_table
from runtime.process_exit import exit_now
from settings import PROJECT_ROOT
from tests.faults import SCENARIOS, Scenario
from tests.faults.harness import Tally
from tests.faults.report import table, write_md


async def run_one(name: str, scenario: Scenario, runs: int, seed: int) -> Tally:
    t0 = time.monotonic()
    try:
        tally = await scenario(runs, seed)
    except Exception as exc:  # a scenario that breaks must not hide the others' rows
        tally = Tally(name, tried=runs, problems=[f"scenario crashed: {exc!r}"])
    tally.seconds = time.monotonic() - t0
    return tally


async def main(names: list[str], runs: int, seed: int) -> list[Tally]:
    tallies = []
    for name in names:
        tallies.append(await run_one(name, SCENARIOS[name], runs, seed))
        print(text_table(table(tallies[-1:])), flush=True)
    return tallies


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.faults", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", metavar="scenario", help=", ".join(SCENARIOS))
    parser.add_argument("--runs", type=int, default=6, help="runs per scenario (default 6)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the faults' timing")
    parser.add_argument(
        "--md", default=str(PROJECT_ROOT / "docs" / "faults.md"), help="'-' writes none"
    )
    args = parser.parse_args()
    names = args.names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; pick from {', '.join(SCENARIOS)}")
    # The worker and API children log to files; here only our own table matters.
    logging.basicConfig(level=logging.ERROR)
    tallies = asyncio.run(main(names, args.runs, args.seed))
    result = table(tallies)
    print("\n" + text_table(result))
    if args.md != "-":
        write_md(result, args.runs, args.seed, Path(args.md))
        print(f"\nwrote {args.md}")
    exit_now(1 if any(t.lost or t.completed < t.tried for t in tallies) else 0)


if __name__ == "__main__":
    cli()
