"""A finished run's hand-over files: `final.md` (the report) and `context_bundle.json` (what the
report rests on), beside the `run.json` the workflow saves. Seed 002's front end reads them
(docs/contracts.md); any other tool may too.

The workflow writes them as it finishes (`artifacts.save_run_files`, behind the patch
`run-files`); the API writes the same files on first read for runs that never reached that save
(failed, cancelled, or recorded before it). Same view, same bytes, so the two never disagree.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity

from activities.table import SAVE_RUN_FILES
from domain.calls import RunFiles, SaveRunFiles
from domain.run import RunView
from providers.artifacts import ArtifactStore, run_key

RUN_FILE, FINAL_FILE, BUNDLE_FILE = "run.json", "final.md", "context_bundle.json"


def context_bundle(store: ArtifactStore, view: RunView, folder: str) -> dict[str, Any]:
    sources = store.read_json(view.sources_ref) if view.sources_ref else []
    return {
        "run_id": view.run_id,
        "question": view.question,
        "status": view.status.value,
        "finish_reason": view.finish_reason,
        "plan": view.plan,
        "options": view.options.model_dump(mode="json"),
        "sources": sources,
        "report": {
            "final": run_key(folder, FINAL_FILE),
            "markdown": view.report_ref,
            "json": view.report_json_ref,
            "sources": view.sources_ref,
        },
        "progress": view.progress.model_dump(mode="json"),
        "usage": view.usage.model_dump(mode="json"),
    }


def write_run_files(store: ArtifactStore, view: RunView, folder: str) -> RunFiles:
    """Make sure the run's three files exist. Blocking file I/O: call it in a thread.

    `run.json` is the workflow's own when it wrote one (it does as a run finishes); failed and
    cancelled runs get their terminal view instead.
    """
    run_json = run_key(folder, RUN_FILE)
    if not store.exists(run_json):
        store.write_json(run_json, view.model_dump(mode="json"))
    report = store.read_text(view.report_ref) if view.report_ref else ""
    final = store.write_text(run_key(folder, FINAL_FILE), report)
    bundle = store.write_json(run_key(folder, BUNDLE_FILE), context_bundle(store, view, folder))
    return RunFiles(final=final, context_bundle=bundle)


class RunFileActivities:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @activity.defn(name=SAVE_RUN_FILES.name)
    async def save_run_files(self, req: SaveRunFiles) -> RunFiles:
        """final.md and context_bundle.json of a finished run (run.json is saved before)."""
        return await asyncio.to_thread(write_run_files, self.store, req.view, req.run_id)
