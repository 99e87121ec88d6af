"""Oracle Fusion preflight: the credentials work, the REST release answers, the business unit exists,
the Receivables periods of its ledger are readable, and the order hub answers when orders go there.

What REST cannot show (the transaction source's manual numbering, the receipt method's bank account)
is reported unchecked, with where to verify it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from apis.system.erp.connectors.oracle_fusion import build_oracle_fusion_connector
from apis.system.erp.settings import OracleFusionSettings
from apis.system.kit.link import VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "oracle-fusion"


async def oracle_fusion_preflight(link: VendorLink[Any], settings: OracleFusionSettings) -> list[Check]:
    """Check the pod ``link`` reaches against what the connector needs."""
    # No retries: a preflight reports what the vendor answers now, at once.
    connector = build_oracle_fusion_connector(link, msgspec.structs.replace(settings, max_retries=0))
    http = connector.http
    checks = Checks(VENDOR)
    units: list[dict[str, Any]] = []
    who = "the integration user" if settings.auth == "basic" else "the identity domain's client"
    async with checks.step(
        "credentials",
        "give the integration user (STRATA_ORACLE_FUSION_USER/PASSWORD) or the confidential application "
        "(STRATA_ORACLE_FUSION_CLIENT_ID/CLIENT_SECRET, TOKEN_URL, SCOPE) the job roles Accounts Receivable "
        "Manager and General Accountant (and Order Entry Specialist with the order hub) with data access to the "
        "business unit; check STRATA_ORACLE_FUSION_API_VERSION",
    ):
        units = await http.items(f"{http.fscm}/finBusinessUnitsLOV", {})
        checks.passed("credentials", f"{who} was accepted")
        checks.passed("api_version", f"the pod answers REST resources version {settings.api_version}")
    if not checks.ok:
        return checks.results
    names = [str(u.get("BusinessUnitName")) for u in units]
    unit = next((u for u in units if u.get("BusinessUnitName") == settings.business_unit), None)
    checks.check(
        "business_unit",
        unit is not None,
        f"business unit {settings.business_unit!r} {'exists' if unit else 'does not exist'}"
        + ("" if unit else f" (readable: {', '.join(names) or 'none'})"),
        "set STRATA_ORACLE_FUSION_BUSINESS_UNIT to the business unit to post in, and grant the user data access to it",
    )
    if unit is not None:
        async with checks.step(
            "periods",
            "grant a role with the privilege to view accounting period statuses (General Accountant) and open "
            "the Receivables periods of the business unit's ledger",
        ):
            periods = await connector.list_accounting_periods()
            open_count = sum(1 for p in periods if not p.closed)
            ok = bool(periods)
            checks.check(
                "periods",
                ok,
                f"{len(periods)} Receivables periods readable, {open_count} open or future-enterable",
                "define the accounting calendar and open the Receivables periods of the ledger",
            )
    if settings.order_hub == "order-hub":
        async with checks.step(
            "order_hub",
            "Order Management must be licensed and the user an Order Entry Specialist; without it set "
            "STRATA_ORACLE_FUSION_ORDER_HUB=skip",
        ):
            await http.call(
                "GET", f"{http.fscm}/salesOrdersForOrderHub", params={"limit": "1", "onlyData": "true"}, idempotent=True
            )
            checks.passed("order_hub", "salesOrdersForOrderHub answers")
    checks.unchecked(
        "transaction_source",
        "REST shows no transaction source set-up: whether our transaction numbers are accepted is not readable",
        f"Receivables → Manage Transaction Sources: {settings.transaction_source!r} must be a manual source "
        "without automatic transaction numbering; the transaction types "
        f"{settings.invoice_type!r} and {settings.credit_memo_type!r} must exist for the business unit",
    )
    checks.unchecked(
        "receipt_method",
        "REST shows no receipt method set-up",
        f"Receivables → Manage Receipt Classes and Methods: {settings.receipt_method!r} with the remittance bank "
        f"account {settings.remittance_bank_account!r} for the business unit",
    )
    return checks.results
