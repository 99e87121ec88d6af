"""Salesforce preflight: a token is obtained, the org serves our API version, and the org has the
set-up the connector needs — custom fields, multi-currency, state and country picklists.

A standard org lacks all of it, and fails the connector's first query with ``INVALID_FIELD``;
:data:`CUSTOM_FIELDS` is the list an administrator creates (README, "Pointing a connector at the
real vendor"), read from the org's describe of each object.
"""

from __future__ import annotations

from typing import Any

from apis.system.crm import mapping as m
from apis.system.crm.connectors.salesforce import SalesforceConfig, SalesforceConnector
from apis.system.crm.settings import SalesforceSettings
from apis.system.kit.link import ClientSecret, VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "salesforce"
PREFLIGHT_CONFIG = SalesforceConfig(timeout_seconds=10.0, max_retries=0)
EXTERNAL_ID = "Text(64), External ID, Unique"
TEXT = "Text(64)"
CUSTOM_FIELDS: dict[str, dict[str, str]] = {
    m.ACCOUNT: {
        m.EXTERNAL_ID_FIELD: EXTERNAL_ID,
        "Tax_Id__c": TEXT,
        "Billing_Status__c": "Picklist: " + ", ".join(m.CUSTOMER_BILLING),
        m.PARTNER_FIELD: TEXT,
    },
    m.CONTACT: {m.EXTERNAL_ID_FIELD: EXTERNAL_ID},
    m.OPPORTUNITY: {
        m.EXTERNAL_ID_FIELD: EXTERNAL_ID,
        "Billing_Status__c": "Picklist: " + ", ".join(m.OPPORTUNITY_BILLING),
        "Invoice_Number__c": TEXT,
        m.PARTNER_FIELD: TEXT,
    },
}
"""Custom fields per object, with the type to create them as."""
PICKLIST_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    (m.ACCOUNT, "Billing_Status__c"): tuple(m.CUSTOMER_BILLING),
    (m.OPPORTUNITY, "Billing_Status__c"): tuple(m.OPPORTUNITY_BILLING),
}
"""Picklist values the connector writes."""
MULTI_CURRENCY = "CurrencyIsoCode"
COUNTRY_PICKLIST = "BillingCountryCode"


async def salesforce_preflight(link: VendorLink[ClientSecret], settings: SalesforceSettings) -> list[Check]:
    """Check the Salesforce org ``link`` reaches against what the connector needs."""
    credentials = link.credentials
    connector = SalesforceConnector(
        link.client, link.base_url, credentials.client_id, credentials.client_secret, config=PREFLIGHT_CONFIG
    )
    checks = Checks(VENDOR)
    async with checks.step(
        "credentials",
        "set STRATA_SALESFORCE_CLIENT_ID and STRATA_SALESFORCE_CLIENT_SECRET to the connected app's consumer key "
        "and secret, with the client credentials flow enabled and a Run As user",
    ):
        instance = await connector.instance_url()
        checks.passed("credentials", f"a token was obtained (client credentials); instance {instance}")
    if not checks.ok:
        return checks.results
    wanted = connector.api_version.removeprefix("v")
    async with checks.step("api_version", f"use an org that serves REST API v{wanted}"):
        served = await connector.versions()
        checks.check(
            "api_version",
            wanted in served,
            f"the connector uses v{wanted}; the org serves {', '.join(served[-3:]) or 'nothing'}",
            f"use an org that serves REST API v{wanted}",
        )
    described: dict[str, dict[str, dict[str, Any]]] = {}
    for sobject in CUSTOM_FIELDS:
        async with checks.step("custom_fields", f"give the integration user read access to {sobject}"):
            described[sobject] = {f["name"]: f for f in (await connector.describe(sobject))["fields"]}
    for sobject, fields in described.items():
        _check_fields(checks, sobject, fields)
    if m.ACCOUNT in described and m.OPPORTUNITY in described:
        _check_org_features(checks, described)
    return checks.results


def _check_fields(checks: Checks, sobject: str, fields: dict[str, dict[str, Any]]) -> None:
    wanted = CUSTOM_FIELDS[sobject]
    missing = [name for name in wanted if name not in fields]
    checks.check(
        "custom_fields",
        not missing,
        f"{sobject} has {'every custom field we use' if not missing else 'no ' + ', '.join(missing)}",
        f"create on {sobject} (Setup → Object Manager → {sobject} → Fields & Relationships): "
        + "; ".join(f"{name} {wanted[name]}" for name in missing),
    )
    external = fields.get(m.EXTERNAL_ID_FIELD)
    if external is not None:
        checks.check(
            "external_id",
            external.get("externalId") is True,
            f"{sobject}.{m.EXTERNAL_ID_FIELD} is {'' if external.get('externalId') else 'not '}an External ID",
            f"edit {sobject}.{m.EXTERNAL_ID_FIELD}: tick External ID and Unique",
        )
    for (owner, name), values in PICKLIST_VALUES.items():
        if owner != sobject or name not in fields:
            continue
        present = {v.get("value") for v in fields[name].get("picklistValues") or () if v.get("active", True)}
        absent = [value for value in values if value not in present]
        checks.check(
            "picklists",
            not absent,
            f"{sobject}.{name} {'offers every value we write' if not absent else 'lacks ' + ', '.join(absent)}",
            f"add the values {', '.join(absent)} to {sobject}.{name}",
        )


def _check_org_features(checks: Checks, described: dict[str, dict[str, dict[str, Any]]]) -> None:
    lacking = [sobject for sobject in (m.ACCOUNT, m.OPPORTUNITY) if MULTI_CURRENCY not in described[sobject]]
    checks.check(
        "multi_currency",
        not lacking,
        "multi-currency is " + ("on" if not lacking else f"off (no {MULTI_CURRENCY} on {', '.join(lacking)})"),
        "activate multiple currencies (Setup → Company Information → Currency Setup; it cannot be undone) "
        "and add the currencies we sell in",
    )
    has_picklists = COUNTRY_PICKLIST in described[m.ACCOUNT]
    checks.check(
        "state_country_picklists",
        has_picklists,
        "state and country/territory picklists are "
        + ("on" if has_picklists else f"off (no {m.ACCOUNT}.{COUNTRY_PICKLIST})"),
        "enable them (Setup → State and Country/Territory Picklists → Enable, after converting existing data)",
    )
