"""The CRM's objects (``/system/crm``): customers, contacts, opportunities and their write-backs."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Address, Money

OpportunityStage = Literal[
    "prospecting",
    "qualification",
    "needs_analysis",
    "value_proposition",
    "decision_makers",
    "perception_analysis",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
    "other",
]
"""Sales stages, in pipeline order. ``other`` stands for a vendor stage we do not know."""

OPPORTUNITY_STAGES: tuple[str, ...] = OpportunityStage.__args__  # type: ignore[attr-defined]

CustomerBillingStatus = Literal["prospect", "active", "past_due", "suspended", "churned"]
"""Where a customer stands with billing."""

OpportunityBillingStatus = Literal["not_invoiced", "pending", "invoiced", "paid", "failed"]
DealType = Literal["new_business", "amendment", "renewal"]
"""What a deal sells: a new subscription, a change of one the customer has, or its next term."""
"""How far a won opportunity has travelled through billing (written back by quote-to-cash)."""


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer account, as the CRM knows it."""

    id: str
    """Opaque id of the customer in this API (for the CRM API: the CRM's own id)."""
    external_id: str | None
    """Strata's canonical id (``cus_…``) stored on the CRM record, when it has been synced."""
    name: str
    """Legal or trading name."""
    account_type: str | None
    """The CRM's kind of account in snake case: ``customer``, ``prospect``, ``partner``, ..."""
    domain: str | None
    """Primary web domain, e.g. ``example.com``."""
    parent_id: str | None
    """Id of the parent customer in the account hierarchy."""
    billing_address: Address | None
    """Billing address."""
    tax_id: str | None
    """VAT / tax registration number."""
    currency: str | None
    """ISO 4217 code of the customer's default currency."""
    industry: str | None
    """Industry, free text as kept in the CRM."""
    billing_status: CustomerBillingStatus | None
    """Where the customer stands with billing."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""
    partner_id: str | None = None
    """The Strata partner id (``partner-acme``) the customer is attributed to; ``None``: direct."""


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A person at a customer."""

    id: str
    """Opaque id of the contact."""
    account_id: str | None
    """Id of the customer the contact belongs to."""
    first_name: str | None
    """Given name."""
    last_name: str
    """Family name."""
    email: str | None
    """E-mail address."""
    phone: str | None
    """Phone number, as entered."""
    title: str | None
    """Job title."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""


class OpportunityLine(msgspec.Struct, frozen=True, kw_only=True):
    """One product line of an opportunity."""

    product_code: str | None
    """Product code, e.g. ``STRATA-CORE``."""
    description: str | None
    """Line description."""
    quantity: str
    """Quantity as a decimal string."""
    unit_price: Money
    """Price of one unit."""
    total: Money
    """Line total (after any line discount)."""


class Opportunity(msgspec.Struct, frozen=True, kw_only=True):
    """A sales opportunity; a won one is what quote-to-cash turns into a subscription."""

    id: str
    """Opaque id of the opportunity."""
    name: str
    """Name of the deal."""
    account_id: str | None
    """Id of the customer."""
    stage: OpportunityStage
    """Sales stage."""
    amount: Money | None
    """Deal amount, when known."""
    close_date: dt.date
    """Expected or actual close date."""
    billing_status: OpportunityBillingStatus | None
    """How far the deal has travelled through billing."""
    invoice_number: str | None
    """Number of the invoice billing issued, once invoiced."""
    lines: list[OpportunityLine] | None
    """Product lines; ``None`` in list results, where lines are not fetched."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""
    partner_id: str | None = None
    """The Strata partner id the deal is attributed to (a partner-registered deal); ``None``: direct."""
    description: str | None = None
    """Free-text description of the deal (a registered deal's product and notes)."""
    deal_type: DealType | None = None
    """New business, or an amendment or renewal of a subscription the customer has; ``None``: not said."""


class CustomerUpsert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Create-or-update of a customer keyed by its external (Strata) id."""

    name: str
    """Legal or trading name."""
    domain: str | None = None
    """Primary web domain."""
    parent_id: str | None = None
    """Id of the parent customer."""
    billing_address: Address | None = None
    """Billing address."""
    tax_id: str | None = None
    """VAT / tax registration number."""
    currency: str | None = None
    """ISO 4217 code."""
    industry: str | None = None
    """Industry."""
    billing_status: CustomerBillingStatus | None = None
    """Where the customer stands with billing."""
    partner_id: str | None = None
    """Attribute the customer to this partner. Unlike the other optional fields, an absent
    ``partner_id`` leaves the attribution as it is: a sync never clears a partner's claim."""


class OpportunityCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new opportunity, keyed by its external (Strata) id so a retried create makes one."""

    name: str
    """Name of the deal."""
    account_id: str
    """Id of the customer."""
    close_date: dt.date
    """Expected close date."""
    stage: OpportunityStage = "prospecting"
    """Sales stage (never ``other``)."""
    amount: Money | None = None
    """Deal amount; its currency is the opportunity's."""
    description: str | None = None
    """Free-text description."""
    partner_id: str | None = None
    """The Strata partner id the deal is attributed to (``None``: a direct deal)."""


class ContactUpsert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Create-or-update of a contact keyed by its external (Strata) id."""

    account_id: str
    """Id of the customer the contact belongs to."""
    last_name: str
    """Family name."""
    first_name: str | None = None
    """Given name."""
    email: str | None = None
    """E-mail address."""
    phone: str | None = None
    """Phone number."""
    title: str | None = None
    """Job title."""


class BillingStatusPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Billing's write-back onto an opportunity."""

    billing_status: OpportunityBillingStatus
    """The new billing status."""
    invoice_number: str | None = None
    """Number of the invoice, when one exists."""
