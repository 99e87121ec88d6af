"""Where a webhook may go: a URL's host is checked against what it resolves to, not only its form.

The DNS answers are the one stand-in here (``answers``): which addresses a partner's name
resolves to is the partner's DNS, not ours. The machine's own host name, which resolves to a
loopback or private address on these machines, is the real-DNS case.
"""

from __future__ import annotations

import socket

import pytest

from apis.experience.partner_portal.webhooks.destinations import (
    Resolver,
    destination_problem,
    registration_problem,
    system_resolver,
)
from tests.experience.partner_webhooks.portal import local_host_name

PUBLIC = "93.184.215.14"


def answers(*addresses: str) -> Resolver:
    """A resolver answering ``addresses`` for every name (none: the name does not resolve)."""

    async def resolve(host: str, port: int) -> list[str]:
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(addresses)

    return resolve


async def never(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should not have been resolved")


async def test_a_name_resolving_to_public_addresses_is_accepted() -> None:
    assert await destination_problem("https://hooks.partner.example/in", False, answers(PUBLIC, "2606:2800::1")) is None


@pytest.mark.parametrize(
    "address",
    ["10.0.0.7", "127.0.0.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1%eth0", "fd00::7", "0.0.0.0"],
)
async def test_a_name_resolving_to_a_non_public_address_is_refused_naming_it(address: str) -> None:
    problem = await destination_problem("https://hooks.partner.example/in", False, answers(PUBLIC, address))
    assert problem is not None and f"resolves to {address}" in problem


async def test_the_port_of_the_url_is_what_is_resolved() -> None:
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [PUBLIC]

    await destination_problem("https://hooks.partner.example:8443/in", False, resolve)
    await destination_problem("https://hooks.partner.example/in", False, resolve)
    assert asked == [("hooks.partner.example", 8443), ("hooks.partner.example", 443)]


async def test_literals_and_allowed_loopback_names_are_not_resolved() -> None:
    assert await destination_problem(f"https://{PUBLIC}/in", False, never) is None
    assert await destination_problem("http://localhost:8080/in", True, never) is None
    assert await destination_problem("http://127.0.0.1:8080/in", True, never) is None


async def test_the_form_is_checked_again_at_delivery() -> None:
    # registered while local delivery was allowed, delivered after it was turned off
    assert await destination_problem("http://127.0.0.1:8080/in", False, never) is not None
    assert await destination_problem("http://hooks.partner.example/in", False, never) == "must use https"


async def test_a_name_that_does_not_resolve_fails_a_delivery_but_not_a_registration() -> None:
    with pytest.raises(OSError):
        await destination_problem("https://not-yet.partner.example/in", False, answers())
    assert await registration_problem("https://not-yet.partner.example/in", False, answers()) is None


async def test_the_machines_own_name_is_refused_through_real_dns() -> None:
    name = local_host_name()
    problem = await registration_problem(f"https://{name}:8443/in", False, system_resolver)
    assert problem is not None and "resolves to" in problem
