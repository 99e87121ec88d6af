"""Fixtures: a Stripe sandbox in process and an httpx client bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandboxes.stripe import DEFAULT_SECRET_KEY, StripeSandbox, create_stripe_sandbox

BASE = "http://stripe.sandbox"
AUTH = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}


@pytest.fixture
def sandbox() -> StripeSandbox:
    return create_stripe_sandbox()


@pytest.fixture
async def http(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, headers=AUTH) as client:
        yield client
