"""Business Central preflight: Entra ID issues a token, the environment answers API v2.0, and the
configured company exists. Whether the number series take our numbers is not readable through API
v2.0 (no number-series entity): it is reported unchecked, with how to verify it.
"""

from __future__ import annotations

from typing import Any

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
    checks.unchecked(
        "number_series",
        "API v2.0 shows no number series: whether customer numbers may be set by us is not readable",
        "in each company, Sales & Receivables Setup → Customer Nos.: the number series must have "
        "'Manual Nos.' on (we write customer numbers carrying our ids)",
    )
    return checks.results
