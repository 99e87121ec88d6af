"""Where a webhook may go: the outbound destination policy at registration and at every delivery.

The DNS answers are the one stand-in here (``answers``/``Counting``): which addresses a
partner's name resolves to is the partner's DNS, not ours. The machine's own host name, which
resolves to a loopback or private address on these machines, is the real-DNS case. The
delivery tests run the real worker's attempt (real delivery log and subscription store on SQLite) against a real
HTTPS receiver with a test CA (``tests/support/tls_server.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.experience.partner_portal.webhooks.deliveries import DeliveryQueue
from apis.experience.partner_portal.webhooks.routes import registration_problem
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from apis.experience.partner_portal.webhooks.worker import WebhookWorker, WorkerConfig
from core.db import create_engine
from core.destinations import Resolver, outbound_client, system_resolver
from core.migrations import create_schema
from tests.apis.experience.partner_webhooks.portal import customer_synced, local_host_name
from tests.core.test_destinations import PUBLIC_V4, Counting, answers, never, no_real_dns_for
from tests.support.tls_server import TestCA, TlsServer

HOOKS = "hooks.partner.test"


async def test_a_name_resolving_to_public_addresses_is_accepted() -> None:
    assert await registration_problem("https://hooks.partner.example/in", False, answers(PUBLIC_V4)) is None


@pytest.mark.parametrize("address", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "ff0e::1", "64:ff9b::7f00:1"])
async def test_a_name_resolving_to_a_non_public_address_is_refused_without_naming_it(address: str) -> None:
    problem = await registration_problem("https://hooks.partner.example/in", False, answers(PUBLIC_V4, address))
    assert problem is not None and problem.startswith("destination not allowed: not a public address (")
    assert address not in problem


async def test_loopback_only_with_the_switch() -> None:
    assert await registration_problem("http://127.0.0.1:8080/in", True, never) is None
    assert await registration_problem("http://localhost:8080/in", True, answers("127.0.0.1")) is None
    refused = await registration_problem("http://127.0.0.1:8080/in", False, never)
    assert refused == "destination not allowed: https required"


async def test_a_name_that_does_not_resolve_yet_may_be_registered() -> None:
    assert await registration_problem("https://not-yet.partner.example/in", False, answers()) is None


async def test_the_machines_own_name_is_refused_through_real_dns() -> None:
    name = local_host_name()
    problem = await registration_problem(f"https://{name}:8443/in", False, system_resolver)
    assert problem is not None and problem.startswith("destination not allowed: not a public address")


# ---------------------------------------------------------------------------------- the worker


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    database = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    await create_schema(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def receiver(ca: TestCA) -> Iterator[TlsServer]:
    with TlsServer(ca, (HOOKS,), status=204) as server:
        yield server


async def _deliver_once(
    engine: AsyncEngine, ca: TestCA, url: str, resolve: Resolver, *, allow_loopback: bool
) -> tuple[DeliveryQueue, str]:
    """Subscribe ``url``, queue one event, run its first attempt with the real worker; the queue and subscription id."""
    box = SecretBox("x" * 32)
    subscriptions = SubscriptionStore(engine, box)
    subscription, _ = await subscriptions.create("partner-x", url, ["strata.customer.synced"], None)
    queue = DeliveryQueue(engine)
    event = customer_synced("001x")
    assert await queue.enqueue(subscription.id, "partner-x", event)
    first = await queue.due(subscription.id, event.id)
    assert first is not None and first.owner is not None
    config = WorkerConfig(max_attempts=1, timeout_seconds=5.0, allow_loopback=allow_loopback)
    async with outbound_client(httpx.Timeout(config.timeout_seconds), verify=ca.client_context()) as http:
        assert await WebhookWorker(queue, subscriptions, http, config, resolve).attempt(first.id, first.owner)
    return queue, subscription.id


async def test_a_delivery_connects_to_the_checked_address_with_the_names_host_and_sni(
    engine: AsyncEngine, ca: TestCA, receiver: TlsServer
) -> None:
    no_real_dns_for(HOOKS)
    resolver = Counting(HOOKS, "127.0.0.1")
    url = f"https://{HOOKS}:{receiver.port}/in"
    queue, subscription_id = await _deliver_once(engine, ca, url, resolver, allow_loopback=True)
    [delivery], _ = await queue.page("partner-x", subscription_id, limit=10, position=None, status=None)
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("delivered", 204, None)
    assert resolver.calls == 1  # checked once, and no other resolver knows the name
    assert receiver.sni == [HOOKS]
    [seen] = receiver.requests
    assert (seen.method, seen.path, seen.host) == ("POST", "/in", f"{HOOKS}:{receiver.port}")


async def test_a_refused_destination_is_recorded_and_never_connected_to(
    engine: AsyncEngine, ca: TestCA, receiver: TlsServer
) -> None:
    started = time.time()
    url = f"https://{HOOKS}:{receiver.port}/in"
    queue, subscription_id = await _deliver_once(engine, ca, url, Counting(HOOKS, "127.0.0.1"), allow_loopback=False)
    [delivery], _ = await queue.page("partner-x", subscription_id, limit=10, position=None, status=None)
    assert delivery.status == "dead" and delivery.last_status_code is None
    assert delivery.last_error == "not sent: destination not allowed: not a public address (loopback)"
    assert delivery.last_attempt_at is not None and delivery.last_attempt_at >= started - 1
    assert receiver.connections == 0


async def test_a_name_that_stopped_resolving_is_a_failed_attempt(
    engine: AsyncEngine, ca: TestCA, receiver: TlsServer
) -> None:
    url = f"https://{HOOKS}:{receiver.port}/in"
    queue, subscription_id = await _deliver_once(engine, ca, url, answers(), allow_loopback=True)
    [delivery], _ = await queue.page("partner-x", subscription_id, limit=10, position=None, status=None)
    assert delivery.last_error == "not sent: the URL's host does not resolve"
    assert receiver.connections == 0


async def test_the_form_is_checked_again_at_delivery(engine: AsyncEngine, ca: TestCA, receiver: TlsServer) -> None:
    # registered while local delivery was allowed, delivered after it was turned off
    url = f"http://127.0.0.1:{receiver.port}/in"
    queue, subscription_id = await _deliver_once(engine, ca, url, never, allow_loopback=False)
    [delivery], _ = await queue.page("partner-x", subscription_id, limit=10, position=None, status=None)
    assert delivery.last_error == "not sent: destination not allowed: https required"
    assert receiver.connections == 0
