"""Fixtures: a Stripe sandbox in process, an httpx client bound to it, and one gateway for the package.

The gateway (start-up costs seconds) is shared by the governed, webhook and burst tests, on one
package-wide event loop; each test leaves faults, breaker and connector settings as it found them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from apis.system.kit.circuit_breaker import CircuitBreakerConfig
from sandboxes.stripe import DEFAULT_SECRET_KEY, StripeSandbox, create_stripe_sandbox
from tests.support.harness import Gateway, running_gateway
from tests.support.stripe_gateway import WEBHOOK_PATH, speed_up, stripe_sandbox

BASE = "http://stripe.sandbox"
AUTH = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}


@pytest.fixture
def sandbox() -> StripeSandbox:
    return create_stripe_sandbox()


@pytest.fixture
async def http(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, headers=AUTH) as client:
        yield client


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def shared_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """One gateway whose Stripe sandbox delivers its webhooks to the gateway itself, in process."""
    async with running_gateway(tmp_path_factory.mktemp("stripe-gateway")) as gateway:
        sandbox = stripe_sandbox(gateway)
        sandbox.webhooks.configure(f"http://127.0.0.1:8080{WEBHOOK_PATH}", "whsec_strata_sandbox")
        sandbox.webhooks.transport = httpx.ASGITransport(app=gateway.app, client=("127.0.0.1", 40001))
        sandbox.webhooks.backoff_seconds = 0.001
        yield gateway
        await sandbox.webhooks.aclose()


@pytest_asyncio.fixture(loop_scope="package")
async def gw(shared_gateway: Gateway) -> AsyncIterator[Gateway]:
    """The shared gateway with fast connector settings and a fresh breaker; faults cleared afterwards."""
    speed_up(shared_gateway, breaker=CircuitBreakerConfig())
    yield shared_gateway
    stripe_sandbox(shared_gateway).faults.clear()
