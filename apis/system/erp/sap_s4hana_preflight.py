"""SAP S/4HANA Cloud preflight: the communication user (or OAuth client) is accepted, each service of
the communication arrangements the connector needs answers, the configured company code exists and
its posting periods are readable. The SOAP journal entry posting cannot be tried without posting: it
is reported unchecked, with how to verify it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from apis.system.erp.connectors.sap_s4hana import build_sap_s4hana_connector
from apis.system.erp.connectors.sap_s4hana_mapping import results, text
from apis.system.erp.settings import SapS4HanaSettings
from apis.system.kit.link import VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "sap-s4hana"
SERVICES = (
    ("API_BUSINESS_PARTNER", "SAP_COM_0008 (Business Partner, Customer and Supplier Integration)"),
    ("API_PRODUCT_SRV", "SAP_COM_0009 (Product Integration)"),
    ("API_SALES_ORDER_SRV", "SAP_COM_0109 (Sales Order Integration)"),
    ("API_CREDIT_MEMO_REQUEST_SRV", "the communication scenario of Credit Memo Request Integration"),
    ("API_BILLING_DOCUMENT_SRV", "SAP_COM_0120 (Billing Document Integration)"),
    ("API_JOURNALENTRYITEMBASIC_SRV", "the communication scenario of Journal Entry Item - Basic"),
    ("API_GLACCOUNTLINEITEM", "the communication scenario of G/L Account Line Item - Read"),
    ("YY1_POSTINGPERIOD_CDS", "the custom communication scenario exposing the custom CDS view YY1_PostingPeriod"),
)
"""Each OData service the connector calls, and the communication arrangement that must expose it."""


async def sap_s4hana_preflight(link: VendorLink[Any], settings: SapS4HanaSettings) -> list[Check]:
    """Check the tenant ``link`` reaches against what the connector needs."""
    # No retries: a preflight reports what the vendor answers now, at once.
    connector = build_sap_s4hana_connector(link, msgspec.structs.replace(settings, max_retries=0))
    checks = Checks(VENDOR)
    how = "basic: the communication user" if settings.auth == "basic" else "oauth2: the OAuth 2.0 client"
    async with checks.step(
        "credentials",
        "create a communication user (STRATA_SAP_S4HANA_USER/PASSWORD) or an OAuth 2.0 client "
        "(STRATA_SAP_S4HANA_CLIENT_ID/CLIENT_SECRET, STRATA_SAP_S4HANA_AUTH=oauth2) in a communication system and "
        "assign it to the communication arrangements; check STRATA_SAP_S4HANA_URL (the -api host)",
    ):
        await connector.http.odata("GET", SERVICES[0][0], "", idempotent=True)
        checks.passed("credentials", f"the tenant accepted {how}")
    if not checks.ok:
        return checks.results
    for service, arrangement in SERVICES:
        async with checks.step(service, f"create a communication arrangement for {arrangement} with this user"):
            await connector.http.odata("GET", service, "", idempotent=True)
            checks.passed(service, f"{service} answers")
    codes: dict[str, Any] = {}
    async with checks.step("company_code", "check the communication arrangement of Journal Entry Item - Basic"):
        body = await connector.http.odata("GET", "API_JOURNALENTRYITEMBASIC_SRV", "A_CompanyCode", idempotent=True)
        codes = {str(r.get("CompanyCode")): r for r in results(body)}
        found = settings.company_code in codes
        checks.check(
            "company_code",
            found,
            f"company code {settings.company_code} {'exists' if found else 'is not in the tenant'}"
            + ("" if found else f" (it has: {', '.join(sorted(codes)) or 'none'})"),
            "set STRATA_SAP_S4HANA_COMPANY_CODE to the company code to post to",
        )
    async with checks.step("periods", "expose the posting period view YY1_PostingPeriod (see SERVICES)"):
        query = {"$filter": f"CompanyCode eq {text(settings.company_code)}", "$top": "1"}
        periods = results(await connector.http.odata("GET", "YY1_POSTINGPERIOD_CDS", "YY1_PostingPeriod",
                                                     params=query, idempotent=True))  # fmt: skip
        checks.check(
            "periods",
            bool(periods),
            f"posting periods of company code {settings.company_code} are "
            + ("readable" if periods else "not readable (none answered)"),
            "check the fiscal year variant of the company code and the custom CDS view's data source",
        )
    checks.unchecked(
        "journal_entry_post",
        "the SOAP service JournalEntryCreateRequestConfirmation_In cannot be tried without posting",
        "create a communication arrangement for SAP_COM_0002 (Finance - Posting Integration) with this user and "
        "post a test entry from its test tool",
    )
    return checks.results
