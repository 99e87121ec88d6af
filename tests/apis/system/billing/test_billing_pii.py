"""Billing customers' e-mail and address by scope, through the gateway and the Stripe sandbox.

The caller that creates a customer without ``system:billing:pii`` is answered with the
personal fields masked (its own input is not echoed); a reader with the scope sees them.
"""

from __future__ import annotations

import pytest

from tests.support.harness import Gateway

BILLING = "/system/billing/v1"
pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_billing_customers_are_masked_without_the_pii_scope(gw: Gateway) -> None:
    writer = {**await gw.bearer("system:billing:read system:billing:write"), "Idempotency-Key": "pii-create-1"}
    body = {
        "name": "Privacy GmbH",
        "email": "ap@privacy.example",
        "billing_address": {"line1": "Datenweg 7", "city": "Leipzig", "postal_code": "04109", "country": "DE"},
    }
    created = await gw.client.post(f"{BILLING}/customers", json=body, headers=writer)
    assert created.status_code == 201, created.text
    mine = created.json()
    assert mine["email"] == "***@masked.invalid" and mine["name"] == "Privacy GmbH"
    assert mine["billing_address"] == {"line1": "***", "line2": None, "city": "***", "postal_code": "***"} | {
        "region": mine["billing_address"]["region"],
        "country": "DE",
    }
    revealer = await gw.bearer("system:billing:read system:billing:pii")
    real = (await gw.client.get(f"{BILLING}/customers/{mine['id']}", headers=revealer)).json()
    assert real["email"] == "ap@privacy.example" and real["billing_address"]["line1"] == "Datenweg 7"
    by_name = await gw.client.get(f"{BILLING}/customers", params={"limit": 100}, headers=writer)
    assert by_name.status_code == 200 and mine["id"] in [c["id"] for c in by_name.json()["items"]]
    assert "privacy.example" not in by_name.text and "Datenweg" not in by_name.text
    # Filtering on the e-mail would tell the writer whether that person is a customer: refused.
    probe = await gw.client.get(f"{BILLING}/customers", params={"email": "ap@privacy.example"}, headers=writer)
    assert probe.status_code == 403 and [e["name"] for e in probe.json()["errors"]] == ["email"]
    found = await gw.client.get(f"{BILLING}/customers", params={"email": "ap@privacy.example"}, headers=revealer)
    assert [c["id"] for c in found.json()["items"]] == [mine["id"]]
