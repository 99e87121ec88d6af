"""View models of the customer portal: what one customer may see of itself, nothing more.

Built from canonical objects of the system layer and narrower than them on purpose: no
vendor-internal fields (a payment's ``client_secret`` and payment method, CRM ownership or
hierarchy), so a portal can hand these to a browser as they are.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from apis.canonical import (
    BillingInvoice,
    BillingInvoiceLine,
    Customer,
    Entitlement,
    Money,
    PaymentIntent,
    Subscription,
)


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """The customer's account as the CRM knows it."""

    id: str
    """The CRM account id: the customer id of this API."""
    name: str
    domain: str | None
    currency: str | None
    billing_status: str | None
    created_at: dt.datetime


class SubscriptionItemView(msgspec.Struct, frozen=True, kw_only=True):
    """One price on a subscription."""

    price_id: str
    product_id: str
    quantity: int | None
    """``None`` for metered prices (charged by usage)."""
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None


class SubscriptionView(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription of the customer."""

    id: str
    status: str
    currency: str
    items: list[SubscriptionItemView]
    cancel_at_period_end: bool
    created_at: dt.datetime


class EntitlementView(msgspec.Struct, frozen=True, kw_only=True):
    """What the customer may use in the product."""

    id: str
    sku_code: str
    quantity: int
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None


class InvoiceLineView(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an invoice."""

    description: str | None
    quantity: int | None
    amount: Money
    period_start: dt.datetime | None
    period_end: dt.datetime | None


class InvoiceView(msgspec.Struct, frozen=True, kw_only=True):
    """An invoice of the customer (without lines, as listed)."""

    id: str
    number: str | None
    status: str
    subscription_id: str | None
    total: Money
    amount_due: Money
    amount_paid: Money
    amount_remaining: Money
    due_date: dt.date | None
    hosted_url: str | None
    created_at: dt.datetime
    finalized_at: dt.datetime | None
    paid_at: dt.datetime | None


class InvoiceDetail(InvoiceView, frozen=True, kw_only=True):
    """An invoice with its lines."""

    lines: list[InvoiceLineView]


class PaymentView(msgspec.Struct, frozen=True, kw_only=True):
    """A payment of the customer."""

    id: str
    amount: Money
    amount_received: Money
    status: str
    description: str | None
    created_at: dt.datetime


class SubscriptionWithEntitlements(SubscriptionView, frozen=True, kw_only=True):
    """An active subscription and the entitlements it (or its order) granted."""

    entitlements: list[EntitlementView]


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a customer's portal home page shows, in one answer."""

    customer_id: str
    account: AccountView
    subscriptions: list[SubscriptionWithEntitlements]
    """Active (and trialing or past-due) subscriptions, newest first."""
    entitlements: list[EntitlementView]
    """Every active entitlement of the customer (those of a subscription appear there too)."""
    open_invoices: list[InvoiceView]
    recent_invoices: list[InvoiceView]
    balance: list[Money]
    """What is still to pay on open invoices, one amount per currency (empty: nothing due)."""
    recent_payments: list[PaymentView]


def account_view(account: Customer) -> AccountView:
    """The portal's view of a CRM account."""
    return AccountView(
        id=account.id,
        name=account.name,
        domain=account.domain,
        currency=account.currency,
        billing_status=account.billing_status,
        created_at=account.created_at,
    )


def subscription_view(subscription: Subscription) -> SubscriptionView:
    """The portal's view of a billing subscription."""
    return SubscriptionView(
        id=subscription.id,
        status=subscription.status,
        currency=subscription.currency,
        items=[
            SubscriptionItemView(
                price_id=item.price_id,
                product_id=item.product_id,
                quantity=item.quantity,
                current_period_start=item.current_period_start,
                current_period_end=item.current_period_end,
            )
            for item in subscription.items
        ],
        cancel_at_period_end=subscription.cancel_at_period_end,
        created_at=subscription.created_at,
    )


def entitlement_view(entitlement: Entitlement) -> EntitlementView:
    """The portal's view of a product entitlement."""
    return EntitlementView(
        id=entitlement.id,
        sku_code=entitlement.sku_code,
        quantity=entitlement.quantity,
        status=entitlement.status,
        starts_at=entitlement.starts_at,
        ends_at=entitlement.ends_at,
    )


def _invoice_fields(invoice: BillingInvoice) -> dict[str, object]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "status": invoice.status,
        "subscription_id": invoice.subscription_id,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "due_date": invoice.due_date,
        "hosted_url": invoice.hosted_url,
        "created_at": invoice.created_at,
        "finalized_at": invoice.finalized_at,
        "paid_at": invoice.paid_at,
    }


def invoice_view(invoice: BillingInvoice) -> InvoiceView:
    """The portal's view of a billing invoice, as listed."""
    return InvoiceView(**_invoice_fields(invoice))  # type: ignore[arg-type]


def _line_view(line: BillingInvoiceLine) -> InvoiceLineView:
    return InvoiceLineView(
        description=line.description,
        quantity=line.quantity,
        amount=line.amount,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def invoice_detail(invoice: BillingInvoice) -> InvoiceDetail:
    """The portal's view of a billing invoice with its lines."""
    return InvoiceDetail(**_invoice_fields(invoice), lines=[_line_view(x) for x in invoice.lines])  # type: ignore[arg-type]


def payment_view(intent: PaymentIntent) -> PaymentView:
    """The portal's view of a payment (never its client secret or payment method)."""
    return PaymentView(
        id=intent.id,
        amount=intent.amount,
        amount_received=intent.amount_received,
        status=intent.status,
        description=intent.description,
        created_at=intent.created_at,
    )


def balance_of(open_invoices: list[BillingInvoice]) -> list[Money]:
    """What remains to pay on ``open_invoices``, summed per currency (currencies in order)."""
    totals: dict[str, Decimal] = {}
    for invoice in open_invoices:
        remaining = invoice.amount_remaining
        totals[remaining.currency] = totals.get(remaining.currency, Decimal(0)) + remaining.decimal()
    return [Money.of(amount, currency) for currency, amount in sorted(totals.items()) if amount]
