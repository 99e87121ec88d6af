"""View models of the partner portal: what a partner may see of the customers and deals attributed to it.

Narrower than the canonical objects on purpose. A partner sees a customer's name, web domain,
industry, billing country, currency and billing standing — not its tax id, its billing address,
its place in an account hierarchy (a parent may not be the partner's) or Strata's sync ids. A
subscription shows status, products, quantities and periods, not prices or payment details
(the partner's own commercial terms are not the customer's). A deal shows what the partner
registered and where it stands in the pipeline; its customer id only when that customer is
attributed to the partner too.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical import Customer, Money, Opportunity, OpportunityStage, Subscription

DealStatus = Literal["open", "won", "lost"]


class CustomerView(msgspec.Struct, frozen=True, kw_only=True):
    """A customer attributed to the partner."""

    id: str
    """The CRM account id: the customer id of this API."""
    name: str
    domain: str | None
    industry: str | None
    country: str | None
    """ISO 3166-1 alpha-2 code of the billing country."""
    currency: str | None
    billing_status: str | None
    created_at: dt.datetime


class SubscriptionItemView(msgspec.Struct, frozen=True, kw_only=True):
    """One product on a subscription."""

    product_id: str
    quantity: int | None
    """``None`` for metered prices (charged by usage)."""
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None


class SubscriptionView(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription of one of the partner's customers."""

    id: str
    status: str
    currency: str
    items: list[SubscriptionItemView]
    cancel_at_period_end: bool
    created_at: dt.datetime


class DealView(msgspec.Struct, frozen=True, kw_only=True):
    """A deal attributed to the partner."""

    id: str
    """The CRM opportunity id."""
    name: str
    status: DealStatus
    stage: OpportunityStage
    amount: Money | None
    close_date: dt.date
    description: str | None
    """The registered product and notes."""
    customer_id: str | None
    """The customer, when it is attributed to the partner too (else ``None``)."""
    created_at: dt.datetime


def customer_view(customer: Customer) -> CustomerView:
    """The partner's view of a CRM account."""
    address = customer.billing_address
    return CustomerView(
        id=customer.id,
        name=customer.name,
        domain=customer.domain,
        industry=customer.industry,
        country=address.country if address is not None else None,
        currency=customer.currency,
        billing_status=customer.billing_status,
        created_at=customer.created_at,
    )


def subscription_view(subscription: Subscription) -> SubscriptionView:
    """The partner's view of a billing subscription (no prices)."""
    return SubscriptionView(
        id=subscription.id,
        status=subscription.status,
        currency=subscription.currency,
        items=[
            SubscriptionItemView(
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


def deal_status(stage: OpportunityStage) -> DealStatus:
    """``won`` / ``lost`` for the closed stages, ``open`` for every other (an unknown stage too)."""
    return "won" if stage == "closed_won" else "lost" if stage == "closed_lost" else "open"


def deal_view(deal: Opportunity, *, customer_is_partners: bool) -> DealView:
    """The partner's view of a CRM opportunity."""
    return DealView(
        id=deal.id,
        name=deal.name,
        status=deal_status(deal.stage),
        stage=deal.stage,
        amount=deal.amount,
        close_date=deal.close_date,
        description=deal.description,
        customer_id=deal.account_id if customer_is_partners else None,
        created_at=deal.created_at,
    )
