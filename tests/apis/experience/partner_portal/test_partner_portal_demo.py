"""The seeded demo-partner client: bound to partner-northwind, it sees that partner's customers only."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.state import prepare_state
from sandboxes.salesforce.seed import PARTNER_ACCOUNTS
from tests.apis.experience.partner_portal.conftest import A_ID, PORTAL
from tests.support.harness import gateway_settings, running_gateway


async def test_the_demo_partner_client_sees_its_seeded_customers(tmp_path: Path) -> None:
    state = tmp_path / "state"
    await prepare_state(gateway_settings(state, seed_demo=True), echo=lambda _line: None)
    demo = {client["name"]: client for client in json.loads((state / "demo-clients.json").read_text())}
    partner = demo["demo-partner"]
    assert partner["partner_id"] == A_ID
    async with running_gateway(state) as gw:
        issued = await gw.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(partner["client_id"], partner["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        response = await gw.client.get(f"{PORTAL}/customers", headers=headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == list(PARTNER_ACCOUNTS.values()).count(A_ID)
        crm = await gw.client.get("/system/crm/v1/accounts", headers=headers)
        assert crm.status_code == 403
