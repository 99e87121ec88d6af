"""Revenue of one period: what the ERP recognised against the ratable share of what billing billed.

Per customer (its CRM account, else ``billing:<id>`` / ``erp:<id>``) and currency:

* **billed**: for every billing invoice that is finalized and not void, each line billed over a
  service period (Stripe's line ``period``) contributes its share of the month by
  :func:`apis.canonical.monthly_shares` (days in the month over days in the period, the last month
  taking the rounding, the rule the ERPs' daily-rate schedules follow);
* **recognised**: what the ERP system API reports the ERP recognised in the month over service
  periods (``GET /system/erp/v1/recognized-revenue``: schedules, deferral releases), from any
  invoice, one billing posted or one entered in the ERP.

A difference of a cent or more is a ``revenue_mismatch`` naming both sums. Lines without a service
period (one-off charges, usage) are revenue of their invoice and covered by the invoice comparison.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from apis.canonical import Money, billed_service_period, share_in
from apis.process.reconciliation.documents import Documents
from apis.process.reconciliation.model import Mismatch
from apis.process.reconciliation.snapshot import ErpSide

Key = tuple[str, str]
"""(customer key, currency)."""


def billed_shares(documents: Documents, period: str) -> dict[Key, tuple[Decimal, list[str]]]:
    """Per customer and currency: the month's ratable share of billed service periods, and the invoices."""
    found: dict[Key, tuple[Decimal, list[str]]] = {}
    for invoice in documents.billing.values():
        if invoice.status == "void":
            continue
        account = documents.billing_account(invoice.customer_id) or f"billing:{invoice.customer_id}"
        for line in invoice.lines:
            service = billed_service_period(line)
            if service is None:
                continue
            share = share_in(Decimal(line.amount.amount), *service, period)
            if share == 0:
                continue
            key = (account, line.amount.currency.upper())
            total, ids = found.get(key, (Decimal(0), []))
            found[key] = (total + share, ids if invoice.id in ids else [*ids, invoice.id])
    return found


def recognized_revenue(documents: Documents, erp: ErpSide) -> dict[Key, tuple[Decimal, list[str]]]:
    """Per customer and currency: what the ERP recognised in the month, and the ERP invoices it came from."""
    found: dict[Key, tuple[Decimal, list[str]]] = defaultdict(lambda: (Decimal(0), []))
    for row in erp.revenue:
        account = documents.erp_account(row.customer_id) or f"erp:{row.customer_id}"
        key = (account, row.amount.currency.upper())
        total, ids = found[key]
        invoice = [row.invoice_id] if row.invoice_id and row.invoice_id not in ids else []
        found[key] = (total + Decimal(row.amount.amount), [*ids, *invoice])
    return dict(found)


def compare_revenue(documents: Documents, erp: ErpSide, period: str) -> Iterator[Mismatch]:
    """Every customer whose recognised revenue of ``period`` is not the ratable share of its billing."""
    billed, recognized = billed_shares(documents, period), recognized_revenue(documents, erp)
    for key in sorted(billed.keys() | recognized.keys()):
        (billed_total, billing_ids), (erp_total, erp_ids) = (
            billed.get(key, (Decimal(0), [])),
            recognized.get(key, (Decimal(0), [])),
        )
        if billed_total.quantize(Decimal("0.01")) == erp_total.quantize(Decimal("0.01")):
            continue
        account, currency = key
        crm_account = None if ":" in account else account
        yield Mismatch(
            kind="revenue_mismatch",
            explanation=(
                f"In {period} the ERP recognised {erp_total:.2f} {currency} of revenue over service periods; "
                f"the ratable share of what billing billed is {billed_total:.2f} {currency}."
            ),
            customer_id=crm_account,
            customer_name=documents.links.name(crm_account),
            crm_id=crm_account,
            billing_ids=sorted(billing_ids),
            erp_ids=sorted(erp_ids),
            amounts={
                "billing": Money(amount=f"{billed_total:.2f}", currency=currency),
                "erp": Money(amount=f"{erp_total:.2f}", currency=currency),
            },
        )
