"""The sandboxes' credentials: random per state directory, none in the code, and each sandbox's
control API behind its own admin token."""

from __future__ import annotations

import json
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.sandbox_credentials import FILE_NAME, GENERATORS, SECTIONS, load_or_create, with_sandbox_credentials
from gateway.settings import Settings, load_settings
from gateway.vendors import VENDORS
from tests.support.harness import running_gateway

PROJECT = Path(__file__).resolve().parents[2]
FORMER_CONSTANTS = (
    "sk_test_strata_sandbox",
    "whsec_strata_sandbox",
    "sandbox-secret",
    "pp_test_sandbox",
    "sandbox-license-key",
    '"strata-sandbox"',
)
"""The values every sandbox and every default setting shared before: public, so worthless as secrets."""


def _effective(state: Path) -> Settings:
    return with_sandbox_credentials(load_settings({"state_dir": str(state)}, environ={}))


def test_two_state_directories_get_different_random_credentials(tmp_path: Path) -> None:
    assert {vendor.name: vendor.section for vendor in VENDORS} == SECTIONS and set(GENERATORS) == set(SECTIONS)
    first, second = _effective(tmp_path / "a"), _effective(tmp_path / "b")
    for vendor in VENDORS:
        for field in vendor.credential_fields:
            one, other = getattr(getattr(first, vendor.section), field), getattr(getattr(second, vendor.section), field)
            assert one and other and one != other, (vendor.name, field)
    written = json.loads((tmp_path / "a" / FILE_NAME).read_text())
    assert {vendor.name for vendor in VENDORS} == set(written)
    tokens = {entry["admin_token"] for entry in written.values()}
    assert len(tokens) == len(VENDORS) and all(len(token) >= 40 for token in tokens)
    assert stat.S_IMODE((tmp_path / "a" / FILE_NAME).stat().st_mode) == 0o600
    # The same state keeps its credentials (a restart must not lock the gateway out of its sandboxes).
    assert _effective(tmp_path / "a").stripe.secret_key == first.stripe.secret_key


def test_a_file_from_an_older_release_gains_the_new_sandboxes_and_keeps_its_own(tmp_path: Path) -> None:
    """A state made before a vendor existed: its sandbox gets credentials (not empty ones and no
    admin token, which locked the gateway out of it), the others stay, and workers starting together agree."""
    first = _effective(tmp_path)
    path = tmp_path / FILE_NAME
    older = {
        name: entry
        for name, entry in json.loads(path.read_text()).items()
        if name not in {"sap-s4hana", "oracle-fusion"}
    }
    path.write_text(json.dumps(older))
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: load_or_create(path), range(4)))
    assert all(found == seen[0] for found in seen)
    assert set(seen[0]) == set(GENERATORS)
    assert all(seen[0][name] == entry for name, entry in older.items())
    assert seen[0]["oracle-fusion"]["admin_token"] and seen[0]["sap-s4hana"]["password"]
    assert json.loads(path.read_text()) == seen[0] and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _effective(tmp_path).stripe.secret_key == first.stripe.secret_key


def test_what_is_configured_stays_and_production_reads_no_file(tmp_path: Path) -> None:
    configured = load_settings({"state_dir": str(tmp_path), "stripe_webhook_secret": "whsec_mine"}, environ={})
    assert with_sandbox_credentials(configured).stripe.webhook_secret == "whsec_mine"
    production = load_settings({"state_dir": str(tmp_path / "prod"), "mode": "production"}, environ={})
    assert with_sandbox_credentials(production) is production
    assert not (tmp_path / "prod" / FILE_NAME).exists()


def test_no_credential_constant_is_left_in_the_code() -> None:
    sources = [
        path
        for package in ("apis", "core", "gateway", "policies", "sandboxes")
        for path in (PROJECT / package).rglob("*.py")
    ]
    found = [
        f"{path.relative_to(PROJECT)}: {constant}"
        for path in sources
        for constant in FORMER_CONSTANTS
        if constant in path.read_text()
    ]
    assert found == []
    defaults = Settings()
    for vendor in VENDORS:
        for field in vendor.credential_fields:
            assert getattr(getattr(defaults, vendor.section), field) == "", (vendor.section, field)


@pytest.mark.parametrize("vendor", [vendor.name for vendor in VENDORS])
async def test_every_control_api_needs_its_own_sandboxs_admin_token(tmp_path: Path, vendor: str) -> None:
    async with running_gateway(tmp_path) as gw:
        written = json.loads((tmp_path / FILE_NAME).read_text())
        other = next(name for name in written if name != vendor)
        reset = f"/sandbox/{vendor}/_control/reset"
        refusals = [
            await gw.client.post(reset, headers={"Authorization": "Bearer "}),  # the harness adds none: one is sent
            await gw.client.post(reset, headers={"Authorization": "Bearer not-the-token"}),
            await gw.client.post(reset, headers={"Authorization": f"Bearer {written[other]['admin_token']}"}),
            await gw.client.post(reset, headers={"Authorization": f"Basic {written[vendor]['admin_token']}"}),
        ]
        assert [response.status_code for response in refusals] == [401, 401, 401, 401]
        assert written[vendor]["admin_token"] not in refusals[2].text
        token = {"Authorization": f"Bearer {written[vendor]['admin_token']}"}
        assert (await gw.client.post(reset, headers=token)).status_code == 204
        faults = f"/sandbox/{vendor}/_control/faults"
        assert (await gw.client.delete(faults, headers={"Authorization": "Bearer x"})).status_code == 401
        assert (await gw.client.delete(faults, headers=token)).status_code == 204


async def test_counts_of_the_stripe_sandbox_are_no_longer_public(tmp_path: Path) -> None:
    """The issue's own report: ``/sandbox/stripe/_control/counts`` answered without credentials."""
    import httpx

    async with running_gateway(tmp_path) as gw:
        transport = httpx.ASGITransport(app=gw.app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as stranger:
            answer = await stranger.get("/sandbox/stripe/_control/counts")
        assert answer.status_code == 401
        assert not re.search(r'"(customers|writes_applied)"', answer.text)


async def test_the_former_public_salesforce_credentials_get_no_token(tmp_path: Path) -> None:
    """The issue's report: a token from the sandbox's own endpoint, with credentials anyone could read."""
    async with running_gateway(tmp_path) as gw:
        form = {"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "sandbox-secret"}
        refused = await gw.client.post("/sandbox/salesforce/services/oauth2/token", data=form)
        assert refused.status_code in (400, 401) and "access_token" not in refused.text
        salesforce = gw.app.state.settings.salesforce
        form.update(client_id=salesforce.client_id, client_secret=salesforce.client_secret)
        assert (await gw.client.post("/sandbox/salesforce/services/oauth2/token", data=form)).status_code == 200
