"""Deterministic demo data consistent with the Salesforce sandbox seeded with the same seed.

The Salesforce seed runs into an in-memory Salesforce store; every Account becomes a customer
(``externalId`` = the Salesforce Account Id, ``entityId`` = its ``Strata_Id__c`` when it has one,
``parent`` follows ``ParentId``), every Product2 a service sale item (``externalId`` = the Product2
Id, ``itemId`` = its ProductCode), and every Closed Won opportunity a sales order (``externalId``
= the Opportunity Id) with its line items; the older half of those orders are invoiced, and some
invoices paid. Subsidiaries follow the account's currency (USD, EUR, GBP). Accounting periods are
the months of 2024 to 2027; the months of 2024 are closed (the seeded 2024 transactions were
posted before they closed). One invoice was entered by hand as a 12-month subscription (its lines
carry rev rec dates, so NetSuite scheduled its revenue) that billing never billed: the deliberate
revenue difference (:func:`sandboxes.revenue_schedule.hand_entered_subscription`).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from sandboxes.netsuite.schema import FIXED_LISTS, RECORD_TYPES
from sandboxes.revenue_schedule import hand_entered_subscription, twelve_months_from
from sandboxes.salesforce.seed import PRODUCTS
from sandboxes.salesforce.seed import seed as seed_salesforce
from sandboxes.salesforce.store import Store as SalesforceStore

if TYPE_CHECKING:
    from sandboxes.netsuite.store import Store

SUBSIDIARIES = (
    ("Strata Inc.", "USD", "US"),
    ("Strata GmbH", "EUR", "DE"),
    ("Strata Ltd", "GBP", "GB"),
)
"""(name, currency, country) of the subsidiaries under the parent company."""
PARENT_COMPANY = "Strata Holdings (Consolidated)"
PERIOD_YEARS = (2024, 2025, 2026, 2027)
CLOSED_BEFORE = dt.date(2025, 1, 1)
"""Periods ending before this day are closed."""
STAMP = "2024-01-01T00:00:00Z"


def salesforce_org(seed_value: int) -> SalesforceStore:
    """The Salesforce sandbox's seeded org, in memory (the same one it serves for this seed)."""
    return SalesforceStore(None, lambda store: seed_salesforce(store, seed_value))


def seed(store: Store, seed_value: int) -> None:
    """Fill ``store`` with subsidiaries, periods, items, customers and transactions."""
    rng = random.Random(seed_value)
    org = salesforce_org(seed_value)
    currency_ids = {code: key for key, code in FIXED_LISTS["currency"].items()}
    create = store.create

    parent = create(RECORD_TYPES["subsidiary"], {"name": PARENT_COMPANY, "currency": {"id": "1"}}, stamp=STAMP)
    subsidiaries = {parent: parent}
    by_currency = {}
    for name, currency, country in SUBSIDIARIES:
        values: dict[str, Any] = {"name": name, "currency": {"id": currency_ids[currency]}, "country": country}
        by_currency[currency] = create(RECORD_TYPES["subsidiary"], values, stamp=STAMP)
        subsidiaries[by_currency[currency]] = by_currency[currency]

    prices = {code: price for code, _name, _family, price in PRODUCTS}
    items = {}
    for product in org.all("Product2"):
        values = {
            "itemId": product["ProductCode"],
            "displayName": product["Name"],
            "description": product["Description"],
            "basePrice": prices[product["ProductCode"]],
            "externalId": product["Id"],
            "subsidiary": {"id": parent},
        }
        items[product["Id"]] = create(RECORD_TYPES["serviceSaleItem"], values, stamp=STAMP)

    customers: dict[str, str] = {}
    for account in org.all("Account"):
        values = {
            "companyName": account["Name"],
            "entityId": account["Strata_Id__c"] or account["Name"],
            "externalId": account["Id"],
            "subsidiary": {"id": by_currency.get(account["CurrencyIsoCode"], by_currency["USD"])},
            "currency": {"id": currency_ids[account["CurrencyIsoCode"]]},
            "phone": account["Phone"],
            "url": account["Website"],
            "vatRegNumber": account["Tax_Id__c"],
            "city": account["BillingCity"],
            "country": account["BillingCountryCode"],
            "parent": {"id": customers[account["ParentId"]]} if account["ParentId"] else None,
        }
        customers[account["Id"]] = create(RECORD_TYPES["customer"], values, stamp=account["CreatedDate"][:19] + "Z")

    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    by_hand = hand_entered_subscription([(o["Id"], o["CloseDate"]) for o in won[: len(won) // 2]])
    hand_entered: str | None = None
    for number, opportunity in enumerate(won):
        lines = [
            {"item": {"id": items[line["Product2Id"]]}, "quantity": line["Quantity"], "rate": line["UnitPrice"]}
            for line in org.all("OpportunityLineItem")
            if line["OpportunityId"] == opportunity["Id"]
        ]
        values = {
            "entity": {"id": customers[opportunity["AccountId"]]},
            "externalId": opportunity["Id"],
            "tranDate": opportunity["CloseDate"],
            "currency": {"id": currency_ids[opportunity["CurrencyIsoCode"]]},
            "otherRefNum": opportunity["Strata_Id__c"],
            "item": {"items": lines},
        }
        order = create(RECORD_TYPES["salesOrder"], values, stamp=STAMP)
        if number < len(won) // 2:
            dated = {"tranDate": opportunity["CloseDate"]}
            invoice = store.transform(RECORD_TYPES["salesOrder"], order, RECORD_TYPES["invoice"], dated, stamp=STAMP)
            if opportunity["Id"] == by_hand:
                hand_entered = invoice
            if rng.random() < 0.5:
                store.transform(RECORD_TYPES["invoice"], invoice, RECORD_TYPES["customerPayment"], dated, stamp=STAMP)

    for year in PERIOD_YEARS:
        for month in range(1, 13):
            start = dt.date(year, month, 1)
            end = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
            values = {
                "periodName": start.strftime("%b %Y"),
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "closed": end < CLOSED_BEFORE,
                "isQuarter": False,
                "isYear": False,
            }
            create(RECORD_TYPES["accountingPeriod"], values, stamp=STAMP)
    if hand_entered is not None:  # entered by hand as a 12-month subscription: NetSuite schedules its revenue
        record = store.records["invoice"][hand_entered]
        first = dt.date.fromisoformat(record["tranDate"])
        for line in record["item"]:
            line["revRecStartDate"], line["revRecEndDate"] = first.isoformat(), twelve_months_from(first).isoformat()
        store.schedule_revenue(record)
