"""Customer portal tests: one gateway per module (engine off), two seeded customers with billing data.

Customers A and B are seeded CRM accounts that have a billing customer (the Stripe sandbox is
seeded from the CRM) and a product-platform account. Each gets a subscription of one licensed
and one metered price through the billing service (its first invoice is a draft), whose invoice
is finalized (open: it makes the balance), and A gets usage on the metered price.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from apis.canonical import SubscriptionCreate, SubscriptionItemInput, UsageEventCreate
from tests.support.harness import Gateway, running_gateway

PORTAL = "/experience/customer-portal/v1"
READ = "experience:customer-portal:read"
ACT = "experience:customer-portal:act"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
_KEYS = itertools.count()


@dataclass
class Customer:
    """A seeded customer and the billing objects made for it."""

    crm_account_id: str
    billing_customer_id: str
    subscription_id: str
    invoice_id: str


@dataclass
class Portal:
    """The module's gateway and its two customers."""

    gw: Gateway
    a: Customer
    b: Customer
    reader: dict[str, str]
    """An unbound internal client with the read scope."""

    async def bound(self, customer: Customer) -> dict[str, str]:
        """Headers of a fresh client bound to ``customer``."""
        return await self.gw.bearer(READ, customer_id=customer.crm_account_id)


async def _customer(gw: Gateway, billing_customer: Any, licensed: str, metered: str, *, usage: int) -> Customer:
    billing = gw.app.state.billing
    subscription = await billing.create_subscription(
        SubscriptionCreate(
            customer_id=billing_customer.id,
            items=[SubscriptionItemInput(price_id=licensed, quantity=2), SubscriptionItemInput(price_id=metered)],
        ),
        key=f"portal-test-subscription-{next(_KEYS)}",
    )
    assert subscription.latest_invoice_id is not None
    invoice = await billing.finalize_invoice(subscription.latest_invoice_id, key=f"portal-test-finalize-{next(_KEYS)}")
    if usage:
        await billing.record_usage(
            UsageEventCreate(
                event_name="api_calls", customer_id=billing_customer.id, value=usage, identifier=f"u-{next(_KEYS)}"
            ),
            key=f"portal-test-usage-{next(_KEYS)}",
        )
    return Customer(str(billing_customer.crm_account_id), billing_customer.id, subscription.id, invoice.id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def portal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Portal]:
    """One gateway (cache 300 s: tests of freshness use their own gateway) with customers A and B."""
    async with running_gateway(tmp_path_factory.mktemp("portal"), customer_portal_cache_seconds=300) as gw:
        billing = gw.app.state.billing
        (licensed,) = (await billing.list_prices(lookup_key="STRATA-CORE-usd")).items
        (metered,) = (await billing.list_prices(lookup_key="STRATA-USAGE-1M-usd")).items
        listed = (await billing.list_customers(limit=100)).items
        usd = [c for c in listed if c.crm_account_id and (c.currency or "").upper() == "USD"]
        a = await _customer(gw, usd[0], licensed.id, metered.id, usage=1234)
        b = await _customer(gw, usd[1], licensed.id, metered.id, usage=0)
        yield Portal(gw, a, b, reader=await gw.bearer(READ, tier="internal"))
