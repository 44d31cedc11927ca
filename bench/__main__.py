"""`uv run python -m bench all [--quick]` or `... -m bench facade waiting ...`.

`uv run python -m bench quality [--limit N] [--questions id,id] [--rounds N]` runs the
end-to-end report quality benchmark on the eval set (docs/quality.md).

Runs each benchmark on its own fresh embedded stack, prints its table as it finishes, then
writes the JSON (`--json`) and the Markdown report (`--md`, `docs/benchmarks.md` for `all`).
"""

from __future__ import annotations

import argparse
import functools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    facade,
    local_model,
    orchestration,
    quality,
    recovery,
    retrieval,
    sse_streams,
    waiting,
)
from bench.report import Result, load, save, text_table, write_md
from bench.stats import machine
from runtime.process_exit import run_then_exit

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS: dict[str, Callable[[str], Awaitable[Result]]] = {
    "facade": facade.run,
    "waiting": waiting.run,
    "recovery": recovery.run,
    "orchestration": orchestration.run,
    "sse": sse_streams.run,
    "local_model": local_model.run,
    "retrieval": retrieval.run,
    "quality": quality.run,
}
# Benchmarks that need no stack: not part of `all` (whose report describes the stack), and with
# their own JSON, so running one alone does not overwrite the stack benchmarks' numbers.
STANDALONE = {
    "retrieval": ROOT / "docs" / "retrieval.json",
    "quality": ROOT / "docs" / "quality.json",
}
QUALITY_MD = ROOT / "docs" / "quality.md"
COMMENTARY = ROOT / "bench" / "commentary.md"


async def main(names: list[str], mode: str, json_path: Path, md_path: Path | None) -> int:
    results: list[Result] = []
    failed = 0
    for name in names:
        if name == "local_model" and mode != "full":
            print("== local_model: full mode only (a real model is not quick); skipped")
            continue
        t0 = time.monotonic()
        try:
            result = await BENCHMARKS[name](mode)
        except Exception:  # one broken benchmark must not lose the others' numbers
            failed += 1
            traceback.print_exc()
            continue
        result.seconds = time.monotonic() - t0
        results.append(result)
        print(text_table(result), flush=True)
    commentary = COMMENTARY.read_text() if COMMENTARY.exists() else ""
    if names == ["quality"]:
        # Its Markdown is a section of docs/quality.md, not the Benchmarks page.
        save(results, machine(), mode, json_path, None)
        if md_path is not None and results:
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            quality.write_section(results[0], md_path, stamp)
    else:
        save(results, machine(), mode, json_path, md_path, commentary)
    print(f"\nwrote {json_path}" + (f" and {md_path}" if md_path else ""))
    return 1 if failed else 0


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=["all", *BENCHMARKS])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not hours)")
    parser.add_argument(
        "--tiny", action="store_true", help="smoke-test sizes; numbers mean nothing"
    )
    parser.add_argument("--json", type=Path, help="where the JSON goes")
    parser.add_argument("--md", type=Path, help="where the Markdown goes")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only write the Markdown again from a saved JSON (and commentary)",
    )
    quality_group = parser.add_argument_group("quality")
    quality_group.add_argument("--limit", type=int, help="only the first N questions")
    quality_group.add_argument("--questions", help="only these question ids, comma-separated")
    quality_group.add_argument("--rounds", type=int, help="research rounds per run (depth)")
    quality_group.add_argument("--llm-base-url", help="an OpenAI-compatible endpoint to use")
    quality_group.add_argument("--llm-model", help="the model to ask at --llm-base-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.render:
        results, info, mode, when = load(args.render)
        md_path = args.md or ROOT / "docs" / "benchmarks.md"
        write_md(results, info, mode, when, args.render, md_path, COMMENTARY.read_text())
        print(f"wrote {md_path}")
        return
    if not args.names:
        parser.error("name the benchmarks to run, or `all`")
    run_all = "all" in args.names
    names = [n for n in BENCHMARKS if n not in STANDALONE] if run_all else args.names
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    default_json = ROOT / "docs" / f"benchmarks-{mode}.json"
    if len(names) == 1 and names[0] in STANDALONE and mode != "tiny":
        default_json = STANDALONE[names[0]]
    json_path = args.json or default_json
    md_path = args.md or (ROOT / "docs" / "benchmarks.md" if run_all else None)
    if names == ["quality"]:
        opts = quality.QualityOptions(
            limit=args.limit,
            questions=args.questions.split(",") if args.questions else None,
            rounds=args.rounds,
            llm_base_url=args.llm_base_url,
            llm_model=args.llm_model,
        )
        md_path = args.md or (QUALITY_MD if mode != "tiny" else None)
        opts.json_path, opts.md_path = json_path, md_path
        BENCHMARKS["quality"] = functools.partial(quality.run, opts=opts)
    run_then_exit(main(names, mode, json_path, md_path))


if __name__ == "__main__":
    cli()
