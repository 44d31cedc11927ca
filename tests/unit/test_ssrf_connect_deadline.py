"""The guarded connection's timeout is one deadline for all of a host's addresses (issue 13).

Before, each resolved address got the full connect timeout, so a name resolving to N blackholed
addresses held a page read for N timeouts. The resolver is patched to loopback addresses and the
dial itself is patched (a blackhole that waits out whatever timeout it is given), so nothing is
ever sent, and nothing could leave 127.0.0.1 if the patch failed.
"""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Iterable

import httpcore
import pytest

from providers import ssrf
from providers.ssrf import GuardedBackend

TIMEOUT = 0.3
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 7)]  # five blackholed addresses


class Dialer:
    """Stands in for httpcore's dial: records the timeout each address got."""

    def __init__(self) -> None:
        self.answering: set[str] = set()
        self.refusing: set[str] = set()
        self.timeouts: dict[str, float | None] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        assert host.startswith("127."), host
        self.timeouts[host] = timeout
        if host in self.answering:
            return typing.cast(httpcore.AsyncNetworkStream, object())
        if host in self.refusing:
            raise httpcore.ConnectError(f"{host} refused")
        # A blackhole: no answer, so the attempt lasts exactly as long as its timeout.
        await asyncio.sleep(timeout if timeout is not None else 3600)
        raise httpcore.ConnectTimeout(f"{host} did not answer")


@pytest.fixture
def dialer(monkeypatch: pytest.MonkeyPatch) -> Dialer:
    async def resolve(host: str, port: int) -> list[str]:
        return list(ADDRESSES)

    fake = Dialer()

    async def dial(
        _backend: httpcore.AnyIOBackend, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        return await fake.connect_tcp(*args, **kwargs)

    monkeypatch.setattr(ssrf, "resolve", resolve)
    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", dial)
    return fake


async def test_blackholed_addresses_share_one_timeout(dialer: Dialer) -> None:
    backend = GuardedBackend(allow_private=True)
    started = time.monotonic()
    with pytest.raises(httpcore.ConnectTimeout):
        # The outer bound only keeps a regression from hanging the suite.
        await asyncio.wait_for(backend.connect_tcp("many.test", 80, timeout=TIMEOUT), 10)
    elapsed = time.monotonic() - started
    # Before: five addresses x TIMEOUT = 1.5 s. Now one TIMEOUT, plus scheduling slack.
    assert elapsed < TIMEOUT * 2, elapsed
    assert dialer.timeouts, "no address was dialled"
    given = [t for t in dialer.timeouts.values() if t is not None]
    assert len(given) == len(dialer.timeouts) and sum(given) <= TIMEOUT + 0.05, dialer.timeouts


async def test_a_later_address_gets_what_is_left(dialer: Dialer) -> None:
    # The first address is refused at once, so the second has nearly the whole timeout.
    dialer.refusing = {ADDRESSES[0]}
    dialer.answering = {ADDRESSES[1]}
    backend = GuardedBackend(allow_private=True)
    stream = await backend.connect_tcp("many.test", 80, timeout=TIMEOUT)
    assert stream is not None
    assert list(dialer.timeouts) == ADDRESSES[:2]
    first, second = dialer.timeouts[ADDRESSES[0]], dialer.timeouts[ADDRESSES[1]]
    assert first is not None and second is not None
    assert 0 < second <= first <= TIMEOUT


async def test_no_timeout_stays_no_timeout(dialer: Dialer) -> None:
    dialer.answering = {ADDRESSES[0]}
    backend = GuardedBackend(allow_private=True)
    await backend.connect_tcp("many.test", 80, timeout=None)
    assert dialer.timeouts == {ADDRESSES[0]: None}
