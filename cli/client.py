"""A small synchronous client for the REST API (v1); the API's errors come as the exceptions
of cli/client_errors.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError
from pydantic_settings import SettingsError

from cli.client_errors import ApiError, ApiUnreachable, api_error, transport_reason
from domain.run import RunView
from settings import Settings

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_URL_ENV = "RESEARCH_API_URL"
API_KEY_ENV = "RESEARCH_API_KEY"
# The server sends a keep-alive every 15 s; three missed ones mean the line is dead.
STREAM_READ_TIMEOUT_S = 45.0
# A person's answer or decision whose reply was lost is sent again, with the same request id,
# after these pauses: long enough for an API that was restarted to come back.
INPUT_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
# Replies that say the request may not have been applied yet: a proxy or the API's own
# Temporal connection gave up. A timed-out request is not sent again: the API is there but stuck.
RETRY_STATUSES = frozenset({502, 503, 504})


class ApiClient:
    """The calls the `research` commands make; every path is under /api/v1."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,  # tests hand in a fake API here
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        api_key = api_key or configured_api_key()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            timeout=timeout,
            transport=transport,
            headers=headers,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(self.base_url) from exc
        except httpx.TransportError as exc:
            # Read timeouts and dropped connections: the API is there but not answering.
            raise ApiUnreachable(self.base_url, transport_reason(exc)) from exc
        if response.is_error:
            raise api_error(response)
        return response

    @contextmanager
    def event_stream(self, run_id: str, after: int = 0) -> Iterator[Iterator[str] | None]:
        """The run's SSE lines from `after` on; None when the server says nothing is left."""
        headers = {"Accept": "text/event-stream"}
        if after:
            headers["Last-Event-ID"] = str(after)
        timeout = httpx.Timeout(self.timeout, read=STREAM_READ_TIMEOUT_S)
        try:
            with self._http.stream(
                "GET", f"/runs/{run_id}/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code == 204:
                    yield None
                    return
                if response.is_error:
                    response.read()
                    raise api_error(response)
                yield response.iter_lines()
        # Also raised while the caller reads the lines: a dropped stream is a transport error.
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiUnreachable(self.base_url) from exc
        except httpx.TransportError as exc:
            raise ApiUnreachable(self.base_url, transport_reason(exc)) from exc

    def start_run(
        self,
        question: str,
        options: dict[str, Any],
        run_id: str | None = None,
        follow_up: str | None = None,
    ) -> dict[str, Any]:
        """Start a run; with `follow_up`, one that follows up that finished run."""
        body: dict[str, Any] = {"question": question, "options": options}
        if run_id:
            body["run_id"] = run_id
        path = f"/runs/{follow_up}/followups" if follow_up else "/runs"
        return self._request("POST", path, json=body).json()

    def get_run(self, run_id: str) -> RunView:
        return RunView.model_validate(self._request("GET", f"/runs/{run_id}").json())

    def answer(self, run_id: str, answers: dict[str, str], *, skip: bool = False) -> Any:
        body: dict[str, Any] = {"skip": True} if skip else {"answers": answers}
        return self._send_input(f"/runs/{run_id}/clarification", body)

    def decide(
        self,
        run_id: str,
        accepted: bool,
        comment: str = "",
        budget: dict[str, Any] | None = None,
        plan: list[str] | None = None,
    ) -> Any:
        body: dict[str, Any] = {"accepted": accepted}
        if comment:
            body["comment"] = comment
        if budget:
            body["budget"] = budget  # new limits, for a run paused on its budget
        if plan is not None:
            body["plan"] = plan  # the edited plan, at plan review
        return self._send_input(f"/runs/{run_id}/acceptance", body)

    def strike_claim(self, run_id: str, claim_id: str, reason: str = "") -> Any:
        body = {"reason": reason} if reason else {}
        return self._send_input(_claim_path(run_id, claim_id, "strike"), body)

    def find_source(self, run_id: str, claim_id: str) -> Any:
        return self._send_input(_claim_path(run_id, claim_id, "find-source"), {})

    def _send_input(self, path: str, body: dict[str, Any]) -> Any:
        """POST a person's input with a fresh request id, sent again with the same id while the
        API's reply is lost (a dropped connection, an API coming back, a 502/503/504): the run
        applies it once and answers every repeat with the first result."""
        body = {**body, "request_id": uuid.uuid4().hex}
        for attempt, delay in enumerate((*INPUT_RETRY_DELAYS_S, None)):
            try:
                return self._request("POST", path, json=body).json()
            except ApiUnreachable as exc:
                # Refused at the first try: no API there. Later, it may be restarting.
                nothing_there = exc.broken is None and attempt == 0
                stuck = isinstance(exc.__cause__, httpx.TimeoutException)
                if delay is None or nothing_there or stuck:
                    raise
            except ApiError as exc:
                if delay is None or exc.status not in RETRY_STATUSES:
                    raise
            time.sleep(delay)
        raise AssertionError("unreachable")

    def list_runs(self, **filters: Any) -> dict[str, Any]:
        params = {key: value for key, value in filters.items() if value is not None}
        return self._request("GET", "/runs", params=params).json()

    def stop(self, run_id: str, reason: str = "") -> Any:
        return self._request("POST", f"/runs/{run_id}/stop", json={"reason": reason}).json()

    def cancel(self, run_id: str) -> Any:
        return self._request("POST", f"/runs/{run_id}/cancel").json()

    def report_as(self, run_id: str, fmt: str) -> str:
        """The final report in `fmt` (md, html, json), exactly as the API sent it."""
        return self._request("GET", f"/runs/{run_id}/report", params={"format": fmt}).text

    def sources_raw(self, run_id: str) -> str:
        return self._request("GET", f"/runs/{run_id}/sources").text

    def report(self, run_id: str) -> str | None:
        """The final report as Markdown, or None while there is none (409)."""
        try:
            return self._request("GET", f"/runs/{run_id}/report").text
        except ApiError as exc:
            if exc.status == 409:
                return None
            raise

    def sources(self, run_id: str) -> list[dict[str, Any]]:
        data = self._request("GET", f"/runs/{run_id}/sources").json()
        # Accept a bare list or an envelope such as {"sources": [...]}.
        if isinstance(data, dict):
            data = data.get("sources", [])
        return [item for item in data if isinstance(item, dict)]


def configured_api_key() -> str | None:
    """RESEARCH_API_KEY from the environment or `.env` (the `--api-key` flag wins over it)."""
    try:
        key = Settings().api_key
    except (ValidationError, SettingsError):
        # Some other setting on this machine is malformed; that is not the client's business.
        return None
    return key.get_secret_value() if key else None


def _claim_path(run_id: str, claim_id: str, action: str) -> str:
    # A claim id is the model's or the writer's text: quoted whole, so it stays one path segment.
    return f"/runs/{run_id}/claims/{quote(claim_id, safe='')}/{action}"
