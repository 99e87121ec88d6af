"""Business Central preflight: Entra ID issues a token, the environment answers API v2.0, the
configured company exists, and its items carry a *Default Deferral Template Code*. Whether the
number series take our numbers is not readable through API v2.0 (no number-series entity): it is
reported unchecked, with how to verify it.

Deferred revenue: API v2.0's sales invoice lines carry no deferral field, so a line billed over a
service period is deferred by its item's default deferral template alone. The template is not on
API v2.0's ``items`` page either; it is read from the *Item Card* page published as the OData V4
web service ``ItemCard`` (``/ODataV4/Company('<name>')/ItemCard``, field
``Default_Deferral_Template_Code``; the service name is the tenant's choice, GUESSED here).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from apis.system.erp.connectors.business_central import build_business_central_connector
from apis.system.erp.settings import BusinessCentralSettings
from apis.system.kit.link import ClientSecret, VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "business-central"


async def business_central_preflight(link: VendorLink[ClientSecret], settings: BusinessCentralSettings) -> list[Check]:
    """Check the BC environment ``link`` reaches against what the connector needs."""
    # No retries: a preflight reports what the vendor answers now, at once.
    connector = build_business_central_connector(link, msgspec.structs.replace(settings, max_retries=0))
    checks = Checks(VENDOR)
    companies: list[dict[str, Any]] = []
    async with checks.step(
        "credentials",
        "register the Entra application (STRATA_BUSINESS_CENTRAL_CLIENT_ID/CLIENT_SECRET, API permission "
        "Dynamics 365 Business Central → API.ReadWrite.All, admin consent) and add it on BC's 'Microsoft Entra "
        "Applications' page with the permission set D365 AUTOMATION; check STRATA_BUSINESS_CENTRAL_TENANT_ID "
        "and ENVIRONMENT",
    ):
        body = await connector.http.call("GET", "/companies", idempotent=True)
        companies = [c for c in (body or {}).get("value", []) if isinstance(c, dict)]
        checks.passed("credentials", f"a token was obtained from Entra ID for tenant {settings.tenant_id}")
        checks.passed("api_version", f"environment {settings.environment} answers API v2.0 (/api/v2.0/companies)")
    if not checks.ok:
        return checks.results
    wanted = settings.company.lower()
    names = [str(c.get("name")) for c in companies]
    found = any(wanted in (str(c.get("name")).lower(), str(c.get("displayName")).lower()) for c in companies)
    checks.check(
        "company",
        found,
        f"company {settings.company!r} {'exists in' if found else 'is not in'} environment {settings.environment}"
        + ("" if found else f" (it has: {', '.join(names) or 'none'})"),
        "set STRATA_BUSINESS_CENTRAL_COMPANY to the name of the company to post to, or create it",
    )
    if found:
        await _deferral_templates(connector, settings, checks)
    checks.unchecked(
        "number_series",
        "API v2.0 shows no number series: whether customer numbers may be set by us is not readable",
        "in each company, Sales & Receivables Setup → Customer Nos.: the number series must have "
        "'Manual Nos.' on (we write customer numbers carrying our ids)",
    )
    return checks.results


async def _deferral_templates(connector: Any, settings: BusinessCentralSettings, checks: Checks) -> None:
    """Which items defer their revenue (a Default Deferral Template Code) and which are recognised when invoiced."""
    base = connector.http.api_base.removesuffix("/api/v2.0")
    url = f"{base}/ODataV4/Company('{quote(settings.company, safe='')}')/ItemCard"
    action = (
        "publish the Item Card page (page 30) as the OData V4 web service 'ItemCard' (page 'Web Services'), "
        "and set 'Default Deferral Template Code' on every item sold by subscription (a template with "
        "Calc. Method 'Days per Period'): Business Central defers invoice lines by the item only"
    )
    async with checks.step("deferral_templates", action):
        body = await connector.http.call("GET", url, params={"$select": "No,Default_Deferral_Template_Code"},
                                         idempotent=True)  # fmt: skip
        items = [i for i in (body or {}).get("value", []) if isinstance(i, dict)]
        deferred = sorted(str(i.get("No")) for i in items if i.get("Default_Deferral_Template_Code"))
        immediate = sorted(str(i.get("No")) for i in items if not i.get("Default_Deferral_Template_Code"))
        checks.check(
            "deferral_templates",
            bool(deferred),
            f"{len(deferred)} item(s) defer revenue by their default deferral template"
            + (f"; recognised when invoiced (no template): {', '.join(immediate)}" if immediate else ""),
            action,
        )
