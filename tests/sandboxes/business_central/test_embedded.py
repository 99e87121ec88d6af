"""The gateway mounts the sandbox at /sandbox/business-central; the vendor switch builds the connector over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apis.canonical import ErpCustomerUpsert
from apis.system.erp.connectors.business_central import BusinessCentralConnector
from apis.system.erp.vendors import ERP_VENDORS
from tests.support.business_central import token_form
from tests.support.harness import running_gateway

PREFIX = "/sandbox/business-central"
TENANT = "strata-sandbox.onmicrosoft.com"


async def test_mounted_sandbox_and_connector_share_one_tenant(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, erp_vendor="business-central") as gw:
        anonymous = await gw.client.get(f"{PREFIX}/v2.0/{TENANT}/sandbox/api/v2.0/companies")
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "Authentication_InvalidCredentials"
        bc = gw.app.state.settings.business_central  # the state's random sandbox credentials
        form = token_form(client_id=bc.client_id, client_secret=bc.client_secret)
        token = await gw.client.post(f"{PREFIX}/{TENANT}/oauth2/v2.0/token", data=form)
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        companies = await gw.client.get(f"{PREFIX}/v2.0/{TENANT}/sandbox/api/v2.0/companies", headers=headers)
        assert companies.status_code == 200 and len(companies.json()["value"]) == 3
        context = companies.json()["@odata.context"]
        assert context.startswith(f"{gw.client.base_url}{PREFIX}/v2.0/{TENANT}/sandbox/api/v2.0/$metadata")
        # Lineage and cross-references name the ERP as STRATA_ERP_VENDOR does; breaker and metrics keep theirs.
        assert gw.app.state.erp.vendor == "business-central"

        components = gw.app.state.components
        connector = ERP_VENDORS["business-central"](
            await components.vendor_links().link("business-central"), components.settings
        )
        try:
            assert connector.vendor == "business_central" and "business_central" in components.circuit_breakers
            customer, created = await connector.upsert_customer("EMBEDDED-1", ErpCustomerUpsert(name="Embedded Co"))
            assert created
        finally:
            await connector.aclose()
        company = customer.legal_entity_id
        found = await gw.client.get(
            f"{PREFIX}/v2.0/{TENANT}/sandbox/api/v2.0/companies({company})/customers",
            params={"$filter": "number eq 'EMBEDDED-1'"},
            headers=headers,
        )
        assert [c["displayName"] for c in found.json()["value"]] == ["Embedded Co"]
    assert (tmp_path / "sandboxes" / "business-central" / "business_central.json").exists()


async def test_pointing_at_the_real_vendor_is_configuration(tmp_path: Path) -> None:
    settings: dict[str, Any] = {
        "business_central_url": "https://api.businesscentral.dynamics.com",
        "business_central_tenant_id": "contoso.onmicrosoft.com",
        "business_central_environment": "production",
        "business_central_client_id": "11111111-2222-3333-4444-555555555555",
        "business_central_client_secret": "not-used-here",
    }
    async with running_gateway(tmp_path, **settings) as gw:
        assert (await gw.client.get(f"{PREFIX}/_control/counts")).status_code == 404  # not mounted
        components = gw.app.state.components
        connector = ERP_VENDORS["business-central"](
            await components.vendor_links().link("business-central"), components.settings
        )
        assert isinstance(connector, BusinessCentralConnector)
        try:
            assert "business-central" not in components.sandbox_apps
            assert connector.http.api_base == (
                "https://api.businesscentral.dynamics.com/v2.0/contoso.onmicrosoft.com/production/api/v2.0"
            )
            assert (
                connector.http.token_url
                == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
            )
        finally:
            await connector.aclose()
