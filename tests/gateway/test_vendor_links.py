"""The composition root's choice per vendor: the sandbox in process while its URL is empty, the
network once it is set, and the credentials (a NetSuite sandbox certificate the root uploads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from apis.system.erp.connectors.netsuite import build_netsuite_connector
from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.link import ApiKey, ClientSecret
from core.settings import SettingsError
from gateway.sandbox_apps import embedded_vendors, gateway_environment
from gateway.sandbox_credentials import with_sandbox_credentials
from gateway.settings import load_settings
from gateway.vendors import VENDORS, VendorLinks
from sandboxes.netsuite import generate_key_pair


def _links(tmp_path: Path, sandbox_apps: dict[str, Any] | None = None, **overrides: Any) -> VendorLinks:
    # As the app factory does: the sandboxes' credentials fill the settings of the vendors they replace.
    settings = with_sandbox_credentials(load_settings({"state_dir": str(tmp_path), **overrides}, environ={}))
    breakers: dict[str, CircuitBreaker] = {}
    return VendorLinks(
        settings,
        sandbox_apps={} if sandbox_apps is None else sandbox_apps,
        breaker=lambda name: breakers.setdefault(name, CircuitBreaker(name)),
        tracer=None,
    )


async def test_an_empty_url_is_the_sandbox_in_process_the_one_mounted(tmp_path: Path) -> None:
    links = _links(tmp_path)
    link = await links.link("stripe")
    key = json.loads((tmp_path / "sandbox-credentials.json").read_text())["stripe"]["secret_key"]
    try:
        assert link.base_url == "http://stripe.sandbox" and link.credentials == ApiKey(key)
        assert link.breaker is not None and link.breaker.vendor == "stripe"
        answer = await link.client.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200 and answer.json()["object"] == "list"
        mounted = links.sandbox_apps["stripe"]  # built once, under the state directory, and kept
        second = await links.link("stripe")
        await second.client.aclose()
        assert links.sandbox_apps["stripe"] is mounted
    finally:
        await link.client.aclose()
    assert (tmp_path / "sandboxes" / "stripe").is_dir()
    assert key not in repr(link.credentials)  # a secret never shows in a repr (or a log line)


async def test_a_url_is_the_network_with_the_configured_credentials(tmp_path: Path) -> None:
    links = _links(
        tmp_path,
        business_central_url="https://api.businesscentral.dynamics.com",
        business_central_client_id="bc-app",
        business_central_client_secret="s3cret",
    )
    link = await links.link("business-central")
    try:
        assert link.base_url == "https://api.businesscentral.dynamics.com"
        assert link.authority == "https://login.microsoftonline.com"
        assert link.credentials == ClientSecret("bc-app", "s3cret") and "s3cret" not in repr(link.credentials)
        assert link.breaker is not None and link.breaker.vendor == "business_central"
        assert not isinstance(link.client._transport, httpx.ASGITransport)
        assert "business-central" not in links.sandbox_apps
    finally:
        await link.client.aclose()


async def test_the_root_uploads_the_netsuite_sandbox_certificate(tmp_path: Path) -> None:
    links = _links(tmp_path, netsuite_signing_algorithm="ES256")
    link = await links.link("netsuite")
    connector = build_netsuite_connector(link, links.settings.netsuite)
    try:
        assert link.credentials.certificate_id.startswith("cert-")
        assert await connector.list_legal_entities()  # the sandbox accepts the assertion the key signs
    finally:
        await connector.aclose()


async def test_a_netsuite_account_needs_the_certificate_id_of_its_key(tmp_path: Path) -> None:
    pair = generate_key_pair("cert-real", "PS256")
    pem = pair.private_key.as_pem(private=True).decode()
    links = _links(tmp_path, netsuite_url="https://1234.suitetalk.api.netsuite.com", netsuite_private_key=pem)
    with pytest.raises(SettingsError, match="netsuite_certificate_id: required"):
        await links.link("netsuite")
    links = _links(
        tmp_path, netsuite_url="https://1234.suitetalk.api.netsuite.com", netsuite_private_key=pem,
        netsuite_certificate_id="cert-real",
    )  # fmt: skip
    link = await links.link("netsuite")
    await link.client.aclose()
    assert link.credentials.certificate_id == "cert-real" and link.base_url.startswith("https://1234.")


def test_the_sandboxes_replace_the_vendors_whose_url_is_empty_by_the_same_names(tmp_path: Path) -> None:
    settings = load_settings({"state_dir": str(tmp_path), "avalara_url": "https://rest.avatax.com"}, environ={})
    assert [vendor.name for vendor in embedded_vendors(settings)] == [
        "salesforce",
        "netsuite",
        "business-central",
        "sap-s4hana",
        "oracle-fusion",
        "product-platform",
        "stripe",
    ]
    assert gateway_environment("http://127.0.0.1:8090/") == {
        "STRATA_SALESFORCE_URL": "http://127.0.0.1:8090/sandbox/salesforce",
        "STRATA_NETSUITE_URL": "http://127.0.0.1:8090/sandbox/netsuite",
        "STRATA_BUSINESS_CENTRAL_URL": "http://127.0.0.1:8090/sandbox/business-central",
        "STRATA_SAP_S4HANA_URL": "http://127.0.0.1:8090/sandbox/sap-s4hana",
        "STRATA_ORACLE_FUSION_URL": "http://127.0.0.1:8090/sandbox/oracle-fusion",
        "STRATA_PRODUCT_PLATFORM_URL": "http://127.0.0.1:8090/sandbox/product-platform",
        "STRATA_AVALARA_URL": "http://127.0.0.1:8090/sandbox/avalara",
        "STRATA_STRIPE_URL": "http://127.0.0.1:8090/sandbox/stripe",
    }
    assert len(VENDORS) == 8
