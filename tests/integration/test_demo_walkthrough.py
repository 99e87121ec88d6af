"""What ``make run`` gives a newcomer: the seeded demo integration client reaches every system
API over the embedded sandboxes, with a token from the embedded authorization server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.state import prepare_state
from tests.support.harness import gateway_settings, running_gateway

SEEDED_READS = [
    "/system/crm/v1/accounts?limit=2",
    "/system/erp/v1/legal-entities",
    "/system/erp/v1/items?limit=2",
    "/system/billing/v1/customers?limit=2",
    "/system/billing/v1/products?limit=2",
    "/system/product/v1/products?limit=2",
]
"""Reads of seeded demo data: each must return some."""


@pytest.mark.parametrize("erp_vendor", ["netsuite", "business-central"])
async def test_the_demo_client_reaches_every_system_api(tmp_path: Path, erp_vendor: str) -> None:
    state = tmp_path / "state"
    await prepare_state(gateway_settings(state, seed_demo=True), echo=lambda _line: None)
    demo = {client["name"]: client for client in json.loads((state / "demo-clients.json").read_text())}
    app = demo["demo-internal-app"]
    async with running_gateway(state, erp_vendor=erp_vendor) as gw:
        issued = await gw.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(app["client_id"], app["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        for path in SEEDED_READS:
            response = await gw.client.get(path, headers=headers)
            assert response.status_code == 200, f"{path}: {response.text}"
            assert response.json()["items"], f"{path} returned no seeded data"
        payments = await gw.client.get("/system/payments/v1/payment-intents?limit=2", headers=headers)
        assert payments.status_code == 200 and payments.json()["items"] == []  # nothing is paid yet
        quote = {
            "company": "STRATA-US",
            "date": "2026-12-01",
            "customer_id": "demo",
            "currency": "USD",
            "ship_to": {
                "line1": "1 Market St",
                "city": "San Francisco",
                "region": "CA",
                "postal_code": "94105",
                "country": "US",
            },
            "lines": [
                {"number": "1", "product_code": "STRATA-CORE", "amount": {"amount": "100.00", "currency": "USD"}}
            ],
        }
        taxed = await gw.client.post("/system/tax/v1/quotes", json=quote, headers=headers)
        assert taxed.status_code == 200, taxed.text
        assert taxed.json()["total_tax"]["amount"] == "8.63"  # San Francisco: 8.625 % (the sandbox's rate table)
