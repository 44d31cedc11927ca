"""What every fault scenario shares: runs in waves under a fault loop, the audit, the tally.

A scenario starts its own embedded stack (`bench.stack.BenchStack`: Temporal dev server on
SQLite, the scripted LLM, worker and API processes), plays the person for each run through
`driver.drive` while a fault fires at random moments, then audits every run (`audit.py`) with a
live worker. The tally is one row of the fault table.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import PendingActivityState

from bench.stack import BenchStack, WorkerProcess
from domain.run import RunStatus
from providers.artifacts import ArtifactStore
from settings import PROJECT_ROOT
from tests.faults.audit import History, RunAudit, audit_run, llm_accounting, read_history
from tests.faults.driver import Drive
from tests.helpers.stack import identity, pollers

# Every LLM call takes this long at the fake, so kills and restarts often land mid-call.
SLOW_LLM = {kind: 0.4 for kind in ("text", "QuestionsDraft", "QueriesDraft", "NotesDraft")}
SLOW_LLM |= {"GapsDraft": 0.4, "ReportDraft": 0.6}


@dataclass
class Tally:
    """One scenario's row: runs tried and completed, faults injected, retries, anything lost."""

    name: str
    tried: int = 0
    completed: int = 0
    faults: int = 0
    retries: int = 0
    decisions: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return len(self.problems)

    def add(self, audit: RunAudit, drive: Drive) -> None:
        self.completed += audit.ended_well
        self.retries += audit.history.retries
        self.decisions += len(drive.decisions)
        self.problems += drive.problems + audit.problems


def run_ids(scenario: str, runs: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"{scenario}-{tag}-{i}" for i in range(runs)]


def waves(items: list[str], size: int) -> Iterable[list[str]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


async def with_faults(
    work: list[Awaitable[Drive]],
    fault: Callable[[], Awaitable[None]],
    rng: random.Random,
    every: tuple[float, float],
    first: tuple[float, float] | None = None,
) -> tuple[list[Drive | BaseException], int]:
    """Run `work` while `fault()` fires every `every` seconds (uniform; the first time after
    `first` seconds if given) until all of it has ended."""
    tasks = [asyncio.ensure_future(w) for w in work]
    fired = 0
    while True:
        await asyncio.wait(tasks, timeout=rng.uniform(*(first if not fired and first else every)))
        if all(t.done() for t in tasks):
            break
        await fault()
        fired += 1
    results: list[Drive | BaseException] = []
    for task in tasks:
        exc = task.exception()
        results.append(exc if exc is not None else task.result())
    return results, fired


async def audit_wave(
    stack: BenchStack,
    tally: Tally,
    ids: list[str],
    drives: list[Drive | BaseException],
    allowed: frozenset[RunStatus] = frozenset({RunStatus.completed}),
) -> list[History]:
    """Audit each run of a wave into the tally; a run whose person could not finish is lost."""
    store = ArtifactStore(stack.settings.artifacts_dir)
    histories = []
    for run_id, drive in zip(ids, drives, strict=True):
        tally.tried += 1
        if isinstance(drive, BaseException):
            # Its LLM calls still count against its attempts in the scenario's accounting.
            history = await read_history(stack.handle(run_id))
            histories.append(history)
            failed = [
                f"{a.type} x{a.attempt} {a.closes}"
                for a in history.activities
                if a.closes != ["completed"]
            ]
            tally.problems.append(f"{run_id}: did not finish: {drive!r}; unfinished: {failed}")
            continue
        audit = await audit_run(
            stack.handle(run_id), run_id, store, drive.decisions, drive.update_ids, allowed
        )
        tally.add(audit, drive)
        histories.append(audit.history)
    return histories


def account_llm(stack: BenchStack, tally: Tally, histories: list[History]) -> None:
    tally.problems += llm_accounting(list(stack.llm.calls), histories)


async def running(stack: BenchStack, ids: list[str]) -> list[str]:
    """Types of the activities a worker is running for these runs right now."""
    types = []
    for run_id in ids:
        try:
            desc = await stack.handle(run_id).describe()
        except Exception:
            continue
        for act in desc.raw_description.pending_activities:
            if act.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                types.append(act.activity_type.name)
    return types


async def io_in_flight(stack: BenchStack, ids: list[str]) -> bool:
    """Whether a search, read or save runs now. Those don't heartbeat: a worker killed under
    one leaves it for its 45 s start-to-close timeout."""
    return any(not t.startswith("llm.") for t in await running(stack, ids))


async def hold_for_io(stack: BenchStack, ids: list[str], within: float = 10.0) -> bool:
    """Wait, at most `within` s, until no search, read or save runs; True if one did."""
    for tick in range(int(within / 0.05)):
        if not await io_in_flight(stack, ids):
            return tick > 0
        await asyncio.sleep(0.05)
    return True


async def polling(stack: BenchStack, worker: WorkerProcess, within: float = 120) -> float:
    """Seconds until `worker` polls the task queue; a fault before that would hit nothing."""
    assert worker.process is not None
    who, t0 = identity(worker.process), time.monotonic()
    while who not in await pollers(stack.client, stack.settings.task_queue):
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {worker.log_path}")
        if time.monotonic() - t0 > within:
            raise TimeoutError(f"the worker did not poll in {within:.0f}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - t0


class ModuleWorker(WorkerProcess):
    """A worker process started as `python -m <module>`, e.g. a worker with a faulty store."""

    def __init__(self, stack: BenchStack, module: str, extra_env: dict[str, str]) -> None:
        super().__init__(stack.settings, stack.work / "worker.log")
        self.env |= extra_env
        self.module = module

    def start(self) -> ModuleWorker:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self


def scenario_rng(seed: int, name: str) -> random.Random:
    # One stream per scenario, so adding a scenario does not move the others' fault times.
    return random.Random(f"{seed}-{name}")
