"""The mismatches reconciliation must find in the sandboxes' seeded data, derived from the sandboxes.

Read from the sandboxes' own stores and seed modules (built in memory with the default seed),
never from the reconciliation code: each documented deliberate inconsistency becomes the
mismatch it must show up as, and nothing else is expected.

* Stripe: the "Orphan Test Customer" without a CRM account (a billing customer no CRM account
  owns); the last CRM customer account (``Type = Customer``) without a Stripe customer;
  Premium Support priced 4,800 against the ERP's 5,000 (a price
  mismatch in the ERP's currency; the seed has no invoices, so it shows in no invoice).
* Product platform: ``PRICE_DRIFT`` (5,500 against the ERP's 5,000).
* Business Central: product codes cut to ``Code[20]`` (item code mismatches).
* SAP S/4HANA Cloud: none of its own (product numbers hold 40 characters, so no code is cut).
* Oracle Fusion: none of its own (``ItemNumber`` holds every product code whole; items are priced
  at the Salesforce list prices in the default business unit's ledger currency, USD).
* Every ERP: one invoice (SAP: one G/L contract) entered by hand as a 12-month subscription, whose
  revenue the ERP recognises monthly while billing never billed it (a ``revenue_mismatch`` of its
  customer, January's revenue against a billed share of zero), read from each ERP's own records:
  NetSuite's revenue recognition schedules, Business Central's deferral releases in the G/L, Oracle's
  scheduled revenue distributions, SAP's release journal entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.business_central.seed import COMPANIES
from sandboxes.business_central.seed import seed as seed_business_central
from sandboxes.business_central.store import Store as BusinessCentralStore
from sandboxes.netsuite.schema import FIXED_LISTS
from sandboxes.netsuite.seed import PARENT_COMPANY, salesforce_org
from sandboxes.netsuite.seed import seed as seed_netsuite
from sandboxes.netsuite.store import Store as NetSuiteStore
from sandboxes.oracle_fusion.seed import LEGAL_ENTITIES
from sandboxes.oracle_fusion.seed import seed as seed_oracle_fusion
from sandboxes.oracle_fusion.store import Store as OracleFusionStore
from sandboxes.product_platform.catalog import catalog
from sandboxes.revenue_schedule import hand_entered_subscription
from sandboxes.sap_s4hana.seed import seed as seed_sap_s4hana
from sandboxes.sap_s4hana.store import Store as SapStore
from sandboxes.stripe.seed import seed as seed_stripe
from sandboxes.stripe.store import Store as StripeStore

DEFAULT_SEED = 7

Key = tuple[str, str | None, str | None, tuple[str, ...], tuple[str, ...], frozenset[tuple[str, Decimal, str]]]
"""(kind, customer id, product code, billing ids, catalog ids, {(side, amount, currency)})."""


def key_of(mismatch: dict[str, Any]) -> Key:
    """The comparable projection of a mismatch of a report."""
    amounts = frozenset(
        (side, Decimal(money["amount"]), money["currency"]) for side, money in mismatch["amounts"].items()
    )
    return (
        mismatch["kind"],
        mismatch["customer_id"],
        mismatch["product_code"],
        tuple(mismatch["billing_ids"]),
        tuple(mismatch["catalog_ids"]),
        amounts,
    )


def _erp_items(erp_vendor: str) -> tuple[dict[str, Decimal], str]:
    """The ERP's items (code → price) and the currency its prices are in."""
    if erp_vendor == "netsuite":
        store = NetSuiteStore(None, lambda s: seed_netsuite(s, DEFAULT_SEED))
        parent = next(s for s in store.all("subsidiary") if s["name"] == PARENT_COMPANY)
        items = {i["itemId"]: Decimal(str(i["basePrice"])) for i in store.all("serviceSaleItem")}
        return items, FIXED_LISTS["currency"][parent["currency"]]
    if erp_vendor == "sap-s4hana":
        sap = SapStore(None, lambda s: seed_sap_s4hana(s, DEFAULT_SEED))
        # prices are read in the default company code (1710, USD), valued at company-code level
        valuations = [v for v in sap.all("A_ProductValuation") if v["ValuationArea"] == "1710"]
        return {v["Product"]: Decimal(v["StandardPrice"]) for v in valuations}, valuations[0]["Currency"]
    if erp_vendor == "oracle-fusion":
        fusion = OracleFusionStore(None, lambda s: seed_oracle_fusion(s, DEFAULT_SEED))
        # Prices are read in the default business unit's ledger currency: the first legal entity's.
        return {i["ItemNumber"]: Decimal(str(i["ListPrice"])) for i in fusion.all("itemsV2")}, LEGAL_ENTITIES[0][1]
    bc = BusinessCentralStore(None, lambda s: seed_business_central(s, DEFAULT_SEED))
    first = sorted(bc.companies)[0]  # the company item prices are read from: the first, COMPANIES[0]
    assert bc.companies[first]["name"] == COMPANIES[0][0]
    return {i["number"]: Decimal(str(i["unitPrice"])) for i in bc.all(first, "items")}, COMPANIES[0][1]


