"""Partner portal tests: one gateway per module (engine off) and the two seeded demo partners.

Partner A is ``partner-northwind``, partner B ``partner-contoso``: the Salesforce seed attributes
three accounts each (with their opportunities, several open) to them. For each partner, one
attributed account that has a billing customer gets a subscription, so every read has data.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from apis.canonical import SubscriptionCreate, SubscriptionItemInput
from tests.support.harness import Gateway, running_gateway

PORTAL = "/experience/partner-portal/v1"
READ = "experience:partner-portal:read"
WRITE = "experience:partner-portal:write"
A_ID, B_ID = "partner-northwind", "partner-contoso"
_KEYS = itertools.count()


@dataclass
class Partner:
    """A demo partner, a client bound to it, and its seeded objects."""

    partner_id: str
    headers: dict[str, str]
    """A bound client with read and write."""
    customer_ids: list[str]
    """Every CRM account attributed to the partner, in id order."""
    customer_id: str
    """The attributed account that has a billing customer and a subscription."""
    subscription_id: str
    deal_ids: list[str]
    """Every opportunity attributed to the partner, in id order."""
    open_deal: dict[str, Any] = field(default_factory=dict)
    """One open opportunity of the partner (the raw sandbox record) and its account's domain."""


@dataclass
class Portal:
    """The module's gateway and the two partners."""

    gw: Gateway
    a: Partner
    b: Partner

    def sandbox_records(self, sobject: str) -> list[dict[str, Any]]:
        """The Salesforce sandbox's records of ``sobject`` (the CRM the gateway talks to)."""
        return list(self.gw.app.state.components.sandbox_apps["salesforce"].store.all(sobject))


def domain_of(account: dict[str, Any]) -> str:
    """The web domain of a sandbox Account record."""
    return str(account["Website"]).split("://", 1)[1].removeprefix("www.")


def idempotency(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    """``headers`` plus a fresh (or the given) Idempotency-Key."""
    return {**headers, "Idempotency-Key": key or f"pp-{uuid.uuid4().hex}"}


async def _partner(gw: Gateway, partner_id: str, accounts: list[dict[str, Any]], opps: list[dict[str, Any]]) -> Partner:
    billing = gw.app.state.billing
    own = sorted(a["Id"] for a in accounts if a.get("Partner_Id__c") == partner_id)
    for account_id in own:
        billing_customer = await billing.find_customer_by_crm_account(account_id)
        if billing_customer is not None:
            break
    assert billing_customer is not None, f"no attributed account of {partner_id} has a billing customer"
    currency = (billing_customer.currency or "usd").lower()
    (price,) = (await billing.list_prices(lookup_key=f"STRATA-CORE-{currency}")).items
    subscription = await billing.create_subscription(
        SubscriptionCreate(customer_id=billing_customer.id, items=[SubscriptionItemInput(price_id=price.id)]),
        key=f"partner-portal-test-{partner_id}-{next(_KEYS)}",
    )
    deals = sorted(o["Id"] for o in opps if o.get("Partner_Id__c") == partner_id)
    open_deal = next(o for o in opps if o["Id"] in deals and not o["StageName"].startswith("Closed"))
    account = next(a for a in accounts if a["Id"] == open_deal["AccountId"])
    headers = await gw.bearer(f"{READ} {WRITE}", partner_id=partner_id)
    return Partner(
        partner_id,
        headers,
        own,
        account_id,
        subscription.id,
        deals,
        {"id": open_deal["Id"], "domain": domain_of(account), "account_id": account["Id"]},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def portal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Portal]:
    """One gateway with partners A (northwind) and B (contoso)."""
    async with running_gateway(tmp_path_factory.mktemp("partner-portal")) as gw:
        sandbox = gw.app.state.components.sandbox_apps["salesforce"]
        accounts, opps = sandbox.store.all("Account"), sandbox.store.all("Opportunity")
        a = await _partner(gw, A_ID, accounts, opps)
        b = await _partner(gw, B_ID, accounts, opps)
        yield Portal(gw, a, b)
