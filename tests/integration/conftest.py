"""Fixtures of the integration room: a real Temporal dev server, the scripted LLM, a tiny corpus,
a worker, and the API served three ways (in-loop on a real port, in a thread, for the CLI).

Everything runs on loopback with free ports, so the suite never collides with a running
`research up` or with another checkout's tests. Session fixtures start only when a test asks for
them, and only tests under tests/integration can.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from settings import Settings
from stack.temporal_server import TemporalDevServer
from tests.fakes.llm_server import FakeLLM
from tests.helpers.frontends import Cli, api_in_loop
from tests.helpers.stack import TIME_SKIPPING, connect, stack_settings, start_dev_server
from tests.live import QUICK_STREAMS, ThreadedApi
from worker import build_activities, build_worker


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def temporal_server(data_dir: Path) -> Iterator[TemporalDevServer]:
    # Time skipping is allowed, but only a workflow that opts in (skip_time) skips.
    server = start_dev_server(data_dir, dynamic_config=TIME_SKIPPING)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def llm(fake_llm: FakeLLM) -> FakeLLM:
    """The scripted LLM, reset to its default script for this test."""
    fake_llm.reset()
    return fake_llm


@pytest.fixture(scope="session")
def settings(data_dir: Path, temporal_server: TemporalDevServer, fake_llm: FakeLLM) -> Settings:
    return stack_settings(
        temporal_server.address,
        fake_llm.base_url,
        data_dir,
        "research-tests",
        api_query_timeout_s=2.0,
    )


@pytest.fixture(scope="session")
async def client(temporal_server: TemporalDevServer) -> Client:
    return await connect(temporal_server.address)


@pytest.fixture(scope="session")
async def worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """One in-process worker on the tests' task queue, shared by the whole session."""
    activities = await asyncio.to_thread(build_activities, settings)
    running = build_worker(client, settings, activities)
    async with running:
        yield running


@pytest.fixture
def run_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def base_url(client: Client, settings: Settings) -> AsyncIterator[str]:
    """The API on a real port, in the test's own event loop (so it can share the client)."""
    async with api_in_loop(create_app(settings), client) as url:
        yield url


@pytest.fixture(scope="module")
def live_api(settings: Settings) -> Iterator[ThreadedApi]:
    """The API in a thread on a real socket, one per test module."""
    api = ThreadedApi(settings.model_copy(update=QUICK_STREAMS)).start()
    yield api
    api.stop()


@pytest.fixture
def cli(live_api: ThreadedApi) -> Cli:
    """The `research` command line pointed at `live_api`."""
    return Cli(live_api.url)
