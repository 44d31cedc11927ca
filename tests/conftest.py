"""Shared fixtures: a real Temporal dev server, the scripted LLM, a tiny corpus and a worker.

Everything runs on loopback with free ports, so the suite never collides with a running
`research up` or with another checkout's tests.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from runtime.process_exit import exit_now
from runtime.temporal import connect as connect_temporal
from settings import Settings
from stack.temporal_server import TemporalDevServer
from tests.fakes.llm_server import FakeLLM
from worker import build_activities, build_worker

_EXIT_STATUS_KEY = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS_KEY] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End pytest with its own exit status once everything is reported, skipping the
    interpreter's teardown: this process holds Temporal clients, and the SDK's threads can abort
    that teardown with SIGABRT after every test passed (see stack/process_exit.py)."""
    if _EXIT_STATUS_KEY in config.stash:
        exit_now(config.stash[_EXIT_STATUS_KEY])


CORPUS = {
    "batteries.md": "# Lithium-ion batteries\n\nBattery storage shifts solar power into the "
    "evening. Lithium-ion battery storage dominates new grid storage because its cost fell "
    "sharply. Round-trip efficiency is about 90 percent.\n",
    "pumped_hydro.md": "# Pumped hydro\n\nPumped hydro storage moves water uphill when power is "
    "cheap and runs it through turbines when power is needed. Pumped hydro is the largest "
    "form of grid storage worldwide.\n",
    "tea.txt": "Tea is brewed from the leaves of Camellia sinensis. Green tea is not oxidised.\n",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    return folder


async def connect(address: str) -> Client:
    """A plain client (no payload codec) through the same connect as every process."""
    settings = Settings(temporal_address=address)
    return await connect_temporal(settings, attempts=1, converter=pydantic_data_converter)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def start_dev_server(data: Path, **options: Any) -> TemporalDevServer:
    """A dev server on a free port, tried again on a fresh port if its start fails.

    The CLI picks its internal ports itself; with other test runs and agents starting servers on
    the same machine one of them is now and then taken between its choice and its bind.
    """
    for attempt in range(3):
        server = TemporalDevServer(
            port=free_port(),
            ui_port=None,
            db_path=data / f"temporal-{attempt}.sqlite",
            log_path=data / "temporal.log",
            **options,
        )
        try:
            server.start()
            return server
        except (RuntimeError, TimeoutError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def temporal_server(data_dir: Path) -> Iterator[TemporalDevServer]:
    server = start_dev_server(data_dir)
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


def stack_settings(
    temporal_address: str, llm_base_url: str, data: Path, task_queue: str, **extra: Any
) -> Settings:
    """Settings for a test stack: its dev server, the scripted LLM, the tiny corpus in `data`."""
    return Settings(
        temporal_address=temporal_address,
        task_queue=task_queue,
        llm_base_url=llm_base_url,
        llm_model="fake",
        docs_dirs=[write_corpus(data / "corpus")],
        data_dir=data,
        **extra,
    )


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
