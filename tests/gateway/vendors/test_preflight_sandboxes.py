"""The preflight against each vendor's sandbox: green as seeded, red with the precise message once the
sandbox lacks one prerequisite (taken away through its control API, or, for Business Central, a
company the settings name that the environment does not have)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.preflight import Check
from gateway.sandbox_credentials import with_sandbox_credentials
from gateway.vendor_checks import Report, check_vendors
from gateway.vendors import VendorLinks
from sandboxes.stripe import create_stripe_sandbox
from tests.support.harness import gateway_settings

STRIPE_HOOK = "http://127.0.0.1:8080/system/payments/v1/webhooks/stripe"


async def _preflight(settings: Any, apps: dict[str, Any], name: str) -> Report:
    links = VendorLinks(settings, sandbox_apps=apps, breaker=CircuitBreaker, tracer=None)
    return await check_vendors(settings, links, [name])


def _settings(tmp_path: Path, **overrides: Any) -> Any:
    """The test gateway's settings with its state's sandbox credentials, as the composition root fills them."""
    return with_sandbox_credentials(gateway_settings(tmp_path, **overrides))


def _stripe(settings: Any, **options: Any) -> Any:
    """A Stripe sandbox holding the account key of ``settings``' sandbox credentials."""
    return create_stripe_sandbox(secret_key=settings.stripe.secret_key, **options)


def _control(app: Any) -> httpx.AsyncClient:
    """A client of the sandbox's control API, carrying its admin token."""
    headers = {"Authorization": f"Bearer {app.admin_token}"}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox", headers=headers)


def _failed(report: Report) -> list[Check]:
    return [check for vendor in report.vendors for check in vendor.checks if check.status == "failed"]


