"""The pre-front-end gate (`python -m scripts.smoke`) against the stack with the scripted model:
it passes on a sound API and names the step when the contract breaks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.worker import Worker

from scripts.smoke import main


async def test_smoke_script_passes_and_saves_every_response(
    base_url: str, worker: Worker, tmp_path: Path
) -> None:
    out = tmp_path / "smoke"
    code = await asyncio.to_thread(main, ["--api-url", base_url, "--out", str(out), "--poll", "2"])
    assert code == 0
    saved = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    assert {"trigger", "status", "output", "context"} <= saved.keys()
    assert saved["trigger"]["status_code"] == 202
    assert saved["status"]["body"]["status"] == "completed"
    assert saved["output"]["body"]["content"]
    assert saved["context"]["body"]["context_bundle"]["sources"]


async def test_smoke_script_names_the_broken_step(
    base_url: str, tmp_path: Path, capsys: object
) -> None:
    # A path that is not the API answers 404 to the trigger: the first step is broken.
    code = await asyncio.to_thread(
        main, ["--api-url", f"{base_url}/nowhere", "--out", str(tmp_path / "bad")]
    )
    assert code == 1
    trigger = json.loads((tmp_path / "bad" / "trigger.json").read_text(encoding="utf-8"))
    assert trigger["status_code"] == 404


def test_smoke_script_reports_an_unreachable_api(tmp_path: Path) -> None:
    code = main(["--api-url", "http://127.0.0.1:9", "--out", str(tmp_path / "none")])
    assert code == 2
