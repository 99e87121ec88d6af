"""Two real gateway processes sharing PostgreSQL and Redis: management changes hold in both.

A client disabled through the management API of one process is refused by the other (its
change poll reads the client's new ``updated_at``), and the audit query of either process
shows the action taken on the other. The propagation delay is printed, not asserted as a
timing: the deadline below only bounds a hang.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import load_settings
from gateway.state import issue_token, open_client_store, prepare_state
from tests.procs import GatewayProcess

PROPAGATION_DEADLINE_SECONDS = 10.0
CATALOGUE = "/gateway/v1/catalogue"


@pytest.fixture
def two_gateways(
    tmp_path: Path, redis_url: str, postgres_url: str
) -> Iterator[tuple[GatewayProcess, GatewayProcess, str]]:
    # Behind one load balancer: one public URL (one issuer), one master key for the shared signing keys.
    common = {
        "redis_url": redis_url,
        "database_url": postgres_url,
        "public_url": "http://gateway.test",
        "master_key": "test-master-key-shared-by-both-processes",
    }
    settings = load_settings({"state_dir": str(tmp_path / "setup"), "seed_demo": False, **common}, environ={})

    async def setup() -> str:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(
                name="operator", scopes=["gateway:clients:admin", "gateway:audit:read"], tier="internal"
            )
        assert secret is not None
        return await issue_token(settings, record.client_id, secret, None)

    admin_token = asyncio.run(setup())
    with (
        GatewayProcess(tmp_path / "one", **common) as first,
        GatewayProcess(tmp_path / "two", **common) as second,
    ):
        yield first, second, admin_token


def test_a_client_disabled_in_one_process_is_refused_in_the_other(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str],
) -> None:
    first, second, admin_token = two_gateways
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(timeout=10) as http:
        created = http.post(
            f"{first.url}/gateway/v1/clients",
            json={"name": "partner-app", "scopes": ["gateway:catalog:read"], "tier": "gold"},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        client = created.json()
        # The second process has never seen this client: it learns of it from the database.
        issued = http.post(
            f"{second.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert issued.status_code == 200, issued.text
        token = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert http.get(f"{second.url}{CATALOGUE}", headers=token).status_code == 200

        time.sleep(1.05)  # iat is whole seconds: disable in a later second than the token was issued
        disabled = http.post(f"{first.url}/gateway/v1/clients/{client['client_id']}/disable", headers=admin)
        assert disabled.status_code == 200, disabled.text
        disabled_at = time.monotonic()
        assert http.get(f"{first.url}{CATALOGUE}", headers=token).status_code == 401  # at once where it was done
        status = 200
        while status == 200 and time.monotonic() - disabled_at < PROPAGATION_DEADLINE_SECONDS:
            status = http.get(f"{second.url}{CATALOGUE}", headers=token).status_code
            if status == 200:
                time.sleep(0.02)
        delay = time.monotonic() - disabled_at
        print(f"disable propagated to the other process in {delay * 1000:.0f} ms")
        assert status == 401

        refused = http.post(
            f"{second.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"

        # The audit query of the *other* process shows the action (the writer batches: poll).
        route = "/gateway/v1/clients/{client_id}/disable"
        events: list[dict[str, object]] = []
        deadline = time.monotonic() + PROPAGATION_DEADLINE_SECONDS
        while not events and time.monotonic() < deadline:
            events = http.get(f"{second.url}/gateway/v1/audit/events", params={"route": route}, headers=admin).json()[
                "items"
            ]
            if not events:
                time.sleep(0.1)
        assert [event["reason"] for event in events] == [f"disabled client {client['client_id']}"]