async def test_stripe_webhook_endpoint_in_another_version_fails(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    apps: dict[str, Any] = {"stripe": _stripe(settings, webhook_url=STRIPE_HOOK, webhook_secret="whsec_x")}
    green = await _preflight(settings, apps, "stripe")
    assert green.ok and [c.name for c in green.vendors[0].checks] == [
        "credentials", "api_version", "webhook_api_version", "webhook_events",
    ]  # fmt: skip
    async with _control(apps["stripe"]) as control:
        body = {"url": STRIPE_HOOK, "secret": "whsec_x", "api_version": "2025-03-31.basil"}
        assert (await control.post("/_control/webhook_endpoint", json=body)).status_code == 200
    red = await _preflight(settings, apps, "stripe")
    [failed] = _failed(red)
    assert not red.ok and failed.name == "webhook_api_version"
    assert "renders events in 2025-03-31.basil; pinned: 2026-10-28.endive" in failed.detail
    assert failed.action is not None and "api_version=2026-10-28.endive" in failed.action


async def test_stripe_without_an_endpoint_and_with_a_wrong_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    [missing] = _failed(await _preflight(settings, {"stripe": _stripe(settings)}, "stripe"))
    assert missing.name == "webhook_endpoint"
    assert missing.detail == "no enabled webhook endpoint delivers to …/system/payments/v1/webhooks/stripe"
    wrong = _settings(tmp_path, stripe_secret_key="sk_test_not_the_accounts")
    [refused] = _failed(await _preflight(wrong, {"stripe": _stripe(settings)}, "stripe"))
    assert refused.name == "credentials" and "refused the credentials" in refused.detail
    assert "not_the_accounts" not in refused.detail


async def test_avalara_company_missing_fails(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    apps: dict[str, Any] = {}
    assert (await _preflight(settings, apps, "avalara")).ok
    async with _control(apps["avalara"]) as control:
        assert (await control.delete("/_control/companies/STRATA-DE")).status_code == 204
    [failed] = _failed(await _preflight(settings, apps, "avalara"))
    assert (failed.name, failed.detail) == ("company", "company STRATA-DE does not exist")
    assert failed.action is not None and "STRATA_AVALARA_COMPANY_CODES" in failed.action


async def test_salesforce_field_multi_currency_and_country_picklists(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    apps: dict[str, Any] = {}
    assert (await _preflight(settings, apps, "salesforce")).ok
    async with _control(apps["salesforce"]) as control:
        for field in ("Account/Tax_Id__c", "Opportunity/CurrencyIsoCode", "Account/BillingCountryCode"):
            assert (await control.delete(f"/_control/fields/{field}")).status_code == 204
    failed = {check.name: check for check in _failed(await _preflight(settings, apps, "salesforce"))}
    assert set(failed) == {"custom_fields", "multi_currency", "state_country_picklists"}
    assert failed["custom_fields"].detail == "Account has no Tax_Id__c"
    assert failed["custom_fields"].action == (
        "create on Account (Setup → Object Manager → Account → Fields & Relationships): Tax_Id__c Text(64)"
    )
    assert failed["multi_currency"].detail == "multi-currency is off (no CurrencyIsoCode on Opportunity)"
    assert failed["state_country_picklists"].detail == (
        "state and country/territory picklists are off (no Account.BillingCountryCode)"
    )


async def test_netsuite_rest_records_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    apps: dict[str, Any] = {}
    green = await _preflight(settings, apps, "netsuite")
    assert green.ok, green.lines()
    async with _control(apps["netsuite"]) as control:
        rule = {"kind": "status", "status": 403, "path_prefix": "/services/rest/record/v1/subsidiary"}
        assert (await control.post("/_control/faults", json=rule)).status_code in (200, 201)
    [failed] = _failed(await _preflight(settings, apps, "netsuite"))
    assert failed.name == "rest_records" and failed.action is not None
    assert failed.action.startswith("enable REST Web Services (Setup → Company → Enable Features → SuiteCloud)")


async def test_business_central_company_missing(tmp_path: Path) -> None:
    # The BC sandbox's control API cannot take a company away: the settings name one it lacks.
    apps: dict[str, Any] = {}
    green = await _preflight(_settings(tmp_path), apps, "business-central")
    assert green.ok and [c.status for c in green.vendors[0].checks][-1] == "unchecked"  # number series
    [deferral] = [c for c in green.vendors[0].checks if c.name == "deferral_templates"]
    assert deferral.status == "ok"  # read from the Item Card web service: subscription items defer revenue
    assert deferral.detail.endswith("recognised when invoiced (no template): STRATA-ONBOARDING, STRATA-USAGE-1M")
    bc = next(iter(apps.values())).store  # the item cards lose their template (BC's API cannot change them)
    for company in bc.companies:
        for item in bc.all(company, "items"):
            item.pop("_defaultDeferralTemplateCode", None)
    [no_template] = _failed(await _preflight(_settings(tmp_path), apps, "business-central"))
    assert no_template.name == "deferral_templates" and no_template.detail.startswith("0 item(s) defer revenue")
    assert no_template.action and "Default Deferral Template Code" in no_template.action
    wrong = _settings(tmp_path, business_central_company="Nowhere GmbH")
    [failed] = _failed(await _preflight(wrong, apps, "business-central"))
    assert failed.name == "company"
    assert failed.detail.startswith("company 'Nowhere GmbH' is not in environment sandbox (it has: ")


async def test_an_org_without_the_custom_fields_fails_the_connector_as_the_preflight_says(tmp_path: Path) -> None:
    from apis.system.crm.service import build_crm_service
    from core.errors import UpstreamRejected

    settings = _settings(tmp_path)
    apps: dict[str, Any] = {}
    links = VendorLinks(settings, sandbox_apps=apps, breaker=CircuitBreaker, tracer=None)
    crm = build_crm_service(await links.link("salesforce"))
    try:
        assert (await crm.list_accounts(limit=1, position=None)).items
        async with _control(apps["salesforce"]) as control:
            assert (await control.delete("/_control/fields/Account/Tax_Id__c")).status_code == 204
        with pytest.raises(UpstreamRejected) as refused:  # what a standard org answers the first query
            await crm.list_accounts(limit=1, position=None)
        assert refused.value.vendor_code == "INVALID_FIELD" and "Tax_Id__c" in refused.value.detail
    finally:
        await crm.aclose()


async def test_sap_s4hana_company_code_missing(tmp_path: Path) -> None:
    # The SAP sandbox's control API cannot take a company code away: the settings name one it lacks.
    apps: dict[str, Any] = {}
    green = await _preflight(_settings(tmp_path), apps, "sap-s4hana")
    checks = green.vendors[0].checks
    assert green.ok and [c.status for c in checks][-1] == "unchecked"  # the SOAP posting
    assert {"credentials", "API_SALES_ORDER_SRV", "company_code", "periods"} <= {c.name for c in checks}
    wrong = _settings(tmp_path, sap_s4hana_company_code="9999")
    failed = _failed(await _preflight(wrong, apps, "sap-s4hana"))
    assert [c.name for c in failed] == ["company_code", "periods"]
    assert failed[0].detail == "company code 9999 is not in the tenant (it has: 1010, 1510, 1710)"
