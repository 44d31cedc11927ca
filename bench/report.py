"""Benchmark results: one `Result` per benchmark, printed as tables, saved as JSON and Markdown."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

Cell = str | int | float | None


@dataclass
class Target:
    goal: str
    measured: str
    met: bool


@dataclass
class Result:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, *cells: Cell) -> None:
        self.rows.append(list(cells))


def fmt(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, float):
        if math.isnan(cell):
            return "-"
        if abs(cell) >= 100:
            return f"{cell:,.0f}"
        return f"{cell:.2f}" if abs(cell) >= 1 else f"{cell:.3f}"
    return str(cell)


def text_table(result: Result) -> str:
    cells = [result.columns] + [[fmt(c) for c in row] for row in result.rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(result.columns))]
    lines = [f"== {result.title} ({result.seconds:.0f} s)"]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    for t in result.targets:
        lines.append(f"  target {t.goal}: {t.measured} -> {'MET' if t.met else 'MISSED'}")
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


def md_table(result: Result) -> str:
    head = "| " + " | ".join(result.columns) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(result.columns))) + "|"
    body = ["| " + " | ".join(fmt(c) for c in row) + " |" for row in result.rows]
    out = [f"### {result.title}", "", head, rule, *body, ""]
    if result.targets:
        out += ["| target | measured | |", "|---|---|---|"]
        out += [
            f"| {t.goal} | {t.measured} | {'met' if t.met else '**missed**'} |"
            for t in result.targets
        ]
        out.append("")
    out += [f"- {n}" for n in result.notes]
    return "\n".join(out) + "\n"


def save(
    results: list[Result],
    machine: dict[str, object],
    mode: str,
    json_path: Path,
    md_path: Path | None,
    commentary: str = "",
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data = {
        "when": stamp,
        "mode": mode,
        "machine": machine,
        "results": [asdict(r) for r in results],
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    if md_path is not None:
        write_md(results, machine, mode, stamp, json_path, md_path, commentary)


def load(json_path: Path) -> tuple[list[Result], dict[str, object], str, str]:
    """What `save` wrote: results, machine, mode and when, to render the Markdown again."""
    data = json.loads(json_path.read_text())
    results = []
    for raw in data["results"]:
        targets = [Target(**t) for t in raw.pop("targets")]
        results.append(Result(**raw, targets=targets))
    return results, data["machine"], data["mode"], data["when"]


def write_md(
    results: list[Result],
    machine: dict[str, object],
    mode: str,
    stamp: str,
    json_path: Path,
    md_path: Path,
    commentary: str,
) -> None:
    m = machine
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `uv run python -m bench all{'' if mode == 'full' else ' --' + mode}` "
        f"on {stamp} ({mode} mode); raw numbers in `{json_path.name}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['ram_gb']} GB RAM, {m['os']}, Python {m['python']}.",
        "",
        "Every benchmark runs on a fresh embedded stack (Temporal dev server on SQLite, the "
        "scripted instant LLM from `tests/fakes/llm_server.py`, the worker and the API as their "
        "own processes), so the numbers measure orchestration, not a model. Side-by-side pairs "
        "are interleaved in batches, since the machine is shared and noisy.",
        "",
        commentary,
        "",
    ]
    for r in results:
        lines.append(md_table(r))
    md_path.write_text("\n".join(lines).rstrip() + "\n")
