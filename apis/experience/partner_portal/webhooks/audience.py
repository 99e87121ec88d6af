"""Which business events a partner may receive: the event types, and whose customer an event is about.

A partner sees events about **its own customers** only: the customer an event is about is
found from its ``data`` (the CRM account id when it carries one, else the canonical, billing or
ERP customer id mapped to the CRM account through the xref store, and the billing customer's
own CRM reference as a last resort), and the customer's partner is the CRM account's partner
attribution (:func:`partner_of_customer`). Events about no customer (a reconciliation run, a
catalog sync) and operators' events (a transaction needing attention, a compensation) are
never sent to partners.
"""

from __future__ import annotations

from typing import Any

from apis.canonical import Customer
from apis.process.events import CloudEvent
from apis.process.xref import XrefStore
from core.errors import NotFound

PARTNER_EVENT_TYPES: tuple[str, ...] = (
    "strata.contract.activated",
    "strata.customer.synced",
    "strata.invoice.posted",
    "strata.payment.applied",
    "strata.credit_memo.issued",
    "strata.usage.billed",
)
"""Event types a partner may subscribe to (a subset of :data:`apis.process.event_types.EVENT_TYPES`);
the enum of ``WebhookEventType`` in the contract."""


async def partner_of_customer(services: Any, crm_account_id: str) -> str | None:
    """The partner a CRM account is attributed to (``None``: a direct customer, or no such account).

    ``services`` is anything holding the CRM system service as ``crm`` (the app state, the
    process runtime). The attribution is the canonical customer's ``partner_id`` (the CRM's
    ``Partner_Id__c``), read when the event is fanned out: a customer re-attributed since the
    event happened is the new partner's.
    """
    try:
        customer: Customer = await services.crm.get_account(crm_account_id)
    except NotFound:
        return None
    return customer.partner_id or None


async def crm_account_of_event(services: Any, xref: XrefStore, erp_system: str, event: CloudEvent) -> str | None:
    """The CRM account id of the customer ``event`` is about, or ``None`` if it names none we know.

    ``services`` holds the CRM and billing system services as ``crm`` and ``billing`` (the app
    state, the process runtime); their ``vendor`` names them in the xref store.
    """
    crm, billing = services.crm.vendor, services.billing.vendor
    data = event.data
    account = data.get("crm_account_id")
    if isinstance(account, str) and account:
        return account
    canonical = data.get("customer_id")
    if isinstance(canonical, str) and canonical.startswith("cus_"):
        found = await xref.vendor_id("customer", canonical, crm)
        if found is not None:
            return found
    for system, key in ((billing, "billing_customer_id"), (erp_system, "erp_customer_id")):
        vendor_id = data.get(key)
        if not isinstance(vendor_id, str) or not vendor_id:
            continue
        canonical_id = await xref.canonical_id("customer", system, vendor_id)
        if canonical_id is not None:
            found = await xref.vendor_id("customer", canonical_id, crm)
            if found is not None:
                return found
        if system == billing:
            try:
                billing_customer = await services.billing.get_customer(vendor_id)
            except NotFound:
                continue
            if billing_customer.crm_account_id:
                return str(billing_customer.crm_account_id)
    return None
