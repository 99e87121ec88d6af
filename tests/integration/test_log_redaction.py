"""The log of a real gateway process: JSON lines with trace ids, and no secret or token in it.

A client with a known secret gets a token, then the token and the secret are sent where
they do not belong (query strings, the wrong header, the wrong field); afterwards the whole
captured log (stdout and stderr of ``strata serve``) is searched for both.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx

from gateway.settings import load_settings
from gateway.state import open_client_store, prepare_state
from tests.support.procs import GatewayProcess

PUBLIC_URL = "http://gateway.test"
TRACE_ID = "5ce0e9a56015fec5aadfa328ae398115"
CRM = "/system/crm/v1"


def _client(state: Path) -> tuple[str, str]:
    settings = load_settings({"state_dir": str(state), "seed_demo": False, "public_url": PUBLIC_URL}, environ={})

    async def setup() -> tuple[str, str]:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(name="log-grep", scopes=["system:crm:read"], tier="gold")
        assert secret is not None
        return record.client_id, secret

    return asyncio.run(setup())


def test_the_log_has_trace_ids_and_neither_the_secret_nor_the_token(tmp_path: Path) -> None:
    state = tmp_path / "state"
    client_id, secret = _client(state)
    with (
        GatewayProcess(state, public_url=PUBLIC_URL, log_level="info") as gateway,
        httpx.Client(base_url=gateway.url, timeout=15) as http,
    ):
        issued = http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        traced = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}

        assert http.get(f"{CRM}/accounts", params={"limit": 1}, headers={**bearer, **traced}).status_code == 200
        # The token in the query string: refused, alone or next to the header.
        assert http.get(f"{CRM}/accounts", params={"access_token": token}, headers=traced).status_code == 400
        assert http.get(f"{CRM}/accounts", params={"access_token": token}, headers=bearer).status_code == 400
        # The secret where a token belongs, and in a query parameter's value.
        assert http.get(f"{CRM}/accounts", headers={"Authorization": f"Bearer {secret}", **traced}).status_code == 401
        assert http.get(f"{CRM}/accounts", params={"limit": secret}, headers=bearer).status_code in (400, 422)
        # The secret at the token endpoint: in the query string, and as the client id.
        in_query = http.post(
            "/oauth/token", params={"client_id": client_id, "client_secret": secret}, data={"grant_type": "x"}
        )
        assert in_query.status_code in (400, 401)
        swapped = base64.b64encode(f"{secret}:{client_id}".encode()).decode()
        refused = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {swapped}", **traced},
        )
        assert refused.status_code == 401
    log = gateway.log_path.read_text()

    assert secret not in log
    assert token not in log
    assert token.split(".")[2] not in log  # not even the signature alone
    events = []
    for line in log.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    traced_events = [event for event in events if event.get("trace_id") == TRACE_ID]
    assert traced_events, log[-3000:]
    assert all(event.get("request_id") for event in traced_events)
    denied = [event for event in events if event.get("event") == "request denied"]
    assert {event["status"] for event in denied} >= {400, 401}
    assert all(event.get("trace_id") and event.get("request_id") for event in denied)
    failed_logins = [event for event in events if event.get("event") == "client authentication failed"]
    assert failed_logins and all(event.get("trace_id") for event in failed_logins)