def _recognized_in(erp_vendor: str, period: str) -> tuple[Decimal, str]:
    """The revenue the seeded ERP recognised in ``period`` over service periods, and its currency."""
    if erp_vendor == "netsuite":
        store = NetSuiteStore(None, lambda s: seed_netsuite(s, DEFAULT_SEED))
        period = next(p for p in store.all("accountingPeriod") if p["startDate"] == f"{period}-01")
        (schedule,) = store.all("revRecSchedule")
        invoice = store.records["invoice"][schedule["sourceTran"]]
        lines = [r for r in schedule["recurrence"] if r["postingPeriod"] == period["id"]]
        return sum((Decimal(str(r["amount"])) for r in lines), Decimal(0)), FIXED_LISTS["currency"][invoice["currency"]]
    if erp_vendor == "sap-s4hana":
        sap = SapStore(None, lambda s: seed_sap_s4hana(s, DEFAULT_SEED))
        lines = [r for r in sap.all("GLAccountLineItem")
                 if r["FiscalYearPeriod"] == f"{period[:4]}0{period[5:]}" and r["GLAccount"] == "0000004000"
                 and r["DocumentItemText"].startswith("REVREC ")]  # fmt: skip
        return -sum((Decimal(r["AmountInTransactionCurrency"]) for r in lines), Decimal(0)), lines[0][
            "TransactionCurrency"
        ]
    if erp_vendor == "oracle-fusion":
        fusion = OracleFusionStore(None, lambda s: seed_oracle_fusion(s, DEFAULT_SEED))
        (invoice,) = [i for i in fusion.all("receivablesInvoices") if i.get("InvoicingRule")]
        ruled = {line["LineNumber"] for line in invoice["receivablesInvoiceLines"] if line.get("AccountingRule")}
        rows = [d for d in invoice["receivablesInvoiceDistributions"] if d["AccountClass"] == "Revenue"
                and d["InvoiceLineNumber"] in ruled and d["AccountingDate"].startswith(period)]  # fmt: skip
        return sum((Decimal(str(d["Amount"])) for d in rows), Decimal(0)), invoice["InvoiceCurrencyCode"]
    bc = BusinessCentralStore(None, lambda s: seed_business_central(s, DEFAULT_SEED))
    for company in bc.companies:
        released = [e for e in bc.all(company, "generalLedgerEntries") if e["accountNumber"] == "2200"
                    and e["postingDate"].startswith(period) and e["debitAmount"]]  # fmt: skip
        if released:
            currency = next(c[1] for c in COMPANIES if c[0] == bc.companies[company]["name"])
            return sum((Decimal(str(e["debitAmount"])) for e in released), Decimal(0)), currency
    raise AssertionError("the Business Central seed defers no revenue")


def _revenue_difference(erp_vendor: str, period: str) -> Key:
    """The hand-entered subscription's customer: the period's recognised revenue against nothing billed."""
    org = salesforce_org(DEFAULT_SEED)
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    by_hand = hand_entered_subscription([(o["Id"], o["CloseDate"]) for o in won[: len(won) // 2]])
    account = next(o["AccountId"] for o in won if o["Id"] == by_hand)
    amount, currency = _recognized_in(erp_vendor, period)
    assert amount > 0
    return (
        "revenue_mismatch",
        account,
        None,
        (),
        (),
        frozenset({("billing", Decimal(0), currency), ("erp", amount, currency)}),
    )


def expected_mismatches(erp_vendor: str, period: str = "2025-01") -> set[Key]:
    """Every mismatch the seeded sandboxes must show, for ``erp_vendor``, in a run of ``period`` (a month of
    the hand-entered subscription's twelve: 2024-12 to 2025-12)."""
    stripe = StripeStore(None, lambda s: seed_stripe(s, DEFAULT_SEED))
    billing_customers = list(stripe.objects["customer"].values())
    expected: set[Key] = {_revenue_difference(erp_vendor, period)}
    expected |= {
        ("billing_customer_without_crm_account", None, None, (c["id"],), (), frozenset())
        for c in billing_customers
        if not c["metadata"].get("crm_account_id")
    }
    synced = {c["metadata"].get("crm_account_id") for c in billing_customers}
    org = salesforce_org(DEFAULT_SEED)
    expected |= {
        ("customer_missing_in_billing", a["Id"], None, (), (), frozenset())
        for a in org.all("Account")
        if a["Type"] == "Customer" and a["Id"] not in synced
    }

    items, currency = _erp_items(erp_vendor)
    products, skus, _bundles = catalog()
    stripe_products = {p["id"]: p["metadata"]["product_code"] for p in stripe.objects["product"].values()}
    for code in sorted({p["code"] for p in products} | set(stripe_products.values())):
        billing_product_ids = tuple(sorted(pid for pid, c in stripe_products.items() if c == code))
        sku_ids = tuple(s["id"] for s in skus if s["code"] == code)
        item_code = code if code in items else next(c for c in items if code.startswith(c))
        if item_code != code:
            expected.add(("item_code_mismatch", None, code, billing_product_ids, sku_ids, frozenset()))
        erp_price = ("erp", items[item_code], currency)
        for price in stripe.objects["price"].values():
            amount = Decimal(price["unit_amount"]) / 100
            same_currency = price["currency"].upper() == currency
            if stripe_products[price["product"]] == code and same_currency and amount != items[item_code]:
                expected.add(
                    (
                        "price_mismatch",
                        None,
                        code,
                        (price["id"],),
                        (),
                        frozenset({("billing", amount, currency), erp_price}),
                    )
                )
        for sku in skus:
            amount = Decimal(sku["price"]["unitAmountMinor"]) / 100
            if sku["code"] == code and sku["price"]["currency"] == currency and amount != items[item_code]:
                expected.add(
                    (
                        "price_mismatch",
                        None,
                        code,
                        (),
                        (sku["id"],),
                        frozenset({("product", amount, currency), erp_price}),
                    )
                )
    return expected
