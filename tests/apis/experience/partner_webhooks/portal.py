"""What the partner webhook tests share: two partners with clients and customers, and events."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from apis.process.event_types import CustomerSynced, event_data
from apis.process.events import CloudEvent, append, new_event
from tests.support.harness import Gateway

PORTAL = "/experience/partner-portal/v1"
READ = "experience:partner-portal:read"
WRITE = "experience:partner-portal:write"
BOTH = f"{READ} {WRITE}"
NORTHWIND = "partner-northwind"
CONTOSO = "partner-contoso"
FAST_WEBHOOK_SETTINGS: dict[str, Any] = {
    "allow_loopback_destinations": True,
    "partner_webhook_max_attempts": 3,
    "partner_webhook_backoff_base_ms": 20,
    "partner_webhook_backoff_max_ms": 100,
    "partner_webhook_timeout_seconds": 2,
    "partner_webhook_concurrency_per_partner": 2,
}
"""Three attempts a few milliseconds apart: a failing endpoint is dead within a second; two
attempts of one partner at a time."""


@dataclass
class Partner:
    """A partner's client headers and one of its customers (a seeded CRM account)."""

    partner_id: str
    headers: dict[str, str]
    account_id: str


@dataclass
class Hooks:
    """A gateway with two partners and a direct (unattributed) customer."""

    gw: Gateway
    a: Partner
    b: Partner
    direct_account_id: str

    async def subscribe(self, partner: Partner, url: str, *event_types: str) -> dict[str, Any]:
        """Register a subscription; the 201 body (with its secret)."""
        body = {"url": url, "event_types": list(event_types or ("strata.customer.synced",))}
        response = await self.gw.client.post(f"{PORTAL}/webhooks", json=body, headers=partner.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def happen(self, event: CloudEvent) -> None:
        """Write ``event`` to the outbox, as a workflow step does, and wake the relay."""
        async with self.gw.app.state.components.engine.begin() as connection:
            assert await append(connection, event)
        process = self.gw.app.state.process
        if process is not None and process.relay is not None:
            process.relay.notify()

    async def deliveries(self, partner: Partner, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.gw.client.get(
            f"{PORTAL}/webhooks/{webhook_id}/deliveries", params=params, headers=partner.headers
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def delivery_when(
        self, partner: Partner, webhook_id: str, event_id: str, status: str, within: float = 10.0
    ) -> dict[str, Any]:
        """The delivery of ``event_id`` once it has ``status`` (fails after ``within`` seconds)."""
        deadline = time.monotonic() + within
        while True:
            found = [d for d in await self.deliveries(partner, webhook_id) if d["event_id"] == event_id]
            if found and found[0]["status"] == status:
                return found[0]
            assert time.monotonic() < deadline, f"delivery of {event_id} not {status} in {within} s: {found}"
            await asyncio.sleep(0.05)


def local_host_name() -> str:
    """This machine's host name if it resolves to a non-global address (else the test skips)."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"this machine's host name {name!r} does not resolve")
    if all(ipaddress.ip_address(a.split("%", 1)[0]).is_global for a in addresses):
        pytest.skip(f"this machine's host name {name!r} resolves to public addresses only: {addresses}")
    return name


def customer_synced(account_id: str) -> CloudEvent:
    """A ``strata.customer.synced`` event about the CRM account ``account_id`` (a fresh id)."""
    data = CustomerSynced(
        transaction_id=f"txn_{uuid.uuid4().hex[:26]}",
        crm_account_id=account_id,
        customer_id=f"cus_{uuid.uuid4().hex[:26]}",
        erp_customer_id="4711",
        billing_customer_id="cus_test",
        matched_by="xref",
        created=[],
        updated=[],
        conflicts=0,
    )
    return new_event(
        "strata.customer.synced",
        event_id=f"evt_{uuid.uuid4().hex}",
        data=event_data(data),
        subject=account_id,
        source="/strata/process/customer-sync",
    )


def envelope(body: bytes) -> dict[str, Any]:
    """A delivery's body as JSON."""
    decoded = msgspec.json.decode(body)
    assert isinstance(decoded, dict)
    return decoded


async def make_hooks(gw: Gateway) -> Hooks:
    """Partners northwind (A) and contoso (B), each with a client and a seeded customer."""
    crm = gw.app.state.crm
    (a_account, *_) = (await crm.list_accounts(partner_id=NORTHWIND, limit=10)).items
    (b_account, *_) = (await crm.list_accounts(partner_id=CONTOSO, limit=10)).items
    listed = (await crm.list_accounts(limit=20)).items
    direct = next(account for account in listed if account.partner_id is None)
    a = Partner(NORTHWIND, await gw.bearer(BOTH, partner_id=NORTHWIND), a_account.id)
    b = Partner(CONTOSO, await gw.bearer(BOTH, partner_id=CONTOSO), b_account.id)
    return Hooks(gw, a, b, direct.id)
