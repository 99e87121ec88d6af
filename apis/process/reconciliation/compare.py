"""One reconciliation of a period: every comparison over one snapshot, as a report.

A pure function of what the fetch steps read (:mod:`apis.process.reconciliation.snapshot`):
run twice over the same snapshot, it finds the same mismatches in the same order.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from apis.process.reconciliation.catalog import compare_catalog
from apis.process.reconciliation.customers import compare_customers
from apis.process.reconciliation.documents import (
    CustomerTotals,
    Documents,
    compare_invoices,
    compare_payments,
    invoice_totals,
    period_of,
)
from apis.process.reconciliation.model import Links, Mismatch
from apis.process.reconciliation.revenue import compare_revenue
from apis.process.reconciliation.snapshot import BillingSide, CatalogSide, CrmSide, ErpSide, XrefLink


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What a run compared."""

    records: dict[str, int]
    """Records read, by system and kind (``erp_invoices``, ``billing_customers``, ...)."""
    erp_native_invoices: int
    """ERP invoices of the period that did not come from billing (entered in the ERP; not compared)."""
    invoice_totals: list[CustomerTotals]
    """Per customer, the period's invoices on each side."""


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A run's result."""

    mismatches: list[Mismatch]
    summary: Summary

    def by_kind(self) -> dict[str, int]:
        """Mismatches per kind."""
        return dict(sorted(Counter(m.kind for m in self.mismatches).items()))


def reconcile(
    period: str,
    xrefs: list[XrefLink],
    crm: CrmSide,
    erp: ErpSide,
    billing: BillingSide,
    catalog: CatalogSide,
    *,
    systems: tuple[str, str],
) -> Report:
    """Compare every side for ``period`` (``YYYY-MM``); ``systems`` names the CRM and the billing
    system in the xref store (their services' ``vendor``)."""
    links = Links(xrefs, crm.accounts, crm=systems[0], billing=systems[1])
    documents = Documents(erp, billing, links)
    found = [
        *compare_customers(crm, erp, billing, links),
        *compare_invoices(documents, period),
        *compare_payments(erp, billing, links, period),
        *compare_catalog(erp, billing, catalog),
        *compare_revenue(documents, erp, period),
    ]
    records = {
        "crm_accounts": len(crm.accounts),
        "erp_customers": len(erp.customers),
        "erp_invoices": len(erp.invoices),
        "erp_items": len(erp.items),
        "erp_payments": len(erp.payments),
        "billing_customers": len(billing.customers),
        "billing_invoices": len(billing.invoices),
        "billing_prices": len(billing.prices),
        "billing_payments": len(billing.payments),
        "catalog_skus": len(catalog.skus),
        "erp_revenue_lines": len(erp.revenue),
    }
    summary = Summary(
        records=records,
        erp_native_invoices=sum(1 for i in documents.native if period_of(i.date) == period),
        invoice_totals=invoice_totals(documents, period),
    )
    return Report(mismatches=sorted(found, key=Mismatch.sort_key), summary=summary)
