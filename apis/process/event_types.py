"""The business event types Strata emits, and the shape of each one's ``data``.

This is the Python side of the event contract ``contracts/events/v1.yaml`` (AsyncAPI 3.0):
one frozen :class:`msgspec.Struct` per event type's ``data``, and :data:`EVENT_TYPES`
naming, for each type, its data struct, a description and the AsyncAPI channel it is
published on. A test keeps the registry and the document in step, and validates envelopes
built with :func:`apis.process.events.new_event` against the document.

A producer builds the data struct, then the envelope::

    data = ContractActivated(...)
    event = new_event("strata.contract.activated", event_id=..., data=event_data(data), ...)

A consumer decodes ``event.data`` with :func:`decode_data`. The structs accept fields they
do not know (an additive change inside v1 must not break an older consumer); the contract
states exactly what a v1 producer sends.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from apis.canonical import Money


class ContractActivated(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.contract.activated``: quote-to-cash finished provisioning a won opportunity."""

    transaction_id: str
    """The business transaction (workflow) id."""
    opportunity_id: str
    """The CRM opportunity that was won."""
    customer_id: str
    """The canonical customer id, ``cus_<ULID>``."""
    crm_account_id: str
    """The customer's CRM account id."""
    erp_customer_id: str
    """The customer's ERP id."""
    billing_customer_id: str
    """The customer's billing id."""
    subscription_id: str
    """The billing subscription that was created."""
    sales_order_id: str
    """The ERP sales order that was created."""
    total: Money
    """The contract's total."""
    activated_at: str
    """When provisioning finished, RFC 3339 UTC."""


class SubscriptionChangeItem(msgspec.Struct, frozen=True, kw_only=True):
    """A product of a subscription and its units (``None``: metered)."""

    product_code: str
    quantity: int | None


