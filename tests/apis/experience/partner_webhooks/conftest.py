"""Partner webhook tests: one gateway per module, partners northwind (A) and contoso (B)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.apis.experience.partner_webhooks.portal import FAST_WEBHOOK_SETTINGS, Hooks, make_hooks
from tests.apis.experience.partner_webhooks.receiver import Receiver
from tests.support.harness import running_gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hooks(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hooks]:
    """A gateway with the engine on (the outbox relay and the delivery worker run) and fast retries."""
    settings = {"workflows_enabled": True, "reconciliation_schedule_hour": -1, **FAST_WEBHOOK_SETTINGS}
    async with running_gateway(tmp_path_factory.mktemp("partner-webhooks"), **settings) as gw:
        yield await make_hooks(gw)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hooks]:
    """A gateway without the engine, and with the production default on URLs (no http on localhost)."""
    async with running_gateway(tmp_path_factory.mktemp("partner-webhooks-api")) as gw:
        yield await make_hooks(gw)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver answering 200, closed after the test."""
    server = Receiver().start()
    try:
        yield server
    finally:
        server.close()
