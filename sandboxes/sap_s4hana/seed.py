"""Deterministic demo data consistent with the other ERP sandboxes and the Salesforce seed.

Three company codes, the legal entities of the NetSuite and Business Central seeds: 1710 Strata
Inc. (USD, US), 1010 Strata GmbH (EUR, DE), 1510 Strata Ltd (GBP, GB); each has a sales
organisation of the same number (distribution channel 10, division 00, as in SAP's best-practice
configuration), the chart of accounts YCOA with the accounts of the NetSuite seed, and posting
periods for the months of 2024 to 2027 (2024 closed). Every Product2 of the Salesforce seed is a
service product (``Product`` = the ProductCode: SAP's product number holds 40 characters, so no
code is cut and this seed has no deliberate item inconsistency) valued at company-code level at
its list price in each company code's currency. Every Salesforce Account is a business partner
(organization) with the customer role in the company code and sales area of its currency;
``BusinessPartnerIDByExtSystem`` holds the Account Id (18 characters fit the field's 20), as
Strata's connector writes it. No sales documents are seeded; one customer's 12-month subscription was
entered by hand in the G/L with its revenue deferral (journal entries), which billing never billed: the
deliberate revenue difference.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandboxes.netsuite.seed import salesforce_org
from sandboxes.revenue_schedule import daily_rate_schedule, hand_entered_subscription, twelve_months_from
from sandboxes.salesforce.seed import PRODUCTS
from sandboxes.sap_s4hana.rules import create, padded, post

if TYPE_CHECKING:
    from sandboxes.sap_s4hana.store import Store

COMPANY_CODES = (
    ("1710", "Strata Inc.", "USD", "US", "Seattle"),
    ("1010", "Strata GmbH", "EUR", "DE", "Berlin"),
    ("1510", "Strata Ltd", "GBP", "GB", "London"),
)
"""(company code, name, currency, country, city)."""
ACCOUNTS = (("1000", True), ("1200", True), ("2200", True), ("4000", False), ("4100", False), ("6000", False))
"""G/L accounts of chart YCOA (the NetSuite seed's numbers) and whether each is a balance sheet account."""
PERIOD_YEARS = (2024, 2025, 2026, 2027)
CLOSED_BEFORE = dt.date(2025, 1, 1)
TERMS = ("NT30", "NT30", "NT15", "NT45", "NT60")


def seed(store: Store, seed_value: int) -> None:
    """Fill ``store`` with company codes, master data and the synced customers."""
    by_currency: dict[str, str] = {}
    for code, name, currency, country, city in COMPANY_CODES:
        by_currency[currency] = code
        store.insert(store.sets["A_CompanyCode"], {
            "CompanyCode": code, "CompanyCodeName": name, "CityName": city, "Country": country, "Currency": currency,
            "Language": "EN", "ChartOfAccounts": "YCOA", "FiscalYearVariant": "K4", "Company": code,
        })  # fmt: skip
        for year in PERIOD_YEARS:
            for month in range(1, 13):
                start = dt.date(year, month, 1)
                end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
                store.insert(store.sets["YY1_PostingPeriod"], {
                    "CompanyCode": code, "FiscalYear": str(year), "FiscalPeriod": str(month).zfill(3),
                    "FiscalPeriodStartDate": start.isoformat(), "FiscalPeriodEndDate": end.isoformat(),
                    "PostingPeriodIsOpen": end >= CLOSED_BEFORE,
                })  # fmt: skip
    for gl_account, balance in ACCOUNTS:
        store.insert(store.sets["A_GLAccountInChartOfAccounts"], {
            "ChartOfAccounts": "YCOA", "GLAccount": padded(gl_account), "IsBalanceSheetAccount": balance,
            "IsProfitLossAccount": not balance, "GLAccountType": "X" if balance else "P",
        })  # fmt: skip
    prices = {code: price for code, _name, _family, price in PRODUCTS}
    org = salesforce_org(seed_value)
    for product in org.all("Product2"):
        code = product["ProductCode"]
        store.insert(store.sets["A_Product"], {"Product": code, "ProductType": "SERV", "BaseUnit": "EA",
                                               "ProductGroup": "P001", "IsMarkedForDeletion": False,
                                               "LastChangeDate": "2024-01-01"})  # fmt: skip
        store.insert(store.sets["A_ProductDescription"], {"Product": code, "Language": "EN",
                                                          "ProductDescription": product["Name"][:40]})  # fmt: skip
        for company, _name, currency, _country, _city in COMPANY_CODES:
            store.insert(store.sets["A_ProductValuation"], {
                "Product": code, "ValuationArea": company, "ValuationType": "", "StandardPrice": str(prices[code]),
                "PriceUnitQty": "1", "Currency": currency,
            })  # fmt: skip
    for number, account in enumerate(org.all("Account")):
        company = by_currency.get(account["CurrencyIsoCode"], "1710")
        country = account.get("BillingCountryCode") or ""
        terms = TERMS[number % len(TERMS)]
        partner = {
            "BusinessPartnerCategory": "2", "BusinessPartnerGrouping": "BP02",
            "OrganizationBPName1": account["Name"][:40], "SearchTerm1": account["Name"][:20].upper(),
            "BusinessPartnerIDByExtSystem": account["Id"],
            "to_BusinessPartnerRole": [{"BusinessPartnerRole": "FLCU00"}, {"BusinessPartnerRole": "FLCU01"}],
            "to_BusinessPartnerAddress": [{
                "Country": country, "CityName": (account.get("BillingCity") or "")[:40],
                "PostalCode": (account.get("BillingPostalCode") or "")[:10],
                "StreetName": (account.get("BillingStreet") or "")[:60],
            }],
            "to_Customer": {
                "to_CustomerCompany": [{"CompanyCode": company, "PaymentTerms": terms,
                                        "ReconciliationAccount": padded("1200")}],
                "to_CustomerSalesArea": [{"SalesOrganization": company, "DistributionChannel": "10", "Division": "00",
                                          "Currency": account["CurrencyIsoCode"], "CustomerPaymentTerms": terms}],
            },
        }  # fmt: skip
        if account.get("Tax_Id__c"):
            partner["to_BusinessPartnerTax"] = [{"BPTaxType": f"{country or 'US'}0", "BPTaxNumber":
                                                 account["Tax_Id__c"][:20]}]  # fmt: skip
        create(store, store.sets["A_BusinessPartner"], partner)
    _hand_entered_deferral(store, org, by_currency)


def _hand_entered_deferral(store: Store, org: Any, by_currency: dict[str, str]) -> None:
    """The deliberate revenue difference: a 12-month subscription of one customer entered by hand in the
    G/L (no sales document; billing never billed it), deferred the way Strata's connector defers an
    invoice (:mod:`apis.system.erp.connectors.sap_s4hana_deferrals`, items' text ``REVREC <reference>
    <customer>``): revenue to deferred revenue on the start date, then each month's part back to revenue."""
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    by_hand = hand_entered_subscription([(o["Id"], o["CloseDate"]) for o in won[: len(won) // 2]])
    opportunity = next((o for o in won if o["Id"] == by_hand), None)
    if opportunity is None:
        return
    account = next(a for a in org.all("Account") if a["Id"] == opportunity["AccountId"])
    company = by_currency.get(account["CurrencyIsoCode"], "1710")
    partner = store.where("A_BusinessPartner", BusinessPartnerIDByExtSystem=account["Id"])[0]["BusinessPartner"]
    amount = sum(
        (Decimal(str(line["Quantity"])) * Decimal(str(line["UnitPrice"])) for line in org.all("OpportunityLineItem")
         if line["OpportunityId"] == opportunity["Id"]),
        Decimal(0),
    )  # fmt: skip
    first = dt.date.fromisoformat(opportunity["CloseDate"])
    periods = store.all("YY1_PostingPeriod")
    saved = [p["PostingPeriodIsOpen"] for p in periods]
    for period in periods:  # posted before 2024 closed, like the other seeds' history
        period["PostingPeriodIsOpen"] = True
    try:
        text = f"REVREC {opportunity['Id']} {partner}"
        post(store, company, first.isoformat(), "SA", [
            {"GLAccount": "4000", "Amount": amount, "Text": f"Deferral {opportunity['Id']}"},
            {"GLAccount": "2200", "Amount": -amount, "Text": f"Deferral {opportunity['Id']}"},
        ], assignment=opportunity["Id"][:18], header_text="Revenue deferral")  # fmt: skip
        for day, share in daily_rate_schedule(amount, first, twelve_months_from(first)):
            post(store, company, day.isoformat(), "SA", [
                {"GLAccount": "2200", "Amount": share, "Text": text},
                {"GLAccount": "4000", "Amount": -share, "Text": text},
            ], assignment=f"R{day:%Y%m}{opportunity['Id'][-11:]}", header_text="Revenue deferral")  # fmt: skip
    finally:
        for period, was_open in zip(periods, saved, strict=True):
            period["PostingPeriodIsOpen"] = was_open
