"""The SSRF guard on IPv6 addresses that carry an IPv4 one: the IPv4 inside decides.

Addresses are given as URL literals, so the check resolves nothing and nothing is connected to.
"""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from providers.fetch import FetchPolicy, check_address

# (form, literal): each reaches a private IPv4 address through a gateway or a stack.
EMBEDDING_PRIVATE = [
    ("NAT64 of 127.0.0.1", "64:ff9b::7f00:1"),
    ("NAT64 of 169.254.169.254", "64:ff9b::a9fe:a9fe"),
    ("IPv4-compatible ::127.0.0.1", "::7f00:1"),
    ("IPv4-compatible ::10.0.0.1", "::a00:1"),
    ("6to4 of 127.0.0.1", "2002:7f00:1::"),
    ("6to4 of 169.254.169.254", "2002:a9fe:a9fe::1"),
    ("IPv4-translated ::ffff:0:127.0.0.1", "::ffff:0:7f00:1"),
    ("IPv4-translated ::ffff:0:10.0.0.1", "::ffff:0:a00:1"),
    ("IPv4-mapped ::ffff:127.0.0.1", "::ffff:7f00:1"),
]


@pytest.mark.parametrize(("form", "literal"), EMBEDDING_PRIVATE)
async def test_ipv6_forms_of_private_ipv4_are_refused(form: str, literal: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        await check_address(f"http://[{literal}]/", FetchPolicy())
    assert caught.value.type == "address_blocked" and caught.value.non_retryable, form


@pytest.mark.parametrize("literal", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
async def test_ipv6_forms_of_public_addresses_pass(literal: str) -> None:
    await check_address(f"http://[{literal}]/", FetchPolicy())  # no refusal
