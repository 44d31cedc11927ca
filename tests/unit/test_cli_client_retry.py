"""The CLI sends a person's answer or decision with a request id, and sends it again with the
same id when the reply was lost, so the run applies it once (the API's side of that promise:
tests/integration/test_exactly_once.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from cli.client import ApiClient
from cli.client_errors import ApiError, ApiUnreachable

Step = Callable[[httpx.Request], httpx.Response]


class FlakyApi:
    """Plays `steps` in order, one per request, and keeps the bodies it was sent."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return self.steps.pop(0)(request)

    @property
    def request_ids(self) -> list[str]:
        return [body["request_id"] for body in self.bodies]


def applied(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"subject": "report", "revision": 0, "replayed": False})


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Connection refused")


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out")


def status(code: int) -> Step:
    body = {"error_code": "temporal_unavailable", "message": "try again", "details": {}}
    return lambda request: httpx.Response(code, json=body)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("cli.client.time.sleep", slept.append)
    return slept


def client_for(api: FlakyApi) -> ApiClient:
    return ApiClient("http://api.test", transport=httpx.MockTransport(api))


@pytest.mark.parametrize(
    "lost",
    [
        [dropped],  # the API was killed after taking the decision
        [dropped, refused, refused],  # ... and took a moment to come back
        [status(503)],
        [status(502), status(504)],
    ],
    ids=["dropped", "restarting", "503", "502-504"],
)
def test_a_lost_reply_is_sent_again_with_the_same_request_id(
    lost: list[Step], no_sleep: list[float]
) -> None:
    api = FlakyApi(*lost, applied)
    result = client_for(api).decide("r1", False, "add costs")
    assert result["subject"] == "report"
    assert len(api.bodies) == len(lost) + 1
    assert len(set(api.request_ids)) == 1 and len(api.request_ids[0]) == 32
    assert all(body["comment"] == "add costs" for body in api.bodies)
    assert no_sleep == [0.5, 1.0, 2.0][: len(lost)]


def test_each_command_gets_its_own_request_id() -> None:
    api = FlakyApi(applied, applied)
    client = client_for(api)
    client.answer("r1", {"q1": "Europe"})
    client.decide("r1", True)
    assert len(set(api.request_ids)) == 2


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        ([refused], ApiUnreachable),  # nothing there at all: say so at once
        ([timed_out], ApiUnreachable),  # the API is there but stuck: do not pile on
        ([status(422)], ApiError),  # refused on its merits
        ([status(409)], ApiError),
        ([status(503)] * 5, ApiError),  # gave up after every pause
    ],
    ids=["no-api", "timeout", "422", "409", "503-always"],
)
def test_what_a_repeat_cannot_fix_is_not_repeated(steps: list[Step], error: type) -> None:
    api = FlakyApi(*steps)
    with pytest.raises(error):
        client_for(api).decide("r1", True)
    assert api.steps == []  # every step played, none more
