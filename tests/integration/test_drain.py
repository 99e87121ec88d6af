"""Graceful drain: on SIGTERM a gateway process finishes what is in flight, then exits 0."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import load_settings
from gateway.state import issue_token, open_client_store, prepare_state
from tests.support.procs import GatewayProcess

PUBLIC_URL = "http://gateway.test"


def _token(state: Path) -> str:
    settings = load_settings({"state_dir": str(state), "seed_demo": False, "public_url": PUBLIC_URL}, environ={})

    async def setup() -> str:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(name="drain", scopes=["system:crm:read"], tier="gold")
        assert secret is not None
        return await issue_token(settings, record.client_id, secret, None)

    return asyncio.run(setup())


def test_in_flight_requests_finish_after_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    token = _token(state)
    with GatewayProcess(state, public_url=PUBLIC_URL, drain_seconds=10) as gateway:
        # The vendor (sandbox) answers slowly, so the request is still in flight at SIGTERM.
        fault = {"kind": "latency", "latency_seconds": 1.0}
        control = f"{gateway.url}/sandbox/salesforce/_control/faults"
        assert httpx.post(control, json=fault, headers=gateway.admin_headers("salesforce")).status_code == 201
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                response = httpx.get(
                    f"{gateway.url}/system/crm/v1/accounts?limit=1",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=15,
                )
                outcome["status"] = response.status_code
            except httpx.HTTPError as exc:
                outcome["error"] = repr(exc)

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.4)
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        caller.join(timeout=20)
        exit_code = gateway.process.wait(timeout=20)
        assert outcome == {"status": 200}
        assert exit_code == 0
        # and it no longer accepts connections
        try:
            httpx.get(f"{gateway.url}/health/live", timeout=1)
            accepted = True
        except httpx.HTTPError:
            accepted = False
        assert not accepted
