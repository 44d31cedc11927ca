"""The fault table: printed by `python -m tests.faults`, written to docs/faults.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.report import Result, md_table
from bench.stats import machine
from tests.faults.harness import Tally

COLUMNS = [
    "scenario",
    "runs tried",
    "runs completed",
    "faults injected",
    "retries seen",
    "decisions sent",
    "lost",
    "s",
]

HEAD = """# Fault suite

`tests/faults/` drives research runs to their end while one part of the system is broken on
purpose, at random moments, then audits every run. Each run answers a clarifying question,
rejects its first report with a comment and accepts the revision: three human decisions, each
sent under a request id and retried with that same id after any failure.

- **worker SIGKILL**: the worker process (`python -m worker`) is SIGKILLed 1-4 s after the
  last one started polling, and a new one started at once. Kills are held back while a search,
  read or save runs: those don't heartbeat, so a kill there only waits out their 45 s timeout.
- **Temporal server SIGKILL + restart**: the dev server is SIGKILLed every 1.5-5 s and started
  again on the same port and SQLite file after 0.2-2 s.
- **API SIGKILL mid-request**: each step (start, answer, reject, accept) is a burst of
  concurrent REST requests with the API killed 0-0.15 s after they left; a cut request is
  retried unchanged (same run_id, same request_id) once the API is back.
- **LLM + search + page faults**: the fake LLM, the stub SearXNG and the stub pages answer 30 %
  of requests with 429 (Retry-After 1), 500, a hang past the client's timeout, or a 200 whose
  JSON is cut off (not pages); the LLM also with content that is not the JSON asked for. Every
  other run searches the web only, so its failed searches are retried, not covered by local hits.
- **artifact store full / read-only**: the worker's store fails every write for 1-6 s at a
  time, with at least 10 s writable in between: ENOSPC at fsync (after the temp file was
  written) or EROFS when the temp file is created. The worker is `python -m
  tests.fakes.faulty_store`, the production worker with the store's `os.fsync` and
  `tempfile.mkstemp` failing on cue.

What every run is checked for (`tests/faults/audit.py`), each failure counted under **lost**:

- it ended `completed` (`completed_with_gaps` also counts under provider faults, where a source
  may fail for good);
- no completed activity result is lost: every activity in history closed exactly once; the
  run's token usage equals the sum over the completed LLM results; its `llm_call`,
  `source_read` and `notes_taken` events match the completed activities one for one; the
  sources bundle holds exactly the sources and notes those activities returned; the report it
  points at is the last one written;
- nothing ran again unseen: the fake LLM answered no kind of call more often than history
  shows attempts for it (and the stub web no more searches or pages than search and read
  attempts);
- each decision is applied exactly once: the run's `input_received` events equal what the
  person sent, in order, and each request's update is accepted exactly once in history, with
  no other update accepted; one report revision per rejection;
- the report is whole: report, sources bundle and run record read back, every `[n]` names a
  source in the bundle and is listed under the report's sources, every source's text is stored,
  and the run record's status is the run's.

**retries seen** counts activity attempts beyond the first, from history. `uv run pytest
tests/faults` runs every scenario with 2 runs, plus a test that damages a clean run's record in
each of these ways and sees the audit catch it.
"""


def table(tallies: list[Tally]) -> Result:
    result = Result("faults", "Fault suite", COLUMNS)
    for t in tallies:
        result.add(
            t.name, t.tried, t.completed, t.faults, t.retries, t.decisions, t.lost, t.seconds
        )
        result.notes += [f"{t.name}: {n}" for n in t.notes]
        result.notes += [f"{t.name}: LOST {p}" for p in t.problems]
    result.seconds = sum(t.seconds for t in tallies)
    return result


def write_md(result: Result, runs: int, seed: int, path: Path) -> None:
    info = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        f"{HEAD}\n## Latest table\n\n"
        f"`uv run python -m tests.faults --runs {runs} --seed {seed}`, {when}, on "
        f"{info.get('cpu')} ({info.get('cores')} cores, {info.get('ram_gb')} GB RAM), "
        f"{result.seconds / 60:.0f} minutes.\n\n" + md_table(result)
    )
