"""The layers run one way: no first-party import points up (docs/architecture.md).

Entry points (cli, bench, stack, worker) → api → workflows → activities → providers → the
bottom (domain, settings). A package may import only packages of a lower rank; two packages of
the same rank may not import each other, so each rank stays a set of independent parts.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANKS = {
    "domain": 0,
    "settings": 0,
    "codec": 1,
    "telemetry": 1,
    "runtime": 2,
    "providers": 2,
    "activities": 3,
    "workflows": 4,
    "api": 5,
    "stack": 6,
    "worker": 6,
    "cli": 7,
    "bench": 7,
    "scripts": 7,
}


def first_party_imports(path: Path) -> set[str]:
    """Top-level first-party packages a module imports (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & RANKS.keys()
    return found


def modules() -> list[tuple[str, Path]]:
    found = [("worker", ROOT / "worker.py")]
    for package in RANKS.keys() - {"worker"}:
        found += [(package, path) for path in sorted((ROOT / package).rglob("*.py"))]
    return found


def test_every_package_is_ranked() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= RANKS.keys(), f"give {packages - RANKS.keys()} a rank here"


def test_no_import_points_up_a_layer() -> None:
    upward = [
        f"{path.relative_to(ROOT)} ({package}, rank {RANKS[package]}) imports "
        f"{target} (rank {RANKS[target]})"
        for package, path in modules()
        for target in sorted(first_party_imports(path) - {package})
        if RANKS[target] >= RANKS[package]
    ]
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from workflows.research import ResearchWorkflow\n")
    assert first_party_imports(module) == {"workflows"}
