"""Deterministic demo data consistent with the Salesforce sandbox seeded with the same seed.

Three companies, the legal entities of the NetSuite seed, listed (id order) as there: Strata Inc.
USD, Strata GmbH EUR, Strata Ltd GBP. Each has the chart of accounts of the NetSuite seed, payment
terms, the months of 2024 to 2027 as accounting periods (2024 closed), and every Product2 of the
Salesforce seed as a service item (``number`` = the ProductCode, ``unitPrice`` = the list price).
BC's item number is a Code[20]: the two longer product codes are cut to 20 characters (a
deliberate inconsistency for reconciliation, and the one a real BC tenant would have). Every
Salesforce Account becomes a customer of the company of its currency (``number`` = the Account Id
as Strata writes it into a Code field, :func:`strata_key`); every Closed Won opportunity a sales
order (``externalDocumentNumber`` = the Opportunity Id, likewise) with its line items; the older
half of those orders are invoiced (``shipAndInvoice``: a posted invoice naming the order, which is
deleted) and some invoices paid through the payment journal.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from sandboxes.business_central import posting, writes
from sandboxes.netsuite.seed import salesforce_org
from sandboxes.revenue_schedule import hand_entered_subscription
from sandboxes.salesforce.seed import PRODUCTS

if TYPE_CHECKING:
    from sandboxes.business_central.store import Store

COMPANIES = (
    ("Strata Inc.", "USD", "US", "Seattle"),
    ("Strata GmbH", "EUR", "DE", "Berlin"),
    ("Strata Ltd", "GBP", "GB", "London"),
)
"""(name, local currency, country, city) of each company (legal entity)."""
ACCOUNTS = (
    ("1000", "Checking", "Assets"),
    ("1200", "Accounts Receivable", "Assets"),
    ("2200", "Deferred Revenue", "Liabilities"),
    ("4000", "Subscription Revenue", "Income"),
    ("4100", "Services Revenue", "Income"),
    ("6000", "Operating Expenses", "Expense"),
)
"""The chart of accounts (the NetSuite seed's)."""
NOT_DEFERRED = ("STRATA-ONBOARDING", "STRATA-USAGE-1M")
"""Items recognised when invoiced (a one-time service, metered usage); every other item is sold by
subscription and defers its revenue with the deferral template ``SUB-12M``."""
PAYMENT_TERMS = (
    ("COD", "Cash on delivery", "0D"),
    ("15 DAYS", "Net 15 days", "15D"),
    ("30 DAYS", "Net 30 days", "30D"),
    ("45 DAYS", "Net 45 days", "45D"),
    ("60 DAYS", "Net 60 days", "60D"),
    ("90 DAYS", "Net 90 days", "90D"),
)
PERIOD_YEARS = (2024, 2025, 2026, 2027)
CLOSED_BEFORE = dt.date(2025, 1, 1)
STAMP = "2024-01-01T00:00:00Z"
PAYMENT_JOURNAL = "PAYMENTS"


def seed(store: Store, seed_value: int) -> None:
    """Fill ``store`` with companies, master data and transactions."""
    store.rng.seed(seed_value)
    rng = random.Random(seed_value)
    org = salesforce_org(seed_value)
    by_currency: dict[str, str] = {}
    for position, (name, currency, country, city) in enumerate(COMPANIES, start=1):
        company_id = store.add_company(name, STAMP, position)
        by_currency[currency] = company_id
        _master_data(store, company_id, name, currency, country, city)
        for product in org.all("Product2"):
            writes.create(store, company_id, "items", {
                "number": product["ProductCode"][:20], "displayName": product["Name"],
                "displayName2": (product["Description"] or "")[:50] or None, "type": "Service",
                "unitPrice": {code: price for code, _n, _f, price in PRODUCTS}[product["ProductCode"]],
            })  # fmt: skip
    terms = ["30 DAYS", "30 DAYS", "15 DAYS", "45 DAYS", "60 DAYS"]
    customers: dict[str, tuple[str, str]] = {}
    for account in org.all("Account"):
        company_id = by_currency.get(account["CurrencyIsoCode"], by_currency["USD"])
        term = store.find(company_id, "paymentTerms", "code", rng.choice(terms))
        customer = writes.create(store, company_id, "customers", _customer(account, term["id"] if term else None))
        customers[account["Id"]] = (company_id, customer["id"])
    _transactions(store, org, customers, rng)
    _deferral_templates(store, org)


def _master_data(store: Store, company_id: str, name: str, currency: str, country: str, city: str) -> None:
    tables = store.company(company_id)
    info_id = store.new_id()
    tables["companyInformation"][info_id] = {
        "id": info_id, "displayName": name, "addressLine1": "1 Strata Way", "city": city, "country": country,
        "postalCode": "10001", "phoneNumber": "", "email": f"finance@{name.split()[1].lower().strip('.')}.strata.dev",
        "website": "https://strata.dev", "taxRegistrationNumber": "", "currencyCode": currency,
        "currentFiscalYearStartDate": "2026-01-01", "lastModifiedDateTime": STAMP, "_version": 1,
    }  # fmt: skip
    for number, display, category in ACCOUNTS:
        account_id = store.new_id()
        tables["accounts"][account_id] = {
            "id": account_id, "number": number, "displayName": display, "category": category, "subCategory": "",
            "blocked": False, "accountType": "Posting", "directPosting": True, "lastModifiedDateTime": STAMP,
            "_version": 1,
        }  # fmt: skip
    for code, display, due in PAYMENT_TERMS:
        term_id = store.new_id()
        tables["paymentTerms"][term_id] = {
            "id": term_id, "code": code, "displayName": display, "dueDateCalculation": due,
            "discountDateCalculation": "", "discountPercent": 0.0, "calculateDiscountOnCreditMemos": False,
            "lastModifiedDateTime": STAMP, "_version": 1,
        }  # fmt: skip
    for year in PERIOD_YEARS:
        for month in range(1, 13):
            start = dt.date(year, month, 1)
            end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            period_id = store.new_id()
            tables["accountingPeriods"][period_id] = {
                "id": period_id, "startingDate": start.isoformat(), "name": start.strftime("%B"),
                "newFiscalYear": month == 1, "closed": end < CLOSED_BEFORE, "dateLocked": end < CLOSED_BEFORE,
                "lastModifiedDateTime": STAMP, "_version": 1,
            }  # fmt: skip
    writes.create(store, company_id, "customerPaymentJournals", {"code": PAYMENT_JOURNAL, "displayName": "Payments"})


def strata_key(external_id: str) -> str:
    """A Salesforce id as the Code value Strata writes for it, so it survives BC's upper-casing.

    The seed is what Strata synced earlier, so its keys take the form Strata's connector writes
    (upper-case, each lower-case letter, ``^`` and ``~`` preceded by ``^``; an 18-character
    Salesforce id has few lower-case letters, so this form is the shorter one and fits Code[20]);
    the rule is repeated here because a sandbox imports nothing of Strata's.
    """
    return "".join("^" + c.upper() if c.islower() or c in "^~" else c for c in external_id)


def _customer(account: dict[str, Any], terms_id: str | None) -> dict[str, Any]:
    return {
        "number": strata_key(account["Id"]),
        "displayName": account["Name"],
        "addressLine1": (account["BillingStreet"] or "")[:100] or None,
        "city": (account["BillingCity"] or "")[:30] or None,
        "state": (account["BillingState"] or "")[:30] or None,
        "country": account["BillingCountryCode"],
        "postalCode": account["BillingPostalCode"],
        "phoneNumber": (account["Phone"] or "")[:30] or None,
        "website": (account["Website"] or "")[:80] or None,
        "taxRegistrationNumber": (account["Tax_Id__c"] or "")[:20] or None,
        "currencyCode": account["CurrencyIsoCode"],
        "paymentTermsId": terms_id,
    }


def _transactions(store: Store, org: Any, customers: dict[str, tuple[str, str]], rng: random.Random) -> None:
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    for number, opportunity in enumerate(won):
        company_id, customer_id = customers[opportunity["AccountId"]]
        lines = [
            {"lineObjectNumber": line["ProductCode"][:20], "quantity": line["Quantity"], "unitPrice": line["UnitPrice"]}
            for line in org.all("OpportunityLineItem")
            if line["OpportunityId"] == opportunity["Id"]
        ]
        order = writes.create(store, company_id, "salesOrders", {
            "customerId": customer_id, "externalDocumentNumber": strata_key(opportunity["Id"]),
            "orderDate": opportunity["CloseDate"], "currencyCode": opportunity["CurrencyIsoCode"],
            "salesOrderLines": lines,
        })  # fmt: skip
        order["status"] = "Open"
        if number >= len(won) // 2 or not lines:
            continue
        # Posted before 2024 closed: the period check applies to postings made after the seed.
        # Shipped and invoiced as BC does it: the posted invoice names the order, which is deleted.
        _unlocked(store, company_id, posting.ship_and_invoice, order)
        invoice = next(i for i in store.all(company_id, "salesInvoices") if i.get("orderNumber") == order["number"])
        if rng.random() < 0.5:
            journal = store.find(company_id, "customerPaymentJournals", "code", PAYMENT_JOURNAL)
            assert journal is not None
            writes.add_line(store, company_id, "customerPaymentJournals", journal, {
                "customerId": customer_id, "postingDate": opportunity["CloseDate"], "amount":
                invoice["totalAmountIncludingTax"], "appliesToInvoiceId": invoice["id"],
                "documentNumber": f"PAY{invoice['number'][-6:]}",
                "externalDocumentNumber": strata_key(opportunity["Id"]),
            })  # fmt: skip
            _unlocked(store, company_id, posting.post_payments, journal)


def _deferral_templates(store: Store, org: Any) -> None:
    """Subscription items get the Default Deferral Template Code ``SUB-12M``, set up after the seeded
    history was posted (so it is not deferred), except the invoice entered by hand as a 12-month
    subscription, deferred by its items' template: the deliberate revenue difference (billing never
    billed it; :func:`sandboxes.revenue_schedule.hand_entered_subscription`)."""
    for company_id in store.companies:
        for item in store.all(company_id, "items"):
            if item["number"] not in NOT_DEFERRED:
                item["_defaultDeferralTemplateCode"] = "SUB-12M"
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    by_hand = hand_entered_subscription([(o["Id"], o["CloseDate"]) for o in won[: len(won) // 2]])
    for company_id in store.companies:
        for invoice in store.all(company_id, "salesInvoices"):
            if by_hand and invoice.get("externalDocumentNumber") == strata_key(by_hand):
                posting.defer(store, company_id, invoice)


def _unlocked(store: Store, company_id: str, action: Any, record: dict[str, Any]) -> None:
    """Run a posting as if its period were still open (the seed's history predates the closing)."""
    periods = list(store.company(company_id)["accountingPeriods"].values())
    saved = [(p["closed"], p["dateLocked"]) for p in periods]
    for period in periods:
        period["closed"] = period["dateLocked"] = False
    try:
        action(store, company_id, record)
    finally:
        for period, (closed, locked) in zip(periods, saved, strict=True):
            period["closed"], period["dateLocked"] = closed, locked
