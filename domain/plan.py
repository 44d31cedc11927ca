"""A research plan as people edit it: a list of items, checked, numbered and compared.

The workflow keeps the plan as text, one numbered line per item (what the planning activity
returns and the view shows); a reviewer who accepts an edited plan sends the items as a list
(`Decision.plan`). These pure functions check such a list, turn it into the plan text and say
how it differs from the plan it replaces, for the `plan_edited` event. No I/O: the workflow
sandbox imports them, and difflib is deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

MAX_PLAN_ITEMS = 12
MIN_ITEM_CHARS = 3
MAX_ITEM_CHARS = 300

# "1.", "2)", "-", "*", "•" in front of an item: people paste numbered or bulleted lists, and a
# kept marker would be numbered again ("1. 1. x").
_MARKER = re.compile(r"^(?:\(?\d{1,2}[.)]|[-*•])(?:\s+|$)")


def clean_item(text: str) -> str:
    """One item as the plan keeps it: whitespace (newlines too) collapsed, list marker dropped."""
    return _MARKER.sub("", " ".join(text.split()), count=1).strip()


def plan_problem(items: list[str]) -> str | None:
    """Why `items` cannot be a plan, or None when they can (after `clean_item`)."""
    if not 1 <= len(items) <= MAX_PLAN_ITEMS:
        return f"a plan has 1 to {MAX_PLAN_ITEMS} items, not {len(items)}"
    for n, raw in enumerate(items, 1):
        item = clean_item(raw)
        if not MIN_ITEM_CHARS <= len(item) <= MAX_ITEM_CHARS:
            limits = f"{MIN_ITEM_CHARS} to {MAX_ITEM_CHARS}"
            return f"item {n} has {len(item)} characters; each item has {limits}"
    return None


def plan_text(items: list[str]) -> str:
    """The plan as the workflow keeps and shows it: one numbered line per (cleaned) item."""
    return "\n".join(f"{n}. {clean_item(item)}" for n, item in enumerate(items, 1))


def plan_lines(text: str) -> list[str]:
    """The items of a plan text made by `plan_text` or the planning activity."""
    return [item for line in text.splitlines() if (item := clean_item(line))]


@dataclass(frozen=True)
class PlanEdit:
    """How an edited plan differs from the one it replaces, item by item."""

    added: int
    removed: int
    changed: int

    @property
    def summary(self) -> str:
        return f"{self.added} added, {self.removed} removed, {self.changed} changed"


def compare_plans(before: list[str], after: list[str]) -> PlanEdit:
    """Items added, removed and reworded (a replaced item pairs with one in its place)."""
    added = removed = changed = 0
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = i2 - i1, j2 - j1
        if op == "replace":
            changed += min(old, new)
            removed += max(old - new, 0)
            added += max(new - old, 0)
        elif op == "delete":
            removed += old
        elif op == "insert":
            added += new
    return PlanEdit(added=added, removed=removed, changed=changed)
