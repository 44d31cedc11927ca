"""Seed 002's pre-front-end smoke test: act as the front end against a running API.

    uv run python -m scripts.smoke --api-url http://127.0.0.1:8000 --out smoke-out

Triggers a run, polls `/status` every `--poll` seconds (2-5) until it is terminal, fetches
`/output` and `/context`, and saves every response as JSON under `--out`. Exits 0 when the
lifecycle contract held, 1 naming the broken step otherwise (2: the API is unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"completed", "completed_with_gaps", "failed", "stopped"}
STATUSES = TERMINAL | {"queued", "running"}


class Broken(Exception):
    """A step of the lifecycle contract failed; the message names it."""


def save(out: Path, name: str, resp: httpx.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        body = {"non_json_body": resp.text}
    record = {"status_code": resp.status_code, "url": str(resp.url), "body": body}
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return body


def expect(step: str, ok: bool, why: str) -> None:
    if not ok:
        raise Broken(f"{step}: {why}")


def smoke(http: httpx.Client, out: Path, question: str, poll: float, timeout: float) -> str:
    """Run the lifecycle once; returns the terminal status, raises Broken naming the step."""
    resp = http.post(
        "/api/v1/runs",
        json={
            "question": question,
            "enable_sql": False,
            "markdown_path": None,
            "log_llm_payload": False,
        },
    )
    run = save(out, "trigger", resp)
    expect("trigger", resp.status_code == 202, f"expected 202, got {resp.status_code}")
    for field in ("run_id", "status", "status_url", "output_url", "context_url"):
        expect("trigger", field in run, f"the 202 has no {field!r}")
    expect("trigger", run["status_url"].endswith("/status"), "status_url must end in /status")
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        resp = http.get(run["status_url"])
        polls += 1
        status = save(out, "status", resp)
        expect("status", resp.status_code == 200, f"expected 200, got {resp.status_code}")
        expect("status", status.get("status") in STATUSES, f"unknown status {status!r}")
        if status["status"] in TERMINAL:
            break
        if polls == 1:
            # Before the run is terminal, the answer must not be served yet.
            early = http.get(run["output_url"])
            save(out, "output_early", early)
            expect("output", early.status_code == 409, f"{early.status_code} before terminal")
        expect("status", time.monotonic() < deadline, f"not terminal after {timeout:g} s")
        time.sleep(poll)
    resp = http.get(run["output_url"])
    output = save(out, "output", resp)
    expect("output", resp.status_code == 200, f"expected 200, got {resp.status_code}")
    for field in ("run_id", "status", "content", "final_output_path"):
        expect("output", field in output, f"no {field!r}")
    resp = http.get(run["context_url"])
    context = save(out, "context", resp)
    expect("context", resp.status_code == 200, f"expected 200, got {resp.status_code}")
    for field in ("run_id", "status", "context_bundle", "context_bundle_path"):
        expect("context", field in context, f"no {field!r}")
    expect("context", isinstance(context["context_bundle"], dict), "context_bundle not an object")
    return str(status["status"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    parser.add_argument("--api-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("smoke-out"))
    parser.add_argument("--question", default="How is grid energy stored?")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls (2-5)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (s)")
    parser.add_argument("--api-key", default=None, help="sent as a Bearer token if given")
    args = parser.parse_args(argv)
    if not 2.0 <= args.poll <= 5.0:
        parser.error("--poll must be between 2 and 5 seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    try:
        with httpx.Client(base_url=args.api_url, headers=headers, timeout=30) as http:
            status = smoke(http, args.out, args.question, args.poll, args.timeout)
    except Broken as exc:
        print(f"smoke: broken step {exc}", file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(f"smoke: the API at {args.api_url} is unreachable: {exc}", file=sys.stderr)
        return 2
    print(f"smoke: ok, the run ended {status}; responses in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
