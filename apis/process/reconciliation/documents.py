"""Invoices and payments of one period: billing ↔ ERP.

An ERP invoice *comes from billing* when its external id is a billing invoice id (the business
key a posting carries), when the xref store links it to a billing invoice, or when its external
id is a billing- or Strata-invoice id the billing system no longer has. Other ERP invoices were
entered in the ERP itself (the sandboxes' seeded history: invoices of CRM orders, with the
opportunity as external id or none); they have no billing twin by design, so they are counted in
the summary, not reported.

A billing invoice belongs to the month it was finalized in (drafts are not invoices yet); an ERP
invoice to the month of its date. A pair is compared when either side is in the period: amount,
customer, month, and what was paid (billing's ``amount_paid`` against the ERP's total less its
amount due). Billing payments (succeeded payment intents) are matched to ERP customer payments
through the xref store; the ERP system API lists no payments, so an ERP payment is seen only
when Strata linked it, or as the paid part of an invoice that came from billing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import msgspec

from apis.canonical import BillingInvoice, Invoice, Money
from apis.process.reconciliation.model import Links, Mismatch
from apis.process.reconciliation.snapshot import BillingSide, ErpSide

BILLING_INVOICE_PREFIXES = ("in_", "inv_")
"""External ids that name a billing invoice (the billing system's ``in_…``) or a Strata one (``inv_…``)."""


class CustomerTotals(msgspec.Struct, frozen=True, kw_only=True):
    """One customer's invoices of the period on each side."""

    customer_id: str
    """The CRM account, else ``billing:<id>`` / ``erp:<id>`` for a record linked to none."""
    billing_count: int
    billing_totals: list[Money]
    """Sum per currency."""
    erp_count: int
    erp_totals: list[Money]


def period_of(day: dt.date | dt.datetime) -> str:
    """``YYYY-MM`` of a date (a timestamp in UTC)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(dt.UTC).date()
    return f"{day.year:04d}-{day.month:02d}"


def billing_period(invoice: BillingInvoice) -> str:
    """The month a billing invoice belongs to: when it was finalized."""
    return period_of(invoice.finalized_at or invoice.created_at)


class Documents:
    """Billing and ERP invoices paired, and the customer each belongs to."""

    def __init__(self, erp: ErpSide, billing: BillingSide, links: Links) -> None:
        self.links = links
        self.system = erp.system
        self.billing = {i.id: i for i in billing.invoices if i.status != "draft"}
        self.drafts = {i.id for i in billing.invoices if i.status == "draft"}
        self.erp_twins: dict[str, list[Invoice]] = defaultdict(list)
        self.native: list[Invoice] = []
        for invoice in erp.invoices:
            twin = self._billing_twin(invoice)
            if twin is None:
                self.native.append(invoice)
            else:
                self.erp_twins[twin].append(invoice)
        self._billing_customers = {c.id: c for c in billing.customers}
        self._erp_customers = {c.id: c for c in erp.customers}

    def _billing_twin(self, invoice: Invoice) -> str | None:
        external = invoice.external_id or ""
        if external in self.billing or external in self.drafts:
            return external
        linked = self.links.linked("invoice", self.system, invoice.id, self.links.billing)
        if linked:
            return linked
        if external.startswith("inv_"):
            return self.links.linked_to_canonical("invoice", external, self.links.billing) or external
        return external if external.startswith(BILLING_INVOICE_PREFIXES) else None

    def billing_account(self, customer_id: str) -> str | None:
        """The CRM account of a billing customer."""
        found = self.links.linked("customer", self.links.billing, customer_id, self.links.crm)
        customer = self._billing_customers.get(customer_id)
        return found or (customer.crm_account_id if customer else None)

    def erp_account(self, customer_id: str) -> str | None:
        """The CRM account of an ERP customer."""
        found = self.links.linked("customer", self.system, customer_id, self.links.crm)
        customer = self._erp_customers.get(customer_id)
        external = customer.external_id if customer else None
        return found or (external if external in self.links.accounts else None)


def compare_invoices(documents: Documents, period: str) -> Iterator[Mismatch]:
    """Every invoice mismatch of the period."""
    wanted = {bid for bid, invoice in documents.billing.items() if billing_period(invoice) == period}
    wanted |= {bid for bid, twins in documents.erp_twins.items() if any(period_of(i.date) == period for i in twins)}
    for billing_id in sorted(wanted):
        invoice = documents.billing.get(billing_id)
        twins = documents.erp_twins.get(billing_id, [])
        if invoice is None:
            for twin in twins:
                account = documents.erp_account(twin.customer_id)
                state = "is still a draft" if billing_id in documents.drafts else "does not exist"
                yield _invoice(
                    "invoice_missing_in_billing",
                    f"The ERP invoice comes from billing invoice {billing_id}, which {state} in billing.",
                    account, documents, [billing_id], [twin.id], erp=twin.total,
                )  # fmt: skip
            continue
        yield from _compare_pair(documents, invoice, twins, period)


def _compare_pair(
    documents: Documents, invoice: BillingInvoice, twins: list[Invoice], period: str
) -> Iterator[Mismatch]:
    account = documents.billing_account(invoice.customer_id)
    live = [t for t in twins if t.status != "void"]
    if invoice.status == "void":
        for twin in live:
            yield _invoice(
                "invoice_amount_mismatch", "The invoice is void in billing but not in the ERP.",
                account, documents, [invoice.id], [twin.id], billing=_zero(invoice.total), erp=twin.total,
            )  # fmt: skip
        return
    if not live:
        yield _invoice(
            "invoice_missing_in_erp", "The billing invoice was never posted to the ERP.",
            account, documents, [invoice.id], [], billing=invoice.total,
        )  # fmt: skip
        return
    if len(live) > 1:
        yield _invoice(
            "duplicate_invoice", f"The billing invoice was posted to the ERP {len(live)} times.",
            account, documents, [invoice.id], sorted(t.id for t in live), billing=invoice.total,
        )  # fmt: skip
    twin = live[0]
    ids = ([invoice.id], [twin.id])
    if not _same(invoice.total, twin.total):
        yield _invoice(
            "invoice_amount_mismatch", f"Billing invoiced {_text(invoice.total)}, the ERP {_text(twin.total)}.",
            account, documents, *ids, billing=invoice.total, erp=twin.total,
        )  # fmt: skip
    erp_account = documents.erp_account(twin.customer_id)
    if account != erp_account:
        yield _invoice(
            "invoice_customer_mismatch",
            f"Billing bills CRM account {account or 'none'}; the ERP invoice is {erp_account or 'none'}'s.",
            account, documents, *ids,
        )  # fmt: skip
    if billing_period(invoice) != period_of(twin.date):
        yield _invoice(
            "invoice_period_mismatch",
            f"Billing finalized the invoice in {billing_period(invoice)}, the ERP dated it {twin.date.isoformat()}.",
            account, documents, *ids,
        )  # fmt: skip
    erp_paid = Money(amount=str(Decimal(twin.total.amount) - Decimal(twin.amount_due.amount)), currency=twin.currency)
    if not _same(invoice.amount_paid, erp_paid):
        yield _invoice(
            "payment_amount_mismatch",
            f"Billing has {_text(invoice.amount_paid)} paid on the invoice, the ERP {_text(erp_paid)} applied.",
            account, documents, *ids, billing=invoice.amount_paid, erp=erp_paid,
        )  # fmt: skip


def compare_payments(erp: ErpSide, billing: BillingSide, links: Links, period: str) -> Iterator[Mismatch]:
    """Every payment mismatch of the period: billing payments ↔ the ERP payments linked to them."""
    erp_payments = {p.id: p for p in erp.payments}
    billing_ids = {p.id for p in billing.payments}
    customers = {c.id: c.crm_account_id for c in billing.customers}
    for payment in billing.payments:
        if payment.status != "succeeded" or period_of(payment.created_at) != period:
            continue
        account = links.linked("customer", links.billing, payment.customer_id or "", links.crm)
        account = account or customers.get(payment.customer_id or "")
        erp_id = links.linked("payment", links.billing, payment.id, erp.system)
        found = erp_payments.get(erp_id) if erp_id else None
        if found is None:
            detail = f"the ERP has no payment {erp_id}" if erp_id else "no ERP payment is linked to it"
            yield Mismatch(
                kind="payment_missing_in_erp",
                explanation=f"The billing payment was received, but {detail}.",
                customer_id=account,
                customer_name=links.name(account),
                billing_ids=[payment.id],
                erp_ids=[erp_id] if erp_id else [],
                amounts={"billing": payment.amount_received},
            )
        elif not _same(payment.amount_received, found.amount):
            received, booked = _text(payment.amount_received), _text(found.amount)
            yield Mismatch(
                kind="payment_amount_mismatch",
                explanation=f"Billing received {received}, the ERP recorded {booked}.",
                customer_id=account,
                customer_name=links.name(account),
                billing_ids=[payment.id],
                erp_ids=[found.id],
                amounts={"billing": payment.amount_received, "erp": found.amount},
            )
        elif not found.posted:
            yield Mismatch(
                kind="payment_not_posted_in_erp",
                explanation="The ERP recorded the payment but has not posted it to the ledger (awaiting posting).",
                customer_id=account,
                customer_name=links.name(account),
                billing_ids=[payment.id],
                erp_ids=[found.id],
                amounts={"billing": payment.amount_received, "erp": found.amount},
            )
    for recorded in erp.payments:
        billing_id = links.linked("payment", erp.system, recorded.id, links.billing)
        if period_of(recorded.date) == period and billing_id not in billing_ids:
            yield Mismatch(
                kind="payment_missing_in_billing",
                explanation=f"The ERP payment is linked to billing payment {billing_id}, which billing does not have.",
                billing_ids=[billing_id] if billing_id else [],
                erp_ids=[recorded.id],
                amounts={"erp": recorded.amount},
            )


def invoice_totals(documents: Documents, period: str) -> list[CustomerTotals]:
    """Per customer: count and sum per currency of the period's invoices on each side (voids left out)."""
    sides: dict[str, dict[str, list[Money]]] = defaultdict(lambda: {"billing": [], "erp": []})
    for invoice in documents.billing.values():
        if invoice.status != "void" and billing_period(invoice) == period:
            key = documents.billing_account(invoice.customer_id) or f"billing:{invoice.customer_id}"
            sides[key]["billing"].append(invoice.total)
    for twins in documents.erp_twins.values():
        for twin in twins:
            if twin.status != "void" and period_of(twin.date) == period:
                key = documents.erp_account(twin.customer_id) or f"erp:{twin.customer_id}"
                sides[key]["erp"].append(twin.total)
    return [
        CustomerTotals(
            customer_id=key,
            billing_count=len(side["billing"]),
            billing_totals=_sums(side["billing"]),
            erp_count=len(side["erp"]),
            erp_totals=_sums(side["erp"]),
        )
        for key, side in sorted(sides.items())
    ]


def _invoice(
    kind: str,
    explanation: str,
    account: str | None,
    documents: Documents,
    billing_ids: list[str],
    erp_ids: list[str],
    **amounts: Money,
) -> Mismatch:
    return Mismatch(
        kind=kind,
        explanation=explanation,
        customer_id=account,
        customer_name=documents.links.name(account),
        crm_id=account,
        billing_ids=billing_ids,
        erp_ids=erp_ids,
        amounts=amounts,
    )


def _same(a: Money, b: Money) -> bool:
    return a.currency.upper() == b.currency.upper() and Decimal(a.amount) == Decimal(b.amount)


def _zero(money: Money) -> Money:
    return Money(amount="0.00", currency=money.currency)


def _text(money: Money) -> str:
    return f"{money.amount} {money.currency}"


def _sums(amounts: list[Money]) -> list[Money]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for money in amounts:
        totals[money.currency.upper()] += Decimal(money.amount)
    return [Money(amount=f"{total:.2f}", currency=currency) for currency, total in sorted(totals.items())]
