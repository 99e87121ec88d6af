"""A billing customer is made once per workflow step, without relying on Stripe's Search.

Search is not read-after-write (a new customer is searchable in under a minute, up to an hour
during outages) and is not offered to merchants in India. A lost create is repeated with the same
Idempotency-Key while Stripe keeps it (24 h); later, the customers created since the first attempt
are listed and matched on our metadata.
"""

from __future__ import annotations

import time

import httpx
import pytest

from apis.canonical import BillingCustomerCreate
from apis.system.billing.connectors.stripe import StripeConnector
from apis.system.billing.service import BillingService
from core.errors import UpstreamUnavailable
from sandboxes.faults import FaultRule
from sandboxes.stripe import StripeSandbox
from tests.support.sandbox_access import STRIPE_KEY, operator_hooks
from tests.support.stripe import BASE
from tests.support.stripe_gateway import FAST

KEY = "strata-txn-sync_billing_customer"
DAY = 24 * 3600.0


def _service(http: httpx.AsyncClient) -> BillingService:
    return BillingService(StripeConnector(http, BASE, STRIPE_KEY, config=FAST))


def _customer(account_id: str) -> BillingCustomerCreate:
    return BillingCustomerCreate(
        name="Lost Answer GmbH", email="ap@lost.example", external_id="cus_01LOST", crm_account_id=account_id
    )


async def _lose_the_create(sandbox: StripeSandbox, service: BillingService, account_id: str) -> float:
    """A create applied by Stripe whose every answer is lost; returns when it was first tried."""
    sandbox.faults.add(FaultRule(kind="lost_response", status=503, method="POST", path_prefix="/v1/customers"))
    started = time.time()
    with pytest.raises(UpstreamUnavailable):
        await service.ensure_customer(_customer(account_id), key=KEY, first_attempt=started)
    sandbox.faults.reset()
    return started


async def _carrying(http: httpx.AsyncClient, account_id: str) -> list[str]:
    listed = (await http.get("/v1/customers", params={"limit": 100})).json()["data"]
    return [c["id"] for c in listed if c["metadata"].get("crm_account_id") == account_id]


async def test_a_lost_create_retried_within_a_day_is_replayed_while_search_lags(
    sandbox: StripeSandbox, http: httpx.AsyncClient
) -> None:
    service = _service(http)
    sandbox.account.search_lag_seconds = 60.0
    started = await _lose_the_create(sandbox, service, "001LOSTWITHINADAY")
    assert await service.find_existing_customer("001LOSTWITHINADAY") is None  # not searchable yet
    again = await service.ensure_customer(_customer("001LOSTWITHINADAY"), key=KEY, first_attempt=started)
    assert await _carrying(http, "001LOSTWITHINADAY") == [again.id]


async def test_after_stripe_forgot_the_key_the_customer_is_listed_not_searched(
    sandbox: StripeSandbox, http: httpx.AsyncClient
) -> None:
    service = _service(http)
    started = await _lose_the_create(sandbox, service, "001LOSTFORADAY")
    [made] = await _carrying(http, "001LOSTFORADAY")
    sandbox.store.prune_idempotency(now=time.time() + DAY + 60)  # Stripe keeps a key 24 hours
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url="http://s", event_hooks=operator_hooks(sandbox)
    ) as control:
        off = await control.post("/_control/search_lag", json={"available": False})  # an account in India
        assert off.json() == {"seconds": 0.0, "available": False}
    assert await service.find_existing_customer("001LOSTFORADAY") is None  # no Search: not an error
    found = await service.ensure_customer(
        _customer("001LOSTFORADAY"), key=KEY, first_attempt=started, now=started + DAY
    )
    assert found.id == made and await _carrying(http, "001LOSTFORADAY") == [made]


async def test_after_a_day_a_customer_never_created_is_created_once(
    sandbox: StripeSandbox, http: httpx.AsyncClient
) -> None:
    service = _service(http)
    long_ago = time.time() - 2 * DAY
    first = await service.ensure_customer(_customer("001NEVERMADE"), key=KEY, first_attempt=long_ago)
    assert await _carrying(http, "001NEVERMADE") == [first.id]
    # Another customer with the same e-mail but not our metadata is not taken for ours.
    await http.post("/v1/customers", data={"name": "Other", "email": "ap@lost.example"})
    again = await service.ensure_customer(_customer("001NEVERMADE"), key=KEY + "-2", first_attempt=long_ago)
    assert again.id == first.id


async def test_lists_filter_on_created_and_search_lags(sandbox: StripeSandbox, http: httpx.AsyncClient) -> None:
    made = (await http.post("/v1/customers", data={"name": "Fresh", "metadata[crm_account_id]": "001FRESH"})).json()
    later = await http.get("/v1/customers", params={"created[gt]": str(made["created"])})
    assert made["id"] not in [c["id"] for c in later.json()["data"]]
    since = await http.get("/v1/customers", params={"created[gte]": str(made["created"])})
    assert made["id"] in [c["id"] for c in since.json()["data"]]
    sandbox.account.search_lag_seconds = 60.0
    query = {"query": "metadata['crm_account_id']:'001FRESH'"}
    assert (await http.get("/v1/customers/search", params=query)).json()["data"] == []
    sandbox.account.search_lag_seconds = 0.0
    assert [c["id"] for c in (await http.get("/v1/customers/search", params=query)).json()["data"]] == [made["id"]]
