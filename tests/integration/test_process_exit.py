"""Processes that end through runtime.process_exit keep the exit status, output and logs they
would have had with a normal interpreter exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from settings import PROJECT_ROOT

SCRIPT = """
import asyncio, logging, sys
from runtime.process_exit import run_then_exit

logging.basicConfig(filename=sys.argv[2], level=logging.INFO)

async def main():
    print("work done")  # stdout is a pipe here, so this sits in a buffer until flushed
    logging.getLogger("t").info("logged before exit")
    {body}

run_then_exit(main())
"""


def run_script(body: str, log_path: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(SCRIPT).replace("{body}", body)
    return subprocess.run(
        [sys.executable, "-c", code, "-", log_path],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("body", "status", "stderr_part"),
    [
        ("return None", 0, ""),
        ("return 3", 3, ""),
        ("sys.exit(4)", 4, ""),
        ("sys.exit('bad settings')", 1, "bad settings"),
        ("raise ValueError('boom')", 1, "ValueError: boom"),
        ("raise KeyboardInterrupt", 130, ""),
    ],
)
def test_exit_status_output_and_logs_survive(
    body: str, status: int, stderr_part: str, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    done = run_script(body, str(log))
    assert done.returncode == status, done.stderr
    assert done.stdout == "work done\n"
    assert stderr_part in done.stderr
    assert "logged before exit" in log.read_text()
