"""Two real gateway processes sharing state and Redis: limits and revocations hold across them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import load_settings
from gateway.state import issue_token, open_client_store, prepare_state
from tests.support.procs import PROJECT_ROOT, GatewayProcess, start_all

LIMIT = 10
EXACT_TIER = f'  exact:\n    description: tests\n    limits: ["{LIMIT}/hour"]\n'


@pytest.fixture
def two_gateways(tmp_path: Path, redis_url: str) -> Iterator[tuple[GatewayProcess, GatewayProcess, str, str, str]]:
    governance = tmp_path / "governance.yaml"
    text = (PROJECT_ROOT / "contracts" / "governance.yaml").read_text()
    governance.write_text(text.replace("tiers:\n", "tiers:\n" + EXACT_TIER, 1))
    state = tmp_path / "state"
    # Behind one load balancer every process has the same public URL, hence the same issuer.
    common = {"redis_url": redis_url, "governance_file": str(governance), "public_url": "http://gateway.test"}
    settings = load_settings({"state_dir": str(state), "seed_demo": False, **common}, environ={})

    async def setup() -> tuple[str, str, str]:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(name="scale-out", scopes=["system:crm:read"], tier="exact")
        assert secret is not None
        return record.client_id, secret, await issue_token(settings, record.client_id, secret, None)

    client_id, secret, token = asyncio.run(setup())
    first, second = GatewayProcess(state, **common), GatewayProcess(state, **common)
    start_all(first, second)
    try:
        yield first, second, client_id, secret, token
    finally:
        first.stop()
        second.stop()


async def _burst(urls: list[str], token: str) -> list[int]:
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.get(url, headers={"Authorization": f"Bearer {token}"}) for url in urls)
        )
    return [response.status_code for response in responses]


def test_a_limit_holds_exactly_across_two_processes(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str, str, str],
) -> None:
    first, second, _, _, token = two_gateways
    path = "/system/crm/v1/accounts?limit=1"
    urls = [f"{(first if i % 2 else second).url}{path}" for i in range(2 * LIMIT)]
    statuses = asyncio.run(_burst(urls, token))
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == LIMIT, statuses


def test_a_revocation_in_one_process_is_refused_by_the_other(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str, str, str],
) -> None:
    first, second, client_id, secret, token = two_gateways
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{second.url}/system/crm/v1/accounts?limit=1", headers=headers, timeout=10).status_code == 200
    revoked = httpx.post(f"{first.url}/oauth/revoke", data={"token": token}, auth=(client_id, secret), timeout=10)
    assert revoked.status_code == 200
    deadline = time.monotonic() + 2.0
    status = 200
    while time.monotonic() < deadline:
        status = httpx.get(f"{second.url}/system/crm/v1/accounts?limit=1", headers=headers, timeout=10).status_code
        if status == 401:
            break
        time.sleep(0.05)
    assert status == 401
