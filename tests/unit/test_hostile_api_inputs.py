"""Hostile headers and query values that used to answer 500: each is now a 422 in the one
error shape, refused before any Temporal call (the client stub fails the test if one is made).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.deps import get_temporal_client
from api.errors import ApiError
from api.main import create_app
from api.routes.events import resume_point
from settings import Settings
from tests.helpers.offline_api import UntouchableClient, assert_error


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(temporal_address="127.0.0.1:1", data_dir=tmp_path))
    app.dependency_overrides[get_temporal_client] = UntouchableClient
    # raise_app_exceptions=False: a 500 comes back as the response it is, not as a crash here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


@pytest.mark.parametrize(
    "value",
    [
        b"9" * 5000,  # int() refuses over 4300 digits: was a ValueError, a 500
        b"9" * 40,  # past any sequence number (int64) a run can have
        b"\xb2",  # Latin-1 superscript two: str.isdigit() says yes, int() says no
        "\u0663".encode(),  # ARABIC-INDIC DIGIT THREE, as UTF-8
    ],
)
async def test_bad_last_event_id_is_a_422(api: httpx.AsyncClient, value: bytes) -> None:
    resp = await api.get("/api/v1/runs/r1/events", headers={"Last-Event-ID": value})
    body = assert_error(resp, 422, "invalid_request")
    assert len(body["details"]["last_event_id"]) <= 64


@pytest.mark.parametrize("value", ["\u0663", "\u0661\u0662", "\uff17"])
def test_non_ascii_digits_are_not_event_ids(value: str) -> None:
    # Python's int() reads Arabic-Indic and full-width digits; an event id is ASCII digits only.
    with pytest.raises(ApiError) as caught:
        resume_point(None, value)
    assert caught.value.status == 422 and caught.value.error_code == "invalid_request"


def test_event_ids_still_resume() -> None:
    assert resume_point(None, " 42 ") == 42 and resume_point(7, None) == 7


@pytest.mark.parametrize(
    "query",
    [
        {"created_after": "9999-12-31T23:59:59-12:00"},  # past year 9999 once in UTC
        {"created_before": "0001-01-01T00:00:00+01:00"},  # before year 1 once in UTC
        {"created_after": "0001-01-01T00:00:00+14:00", "created_before": "2026-01-01T00:00Z"},
    ],
)
async def test_dates_at_the_ends_of_the_range_are_a_422(
    api: httpx.AsyncClient, query: dict[str, str]
) -> None:
    resp = await api.get("/api/v1/runs", params=query)
    body = assert_error(resp, 422, "invalid_request")
    (error,) = body["details"]["errors"]
    assert error["loc"][0] == "query" and error["loc"][1] in query
