"""AvaTax preflight: the account id and license key authenticate, and each company code we send exists."""

from __future__ import annotations

from apis.system.kit.link import BasicCredentials, VendorLink
from apis.system.kit.preflight import Check, Checks
from apis.system.tax.connectors.avalara import API, AvalaraConfig, AvalaraConnector
from apis.system.tax.settings import AvalaraSettings

VENDOR = "avalara"
PREFLIGHT_CONFIG = AvalaraConfig(timeout_seconds=10.0, max_retries=0)


async def avalara_preflight(link: VendorLink[BasicCredentials], settings: AvalaraSettings) -> list[Check]:
    """Check the AvaTax account ``link`` reaches against what the connector needs."""
    credentials = link.credentials
    connector = AvalaraConnector(
        link.client, link.base_url, credentials.username, credentials.password, config=PREFLIGHT_CONFIG
    )
    checks = Checks(VENDOR)
    fix_credentials = (
        "check STRATA_AVALARA_URL; set STRATA_AVALARA_ACCOUNT_ID and STRATA_AVALARA_LICENSE_KEY to the account's "
        "id and license key "
        "(sandbox accounts at https://sandbox-rest.avatax.com, production at https://rest.avatax.com)"
    )
    async with checks.step("credentials", fix_credentials):
        ping = await connector.ping()
        authenticated = checks.check(
            "credentials",
            ping["authenticated"] is True,
            f"account {credentials.username} {'authenticated' if ping['authenticated'] else 'NOT authenticated'}",
            fix_credentials,
        )
        if authenticated:
            checks.passed("api_version", f"REST {API.rsplit('/', 1)[-1]} (service version {ping.get('version', '?')})")
    if not checks.ok:
        return checks.results
    for code in settings.companies:
        async with checks.step("company", f"check that the AvaTax account can reach company {code}"):
            company = await connector.company(code)
            checks.check(
                "company",
                company is not None and company.get("isActive", True) is not False,
                f"company {code} {'exists' if company else 'does not exist'}"
                + (" but is inactive" if company and company.get("isActive") is False else ""),
                f"create company {code} in AvaTax (Settings → Companies), or set STRATA_AVALARA_COMPANY_CODES "
                "to the codes our legal entities use",
            )
    return checks.results
