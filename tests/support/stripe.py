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
from sandboxes.stripe import StripeSandbox, create_stripe_sandbox
from tests.support.harness import Gateway, running_gateway
from tests.support.sandbox_access import STRIPE_KEY, operator_hooks
from tests.support.stripe_gateway import WEBHOOK_PATH, speed_up, stripe_sandbox

BASE = "http://stripe.sandbox"
AUTH = {"Authorization": f"Bearer {STRIPE_KEY}"}


@pytest.fixture
def sandbox() -> StripeSandbox:
    return create_stripe_sandbox(secret_key=STRIPE_KEY)


@pytest.fixture
async def http(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    hooks = operator_hooks(sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH, event_hooks=hooks) as client:
        yield client


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def shared_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """One gateway whose Stripe sandbox delivers its webhooks to the gateway itself, in process."""
    async with running_gateway(tmp_path_factory.mktemp("stripe-gateway")) as gateway:
        sandbox = stripe_sandbox(gateway)
        # Signed with the secret the gateway verifies with: the sandbox credentials of its state.
        secret = gateway.app.state.settings.stripe.webhook_secrets[0]
        sandbox.webhooks.configure(f"http://127.0.0.1:8080{WEBHOOK_PATH}", secret)
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
