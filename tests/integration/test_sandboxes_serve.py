"""``strata sandboxes serve``: the vendors as their own process, outliving the gateway.

A gateway pointed at the standalone sandboxes (``STRATA_<VENDOR>_URL`` and the sandboxes'
``sandbox-credentials.json`` as ``STRATA_SANDBOX_CREDENTIALS_FILE``) mounts none of its own,
writes through its system API into the sandbox process, and after a SIGKILL and restart of the
gateway — and a restart of the sandboxes — reads the same vendor data back.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gateway.settings import load_settings
from gateway.vendors import VENDORS
from tests.support.procs import GatewayProcess, SandboxesProcess, provision_token

CRM = "/system/crm/v1"


def test_the_vendors_keep_their_state_across_gateway_and_sandbox_restarts(tmp_path: Path) -> None:
    common = {"public_url": "http://gateway.test"}
    gateway_state = tmp_path / "gateway"
    settings = load_settings({"state_dir": str(gateway_state), "seed_demo": False, **common}, environ={})
    token = provision_token(settings, ["system:crm:read", "system:crm:write"], name="crm-writer")
    headers = {"Authorization": f"Bearer {token}"}

    sandboxes = SandboxesProcess(tmp_path / "vendors").start()
    try:
        listing = httpx.get(f"{sandboxes.url}/").json()["sandboxes"]
        assert set(listing) == {vendor.name for vendor in VENDORS}
        assert listing["salesforce"] == f"{sandboxes.url}/sandbox/salesforce"

        pointed = {**common, **sandboxes.gateway_settings()}
        # The sandboxes wrote their random credentials; without that file a gateway pointed at
        # them would send none, and refuses to start (placeholder credentials never travel).
        assert set(json.loads(sandboxes.credentials_file.read_text())) == {vendor.name for vendor in VENDORS}
        without = {key: value for key, value in pointed.items() if key != "sandbox_credentials_file"}
        with pytest.raises(RuntimeError, match="salesforce_client_secret: empty while salesforce_url is set"):
            GatewayProcess(tmp_path / "unpointed", **without).start()
        gateway = GatewayProcess(gateway_state, **pointed).start()
        body = {"name": "Standalone Vendors AG", "domain": "standalone.example"}
        created = httpx.put(f"{gateway.url}{CRM}/accounts/by-external-id/cus_standalone", json=body, headers=headers)
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        # The gateway mounts no sandbox of its own when the vendor URLs are set.
        assert httpx.get(f"{gateway.url}/sandbox/salesforce/_control/counts").status_code == 404

        gateway.stop(crash=True)
        sandboxes.stop()
        sandboxes.start()
        gateway = GatewayProcess(gateway_state, **pointed).start()
        try:
            again = httpx.get(f"{gateway.url}{CRM}/accounts/{account_id}", headers=headers)
            assert again.status_code == 200, again.text
            assert again.json()["external_id"] == "cus_standalone"
            assert again.json()["name"] == "Standalone Vendors AG"
        finally:
            gateway.stop()
    finally:
        sandboxes.stop()
