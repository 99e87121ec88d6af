"""Deterministic demo data consistent with the Salesforce, NetSuite and Business Central seeds.

Three legal entities as there (Strata Inc. USD, Strata GmbH EUR, Strata Ltd GBP), each with a
primary ledger in its currency and a business unit (``<name> BU``); the months of 2024 to 2027
as accounting periods of each ledger for Receivables (222) and General Ledger (101), 2024 closed;
every Product2 of the Salesforce seed as an item (``ItemNumber`` = the ProductCode, ``ListPrice``
= the list price: no truncation, so unlike Business Central's seed no deliberate inconsistency);
every Salesforce Account as a customer account (``PartyNumber`` and ``SourceSystemReferenceValue``
= the Account Id, as Strata's connector keys a customer it syncs); every Closed Won opportunity as
an order-hub order (``SourceTransactionNumber`` = the Opportunity Id, source system ``STRATA``), and
the older half of those invoiced (``TransactionNumber`` = the Opportunity Id, lines naming the order);
one of those was entered by hand as a 12-month subscription with a revenue scheduling rule, which billing
never billed: the deliberate revenue difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandboxes.netsuite.seed import salesforce_org
from sandboxes.oracle_fusion import writes
from sandboxes.oracle_fusion.resources import AR_APPLICATION, GL_APPLICATION, RESOURCES
from sandboxes.revenue_schedule import hand_entered_subscription, twelve_months_from
from sandboxes.salesforce.seed import PRODUCTS

if TYPE_CHECKING:
    from sandboxes.oracle_fusion.store import Store

LEGAL_ENTITIES = (
    ("Strata Inc.", "USD", "US", "Seattle"),
    ("Strata GmbH", "EUR", "DE", "Berlin"),
    ("Strata Ltd", "GBP", "GB", "London"),
)
"""(name, ledger currency, country, city) of each legal entity, as the other ERP seeds have them."""
PERIOD_YEARS = (2024, 2025, 2026, 2027)
CLOSED_BEFORE = dt.date(2025, 1, 1)
SOURCE_SYSTEM = "STRATA"
TERMS = ("30 NET", "30 NET", "15 NET", "45 NET", "60 NET")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def business_unit_name(legal_entity: str) -> str:
    """The business unit of a legal entity."""
    return f"{legal_entity} BU"


def seed(store: Store, seed_value: int) -> None:
    """Fill ``store`` with set-up data, master data and transactions."""
    org = salesforce_org(seed_value)
    for index, (name, currency, country, _city) in enumerate(LEGAL_ENTITIES):
        entity_id, ledger_id, unit_id = store.new_id(), store.new_id(), store.new_id()
        _put(
            store,
            "legalEntitiesLOV",
            {
                "LegalEntityId": entity_id,
                "Name": name,
                "EffectiveFrom": "2020-01-01",
                "LegalEntityIdentifier": f"{country}STRATA{index + 1:03d}",
                "EffectiveTo": None,
            },
        )
        _put(
            store,
            "ledgersLOV",
            {
                "LedgerId": ledger_id,
                "Name": f"{name} Ledger",
                "CurrencyCode": currency,
                "PeriodSetName": "Strata Calendar",
                "AccountedPeriodType": "Month",
                "LedgerCategoryCode": "PRIMARY",
                "Description": f"Primary ledger of {name}",
            },
        )
        _put(
            store,
            "finBusinessUnitsLOV",
            {
                "BusinessUnitId": unit_id,
                "BusinessUnitName": business_unit_name(name),
                "PrimaryLedgerId": ledger_id,
                "LegalEntityId": entity_id,
                "Status": "A",
            },
        )
        for application in (AR_APPLICATION, GL_APPLICATION):
            for year in PERIOD_YEARS:
                for month in range(1, 13):
                    start = dt.date(year, month, 1)
                    end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
                    status = "C" if end < CLOSED_BEFORE else ("F" if year == PERIOD_YEARS[-1] else "O")
                    _put(
                        store,
                        "accountingPeriodStatusLOV",
                        {
                            "_id": store.new_id(),
                            "ApplicationId": application,
                            "LedgerId": ledger_id,
                            "PeriodNameId": f"{MONTHS[month - 1]}-{year % 100:02d}",
                            "PeriodYear": year,
                            "PeriodNumber": month,
                            "StartDate": start.isoformat(),
                            "EndDate": end.isoformat(),
                            "ClosingStatus": status,
                            "AdjustmentPeriodFlag": "N",
                        },
                    )
    for product in org.all("Product2"):
        price = next(p for code, _n, _f, p in PRODUCTS if code == product["ProductCode"])
        _put(
            store,
            "itemsV2",
            {
                "ItemId": store.new_id(),
                "OrganizationId": 300100000000204,
                "OrganizationCode": "STR",
                "ItemNumber": product["ProductCode"],
                "ItemDescription": product["Name"],
                "LongDescription": product["Description"],
                "ItemStatusValue": "Active",
                "PrimaryUOMValue": "Each",
                "ListPrice": price,
            },
        )
    units = {currency: business_unit_name(name) for name, currency, _c, _t in LEGAL_ENTITIES}
    for number, account in enumerate(org.all("Account")):
        writes.create(store, RESOURCES["accounts"], _account(account, TERMS[number % len(TERMS)]), upsert=False)
    _unlocked(store, lambda: _transactions(store, org, units))


def _put(store: Store, resource: str, record: dict[str, Any]) -> None:
    store.put(resource, {**record, "_version": 1})


def _account(account: dict[str, Any], terms: str) -> dict[str, Any]:
    return {
        "PartyNumber": account["Id"],
        "OrganizationName": account["Name"],
        "SourceSystem": SOURCE_SYSTEM,
        "SourceSystemReferenceValue": account["Id"],
        "CurrencyCode": account["CurrencyIsoCode"],
        "TaxpayerIdentificationNumber": account["Tax_Id__c"] or None,
        "URL": account["Website"] or None,
        "Address1": account["BillingStreet"] or None,
        "City": account["BillingCity"] or None,
        "State": account["BillingState"] or None,
        "PostalCode": account["BillingPostalCode"] or None,
        "Country": account["BillingCountryCode"] or None,
        "PaymentTerms": terms,
    }


def _transactions(store: Store, org: Any, units: dict[str, str]) -> None:
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    currencies = {a["Id"]: a["CurrencyIsoCode"] for a in org.all("Account")}
    by_hand = hand_entered_subscription([(o["Id"], o["CloseDate"]) for o in won[: len(won) // 2]])
    for number, opportunity in enumerate(won):
        lines = [line for line in org.all("OpportunityLineItem") if line["OpportunityId"] == opportunity["Id"]]
        if not lines:
            continue
        unit = units.get(currencies[opportunity["AccountId"]], units["USD"])
        order, _ = writes.create(
            store,
            RESOURCES["salesOrdersForOrderHub"],
            {
                "SourceTransactionNumber": opportunity["Id"],
                "SourceTransactionSystem": SOURCE_SYSTEM,
                "SourceTransactionId": opportunity["Id"],
                "BusinessUnitName": unit,
                "RequestingBusinessUnitName": unit,
                "BuyingPartyNumber": opportunity["AccountId"],
                "TransactionalCurrencyCode": opportunity["CurrencyIsoCode"],
                "TransactionOn": f"{opportunity['CloseDate']}T00:00:00+00:00",
                "SubmittedFlag": True,
                "lines": [
                    {
                        "SourceTransactionLineId": str(n),
                        "SourceTransactionLineNumber": str(n),
                        "ProductNumber": line["ProductCode"],
                        "OrderedQuantity": line["Quantity"],
                        "UnitSellingPrice": line["UnitPrice"],
                    }
                    for n, line in enumerate(lines, start=1)
                ],
            },
            upsert=False,
        )
        if number >= len(won) // 2:
            continue
        writes.create(
            store,
            RESOURCES["receivablesInvoices"],
            {
                "TransactionNumber": opportunity["Id"],
                "TransactionSource": "Strata Manual",
                "TransactionType": "Invoice",
                "BusinessUnit": unit,
                "BillToCustomerNumber": opportunity["AccountId"],
                "TransactionDate": opportunity["CloseDate"],
                "InvoiceCurrencyCode": opportunity["CurrencyIsoCode"],
                "CrossReference": opportunity["Id"],
                "receivablesInvoiceLines": [
                    {
                        "LineNumber": n,
                        "ItemNumber": line["ProductCode"],
                        "Description": line["ProductCode"],
                        "Quantity": line["Quantity"],
                        "UnitSellingPrice": line["UnitPrice"],
                        "SalesOrder": order["OrderNumber"],
                        **(_scheduled(opportunity["CloseDate"]) if opportunity["Id"] == by_hand else {}),
                    }
                    for n, line in enumerate(lines, start=1)
                ],
                **({"InvoicingRule": "In Advance Invoice"} if opportunity["Id"] == by_hand else {}),
            },
            upsert=False,
        )


def _scheduled(close_date: str) -> dict[str, Any]:
    """The revenue scheduling of the invoice entered by hand as a 12-month subscription (the deliberate
    revenue difference: billing never billed it; :func:`sandboxes.revenue_schedule.hand_entered_subscription`)."""
    first = dt.date.fromisoformat(close_date)
    return {"AccountingRule": "Daily Revenue Rate, Partial Periods", "RuleStartDate": close_date,
            "RuleEndDate": twelve_months_from(first).isoformat()}  # fmt: skip


def _unlocked(store: Store, action: Callable[[], None]) -> None:
    """Run postings as if every period were open (the seed's history predates the closing)."""
    periods = list(store.data["accountingPeriodStatusLOV"].values())
    saved = [p["ClosingStatus"] for p in periods]
    for period in periods:
        period["ClosingStatus"] = "O"
    try:
        action()
    finally:
        for period, status in zip(periods, saved, strict=True):
            period["ClosingStatus"] = status
