"""The guard that keeps page reads out of our own network, and the connection that obeys it.

A question must not make the worker probe its own network (cloud metadata at 169.254.169.254,
admin consoles on 10/8). Checking a name and then letting the HTTP library resolve it again is
not enough: the name can answer differently the second time (DNS rebinding) and the request is
out before anyone looks. So `GuardedBackend` is the network layer of the page client: it resolves
each host once, checks every address with `blocked`, and dials only an address it checked. The
URL keeps its host name, so the Host header, TLS SNI and certificate check are unchanged.
The connect timeout is one deadline for all of a host's addresses: each attempt gets what is left.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import typing
from collections.abc import Iterable

import httpcore
from temporalio.exceptions import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose low 32 bits are an IPv4 address a gateway will reach for us.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known NAT64 prefix
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, compatible, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in (_NAT64, _IPV4_COMPATIBLE, _IPV4_TRANSLATED)):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def blocked(ip: IPAddress) -> bool:
    """True for any address that is not plainly public, or that carries one that is not."""
    if not ip.is_global or ip.is_multicast:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        return any(blocked(v4) for v4 in embedded_ipv4(ip))
    return False


def address_blocked(message: str) -> ApplicationError:
    return ApplicationError(message, type="address_blocked", non_retryable=True)


def parse_ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (tests patch this)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_all(host: str, addresses: Iterable[str], target: str | None = None) -> None:
    """Refuse (non-retryably) if any address of `host` is not public."""
    for address in addresses:
        ip = parse_ip(address)
        if blocked(ip):
            raise address_blocked(
                f"refusing to fetch {target or host}: {host} resolves to non-public address {ip}"
            )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the guard in it: resolve once, check, dial what was checked."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except socket.gaierror as exc:
            # Retryable like any connect error: an unknown name may be a resolver hiccup.
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not self.allow_private:
            check_all(host, addresses)
        last: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        # One connect timeout for the whole host, not one per address: a name that resolves to
        # N blackholed addresses would otherwise hold the read for N timeouts.
        deadline = None if timeout is None else time.monotonic() + timeout
        for address in addresses:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} took over {timeout}s")
            try:
                return await self._inner.connect_tcp(
                    parse_ip(address).compressed, port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("page reads never use a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