class SubscriptionChanged(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.subscription.changed``: a subscription was upgraded, downgraded, renewed or cancelled."""

    transaction_id: str
    """The business transaction (workflow) id."""
    subscription_id: str
    """The billing subscription changed."""
    crm_account_id: str
    """The customer's CRM account id."""
    opportunity_id: str | None
    """The amendment or renewal opportunity; ``None`` for a direct request."""
    kind: str
    """``upgrade``, ``downgrade``, ``quantity_change``, ``renewal``, ``cancel_at_period_end`` or
    ``cancel_immediately``."""
    rule: str
    """The governance rule applied (e.g. ``quantity_decrease``)."""
    effective: str
    """``immediately`` or ``period_end``."""
    effective_at: str
    """When it takes effect, RFC 3339 UTC."""
    proration: str
    """``prorate``, ``prorate_and_invoice`` or ``none``."""
    items_before: list[SubscriptionChangeItem]
    """The products before the change."""
    items_after: list[SubscriptionChangeItem]
    """The products after it (empty for a cancellation)."""
    recurring_before: Money
    """The recurring amount per period before."""
    recurring_after: Money
    """The recurring amount per period after."""
    schedule_id: str | None
    """The billing schedule holding a change at the period's end."""
    sales_order_id: str | None
    """The ERP change order, when the change adds anything."""


class TransactionNeedsAttention(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.transaction.needs_attention``: a transaction failed permanently and waits for an operator."""

    transaction_id: str
    """The business transaction (workflow) id."""
    workflow: str
    """The process, e.g. ``quote-to-cash``."""
    business_key: str
    """The business object the transaction is about, e.g. the opportunity id."""
    reason_code: str
    """Stable machine-readable reason, e.g. ``mapping``."""
    reason: str
    """Human-readable explanation."""
    owner_system: str
    """The system whose data must be fixed, e.g. ``erp``."""
    failed_step: str
    """The step that failed, e.g. ``create_erp_customer``."""


class UndoneObject(msgspec.Struct, frozen=True, kw_only=True):
    """One object a compensation reversed."""

    system: str
    """The system it lived in, e.g. ``billing``."""
    object: str
    """Its kind, e.g. ``subscription``."""
    id: str
    """Its id in that system."""


class KeptObject(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One object a compensation left in place."""

    system: str
    """The system it lives in, e.g. ``erp``."""
    object: str
    """Its kind, e.g. ``sales_order``."""
    id: str
    """Its id in that system."""
    reason: str | None = None
    """Why it was kept, e.g. the ERP's refusal to cancel."""


class TransactionCompensated(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.transaction.compensated``: a transaction was undone."""

    transaction_id: str
    """The business transaction (workflow) id."""
    workflow: str
    """The process, e.g. ``quote-to-cash``."""
    business_key: str
    """The business object the transaction is about, e.g. the opportunity id."""
    undone: list[UndoneObject]
    """What was reversed, in the order it was undone."""
    kept: list[KeptObject] = []
    """What could not be reversed and stays (with the reason where there is one)."""


class ReconciliationCompleted(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.reconciliation.completed``: a run compared billing and ERP for a period."""

    run_id: str
    """The run's id."""
    period: str
    """The period compared, e.g. ``2026-11``."""
    mismatches: int
    """Mismatches found in total."""
    by_kind: dict[str, int]
    """Mismatches per kind (sums to ``mismatches``)."""


class InvoicePosted(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.invoice.posted``: invoice-to-ledger posted a billing invoice to the ERP, its tax committed."""

    transaction_id: str
    """The business transaction (workflow) id."""
    billing_invoice_id: str
    """The billing (Stripe) invoice posted."""
    invoice_number: str
    """The invoice's number, also the tax document code."""
    billing_customer_id: str
    """The customer's billing id."""
    erp_customer_id: str
    """The customer's ERP id."""
    erp_invoice_id: str
    """The ERP invoice created."""
    legal_entity_id: str | None
    """The ERP legal entity that issued it."""
    posting_date: str
    """The ERP invoice date (its accounting period), ISO 8601."""
    total: Money
    """The invoice total (tax excluded)."""
    tax_total: Money
    """The tax committed at the tax vendor."""


class PaymentApplied(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.payment.applied``: payment-to-cash applied a billing payment to the ERP invoice."""

    transaction_id: str
    """The business transaction (workflow) id."""
    billing_invoice_id: str
    """The billing (Stripe) invoice paid."""
    erp_invoice_id: str
    """The ERP invoice the payment was applied to."""
    erp_payment_id: str
    """The ERP customer payment created."""
    erp_customer_id: str
    """The customer's ERP id."""
    amount: Money
    """The amount applied."""
    payment_date: str
    """The payment date, ISO 8601."""
    opportunity_id: str | None
    """The CRM opportunity marked paid, when the invoice bills one."""


class CreditMemoIssued(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.credit_memo.issued``: a billing refund or credit note became an ERP credit memo."""

    transaction_id: str
    """The business transaction (workflow) id."""
    source: str
    """What was credited in billing: ``refund`` or ``credit_note``."""
    source_id: str
    """The billing refund or credit note id (the credit memo's external id)."""
    billing_invoice_id: str | None
    """The billing invoice credited, when known."""
    erp_invoice_id: str
    """The ERP invoice credited."""
    erp_credit_memo_id: str
    """The ERP credit memo created."""
    erp_customer_id: str
    """The customer's ERP id."""
    amount: Money
    """The amount credited."""
    credit_date: str
    """The credit memo date, ISO 8601."""


class CustomerSynced(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.customer.synced``: customer-sync matched (or created) one account in ERP and billing."""

    transaction_id: str
    """The business transaction (workflow) id."""
    crm_account_id: str
    """The CRM account synced."""
    customer_id: str
    """The canonical customer id, ``cus_<ULID>``."""
    erp_customer_id: str
    """The customer's ERP id."""
    billing_customer_id: str
    """The customer's billing id."""
    matched_by: str
    """How the ERP customer was found: ``xref``, ``external_id``, ``tax_id``, ``name_domain`` or ``none`` (created)."""
    created: list[str]
    """Systems the customer was created in by this sync."""
    updated: list[str]
    """CRM-owned fields written, as ``<system>.<field>``."""
    conflicts: int
    """Disagreements on ERP-owned fields, reported in the lineage and not written."""


class CatalogSynced(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.catalog.synced``: catalog-sync compared the product catalog with billing and the ERP."""

    transaction_id: str
    """The business transaction (workflow) id."""
    skus: int
    """Active catalog SKUs compared."""
    missing_in_billing: int
    """SKUs without an active billing price (reported: billing cannot create them through Strata)."""
    missing_in_erp: int
    """SKUs without an ERP item (reported: the ERP cannot create them through Strata)."""
    price_differences: int
    """SKUs whose billing or ERP price differs from the catalog's."""
    created: int
    """Records created in billing or the ERP."""


class BilledUsage(msgspec.Struct, frozen=True, kw_only=True):
    """One meter's usage of one billing period, as recorded in billing."""

    event_name: str
    """The billing meter's event name."""
    period: str
    """The billing period it was billed in, ``YYYY-MM``."""
    value: int
    """The summed quantity."""


class UsageBilled(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.usage.billed``: usage-to-billing recorded a batch of usage as metered billing usage."""

    transaction_id: str
    """The business transaction (workflow) id."""
    subscription_id: str
    """The billing subscription."""
    billing_customer_id: str
    """The billing customer the usage was recorded for."""
    period: str
    """The batch's billing period, ``YYYY-MM``."""
    usage: list[BilledUsage]
    """What was recorded, per meter and billing period."""
    events: int
    """Events billed (after dropping duplicates)."""
    duplicates: int
    """Events dropped because their id was seen before."""
    late: int
    """Events of a closed period, billed in the open period instead (each flagged in the lineage)."""


class AlertFired(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.alert.fired``: a business alert fired, or is repeated while it lasts."""

    alert_id: str
    """The alert's id, ``alr_<ULID>`` (the same in its repeats and its resolution)."""
    rule: str
    """The rule's name in the governance file."""
    kind: str
    """The rule's kind: ``workflow_sla``, ``exception_age``, ``reconciliation_mismatch``, ``circuit_open``,
    ``webhook_dead_letter``."""
    severity: str
    """``warning`` or ``critical``."""
    subject: str
    """What it is about: a workflow, a period, a vendor, a partner; empty when the rule has one subject."""
    summary: str
    """One line for a person."""
    detail: dict[str, Any]
    """The figures behind it (counts, seconds, ids)."""
    since: str
    """When the condition began (as far as known), RFC 3339 UTC."""
    notification: int
    """1 for the first announcement, 2 for the first repeat, and so on."""


class AlertResolved(msgspec.Struct, frozen=True, kw_only=True):
    """``strata.alert.resolved``: the condition of a business alert that fired no longer holds."""

    alert_id: str
    """The alert's id (as in its ``strata.alert.fired`` events)."""
    rule: str
    kind: str
    severity: str
    subject: str
    summary: str
    """The last summary seen while it fired."""
    fired_at: str
    """When it first fired, RFC 3339 UTC."""
    resolved_at: str
    """When the evaluation found the condition gone, RFC 3339 UTC."""


class EventType(NamedTuple):
    """What the registry knows about one event type."""

    data: type[msgspec.Struct]
    """The struct of the event's ``data``."""
    description: str
    """One line on when it is emitted."""
    channel: str
    """The AsyncAPI channel (key under ``channels``) it is published on."""


EVENT_TYPES: dict[str, EventType] = {
    "strata.contract.activated": EventType(
        ContractActivated, "Quote-to-cash finished provisioning a won opportunity.", "contract"
    ),
    "strata.subscription.changed": EventType(
        SubscriptionChanged, "A subscription was upgraded, downgraded, renewed or cancelled.", "subscription"
    ),
    "strata.transaction.needs_attention": EventType(
        TransactionNeedsAttention, "A transaction failed permanently and waits for an operator.", "transaction"
    ),
    "strata.transaction.compensated": EventType(
        TransactionCompensated, "A transaction was undone; lists what was reversed.", "transaction"
    ),
    "strata.reconciliation.completed": EventType(
        ReconciliationCompleted, "A reconciliation run finished and counted its mismatches.", "reconciliation"
    ),
    "strata.invoice.posted": EventType(
        InvoicePosted, "Invoice-to-ledger posted a billing invoice to the ERP with its tax committed.", "invoice"
    ),
    "strata.payment.applied": EventType(
        PaymentApplied, "Payment-to-cash applied a billing payment to its ERP invoice.", "payment"
    ),
    "strata.credit_memo.issued": EventType(
        CreditMemoIssued, "A billing refund or credit note became an ERP credit memo.", "credit_memo"
    ),
    "strata.customer.synced": EventType(
        CustomerSynced, "Customer-sync matched or created one CRM account in the ERP and billing.", "customer"
    ),
    "strata.catalog.synced": EventType(
        CatalogSynced, "Catalog-sync compared the product catalog with billing and the ERP.", "catalog"
    ),
    "strata.usage.billed": EventType(UsageBilled, "Usage-to-billing recorded a batch of metered usage.", "usage"),
    "strata.alert.fired": EventType(AlertFired, "A business alert fired, or is repeated while it lasts.", "alert"),
    "strata.alert.resolved": EventType(AlertResolved, "A business alert that fired no longer holds.", "alert"),
}
"""Event type name -> (data struct, description, channel); the message set of ``contracts/events/v1.yaml``."""


def event_data(data: msgspec.Struct) -> dict[str, Any]:
    """``data`` as the JSON object :func:`apis.process.events.new_event` takes."""
    built = msgspec.to_builtins(data)
    assert isinstance(built, dict)
    return built


def decode_data(event_type: str, data: dict[str, Any]) -> msgspec.Struct:
    """The typed ``data`` of an event of ``event_type``.

    Raises:
        KeyError: the type is not registered.
        msgspec.ValidationError: ``data`` does not have the type's shape.
    """
    return msgspec.convert(data, type=EVENT_TYPES[event_type].data)
