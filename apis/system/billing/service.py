"""The billing system API's operations, in canonical objects only, over Stripe.

Lists page with Stripe's ``starting_after``: a page's position is the last Stripe id it holds
(``Page.next_position``, signed into the API's cursor at the HTTP boundary, see :mod:`core.cursors`).
Writes take the Stripe ``Idempotency-Key`` the route derived from the caller's key (see
:func:`~apis.system.billing.connectors.stripe.derive_idempotency_key`).

Finding the billing customer a workflow created (:meth:`BillingService.ensure_customer`) does not
use Stripe's Search: Stripe documents it as not read-after-write (searchable in under a minute,
up to an hour during outages) and unavailable to merchants in India. A workflow looks in its
cross-reference first; a create retried within Stripe's 24 hours repeats the first attempt's
``Idempotency-Key``, so Stripe answers the customer a lost answer had created; later, customers
created since the first attempt are listed (by e-mail when known: list endpoints cannot filter
by metadata) and matched on our metadata here.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import httpx

from apis.canonical import (
    BillingCreditNote,
    BillingCreditNoteCreate,
    BillingCustomer,
    BillingCustomerCreate,
    BillingCustomerPatch,
    BillingInvoice,
    BillingPrice,
    BillingProduct,
    Meter,
    MeterUsageEvent,
    Page,
    Subscription,
    SubscriptionAmend,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionItemInput,
    SubscriptionSchedule,
    UsageEventCreate,
    UsageSummary,
)
from apis.system.billing import mapping as m
from apis.system.billing.connectors.stripe import StripeConfig, StripeConnector
from apis.system.kit.link import ApiKey, VendorLink
from core.cursors import InvalidCursor
from core.errors import Conflict, InvalidInput, NotFound, UpstreamRejected

_STRIPE_ID = re.compile(r"^[a-z]+(?:_sched)?_[A-Za-z0-9]{1,64}$")  # sub_sched_… for schedules
IDEMPOTENCY_KEY_SECONDS = 24 * 3600.0
"""How long Stripe replays the first result of an ``Idempotency-Key``."""
KEY_SAFETY_SECONDS = 3600.0
"""A retry this close to the 24 hours lists instead of trusting the key (clock skew, slow requests)."""
CREATED_SLACK_SECONDS = 600
"""``created[gte]`` starts this long before the first attempt (Stripe's clock against ours)."""
SEARCH_UNAVAILABLE = frozenset({"feature_not_enabled", "search_unavailable"})
"""Stripe codes taken to mean "this account has no Search" (guessed: Stripe documents the
unavailability in India, not the error it answers)."""
MAX_MATCH_PAGES = 50
"""Pages of 100 customers listed at most when matching by metadata (5,000 customers created since)."""


def checked_id(value: str, what: str) -> str:
    """A Stripe id from a path; anything else cannot exist (and never reaches a Stripe URL)."""
    if not _STRIPE_ID.match(value):
        raise NotFound(f"No {what} {value}")
    return value


def _ts(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


class BillingService:
    """Canonical billing operations over one Stripe account."""

    def __init__(self, connector: StripeConnector, client: httpx.AsyncClient | None = None) -> None:
        self.connector = connector
        self._client = client

    @property
    def vendor(self) -> str:
        """The vendor behind this API, as lineage and cross-references name it (``"stripe"``): what the
        process layer records instead of naming a vendor itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close the HTTP client this service owns, if any."""
        if self._client is not None:
            await self._client.aclose()

    async def list_page(
        self, path: str, params: dict[str, Any], limit: int, position: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One Stripe list page after the id ``position`` and the next page's position (``None`` on the last)."""
        if position is not None and not _STRIPE_ID.match(position):
            raise InvalidCursor()  # a position is an id this API listed; anything else was made up
        data, has_more = await self.connector.page(path, params, limit=limit, after=position)
        return data, data[-1]["id"] if has_more and data else None

    # -- customers -----------------------------------------------------------------------------
    async def list_customers(
        self, *, email: str | None = None, limit: int = 50, position: str | None = None
    ) -> Page[BillingCustomer]:
        """Customers, newest first."""
        data, next_position = await self.list_page("/v1/customers", {"email": email}, limit, position)
        return Page(items=[m.to_customer(c) for c in data], next_position=next_position)

    async def get_customer(self, customer_id: str) -> BillingCustomer:
        """One customer."""
        customer = await self.connector.get(f"/v1/customers/{checked_id(customer_id, 'customer')}")
        if customer.get("deleted"):
            raise NotFound(f"No customer {customer_id}")
        return m.to_customer(customer)

    async def find_customer_by_crm_account(self, crm_account_id: str) -> BillingCustomer | None:
        """The customer carrying ``metadata[crm_account_id]`` (Stripe search), if any; the
        oldest when several do (the one created first is the one the rest duplicate)."""
        if "'" in crm_account_id or "\\" in crm_account_id:
            raise InvalidInput("a CRM account id has no quotes or backslashes")
        query = f"metadata['{m.CRM_ACCOUNT_KEY}']:'{crm_account_id}'"
        body = await self.connector.get("/v1/customers/search", {"query": query, "limit": 100})
        found = self.connector.field(body, "data", list)
        return m.to_customer(min(found, key=lambda c: c.get("created", 0))) if found else None

    async def create_customer(self, body: BillingCustomerCreate, *, key: str) -> BillingCustomer:
        """A new customer (exactly once per key)."""
        metadata = {m.EXTERNAL_ID_KEY: body.external_id, m.CRM_ACCOUNT_KEY: body.crm_account_id}
        params = {
            "name": body.name,
            "email": body.email,
            "address": m.from_address(body.billing_address),
            "metadata": {k: v for k, v in metadata.items() if v is not None} or None,
        }
        created = await self.connector.post("/v1/customers", params, idempotency_key=key, pointer=m.customer_pointer)
        return m.to_customer(created)

    async def ensure_customer(
        self, body: BillingCustomerCreate, *, key: str, first_attempt: float, now: float | None = None
    ) -> BillingCustomer:
        """The customer ``body`` describes, created at most once by the workflow step that owns ``key``.

        Args:
            body: the customer, carrying our metadata (``external_id``, ``crm_account_id``).
            key: the step's ``Idempotency-Key``, the same on every attempt.
            first_attempt: Unix time of the step's first attempt (at the latest).
            now: Unix time now (tests move it; default the clock).

        Within Stripe's 24 hours the create is repeated with ``key``: if an earlier attempt created
        the customer and its answer was lost, Stripe replays that customer. After that the key is
        forgotten, so the customers created since ``first_attempt`` are listed and the one carrying
        our metadata is taken; only when none does is the customer created.

        A customer that existed before the step (created outside Strata) is the caller's to look
        for first (:meth:`find_existing_customer`).
        """
        now = time.time() if now is None else now
        if now - first_attempt < IDEMPOTENCY_KEY_SECONDS - KEY_SAFETY_SECONDS:
            return await self.create_customer(body, key=key)
        found = await self.find_created_customer(body, since=first_attempt)
        return found if found is not None else await self.create_customer(body, key=key)

    async def find_existing_customer(self, crm_account_id: str) -> BillingCustomer | None:
        """A customer carrying the CRM id that existed before us (created outside Strata), if Search finds one.

        Search finds customers indexed long ago reliably, and those are the ones this is for: the
        customers our own steps create are found by :meth:`ensure_customer`, never by Search. Where
        Stripe offers no Search (accounts in India) the answer is ``None``, not a failure.
        """
        try:
            return await self.find_customer_by_crm_account(crm_account_id)
        except UpstreamRejected as error:
            if error.vendor_code not in SEARCH_UNAVAILABLE:
                raise
            return None

    async def find_created_customer(self, body: BillingCustomerCreate, *, since: float) -> BillingCustomer | None:
        """The oldest customer created since ``since`` that carries ``body``'s metadata (Stripe lists, not Search)."""
        wanted = {m.EXTERNAL_ID_KEY: body.external_id, m.CRM_ACCOUNT_KEY: body.crm_account_id}
        wanted = {k: v for k, v in wanted.items() if v is not None}
        if not wanted:
            raise InvalidInput("a customer without external_id or crm_account_id cannot be matched")
        params = {"email": body.email, "created": {"gte": int(since) - CREATED_SLACK_SECONDS}}
        matches: list[dict[str, Any]] = []
        position: str | None = None
        for _ in range(MAX_MATCH_PAGES):
            data, has_more = await self.connector.page("/v1/customers", params, limit=100, after=position)
            matches.extend(c for c in data if all((c.get("metadata") or {}).get(k) == v for k, v in wanted.items()))
            if not has_more or not data:
                break
            position = data[-1]["id"]
        return m.to_customer(min(matches, key=lambda c: c.get("created", 0))) if matches else None

    async def update_customer(self, customer_id: str, body: BillingCustomerPatch, *, key: str) -> BillingCustomer:
        """Change name, e-mail or address."""
        path = f"/v1/customers/{checked_id(customer_id, 'customer')}"
        params = {"name": body.name, "email": body.email, "address": m.from_address(body.billing_address)}
        return m.to_customer(await self.connector.post(path, params, idempotency_key=key, pointer=m.customer_pointer))

    # -- catalogue ----------------------------------------------------------------------------
    async def list_products(
        self, *, active: bool | None = None, limit: int = 50, position: str | None = None
    ) -> Page[BillingProduct]:
        """Products, newest first."""
        data, next_position = await self.list_page("/v1/products", {"active": active}, limit, position)
        return Page(items=[m.to_product(p) for p in data], next_position=next_position)

    async def get_product(self, product_id: str) -> BillingProduct:
        """One product."""
        return m.to_product(await self.connector.get(f"/v1/products/{checked_id(product_id, 'product')}"))

    async def list_prices(
        self,
        *,
        product_id: str | None = None,
        lookup_key: str | None = None,
        currency: str | None = None,
        limit: int = 50,
        position: str | None = None,
    ) -> Page[BillingPrice]:
        """Prices, newest first, by product, lookup key or currency."""
        params = {
            "product": product_id,
            "currency": currency.lower() if currency else None,
            "lookup_keys": [lookup_key] if lookup_key else None,
        }
        data, next_position = await self.list_page("/v1/prices", params, limit, position)
        return Page(items=[m.to_price(p) for p in data], next_position=next_position)

    async def get_price(self, price_id: str) -> BillingPrice:
        """One price."""
        return m.to_price(await self.connector.get(f"/v1/prices/{checked_id(price_id, 'price')}"))

    # -- subscriptions -----------------------------------------------------------------------
    async def create_subscription(self, body: SubscriptionCreate, *, key: str) -> Subscription:
        """A new subscription; its first invoice is created by the billing system."""
        if body.collection_method == "send_invoice" and body.days_until_due is None:
            raise InvalidInput(
                "send_invoice needs days_until_due",
                field_errors=[
                    {
                        "in": "body",
                        "pointer": "/days_until_due",
                        "detail": "required when collection_method is send_invoice",
                    }
                ],
            )
        params = {
            "customer": body.customer_id,
            "items": [{"price": item.price_id, "quantity": item.quantity} for item in body.items],
            "collection_method": body.collection_method,
            "days_until_due": body.days_until_due if body.collection_method == "send_invoice" else None,
            "metadata": {m.EXTERNAL_ID_KEY: body.external_id} if body.external_id else None,
            # One-time charges (onboarding fees) on the first invoice, beside the first period's items.
            "add_invoice_items": [{"price": item.price_id, "quantity": item.quantity} for item in body.one_time_items]
            or None,
        }
        created = await self.connector.post(
            "/v1/subscriptions", params, idempotency_key=key, pointer=m.subscription_pointer
        )
        return m.to_subscription(created)

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One subscription."""
        return m.to_subscription(
            await self.connector.get(f"/v1/subscriptions/{checked_id(subscription_id, 'subscription')}")
        )

    async def list_subscriptions(
        self, *, customer_id: str | None = None, status: str | None = None, limit: int = 50, position: str | None = None
    ) -> Page[Subscription]:
        """Subscriptions, newest first (canceled ones only when ``status`` asks for them)."""
        data, next_position = await self.list_page(
            "/v1/subscriptions", {"customer": customer_id, "status": status}, limit, position
        )
        return Page(items=[m.to_subscription(s) for s in data], next_position=next_position)

    async def find_subscription(self, customer_id: str, external_id: str) -> Subscription | None:
        """The customer's live subscription carrying ``metadata[external_id]``, if any.

        For a workflow step whose own ``Idempotency-Key`` cannot vouch for the past: after a
        restore of the state from a backup, an opportunity submitted again is a new transaction
        with new keys, and only the billing system still knows the subscription made for it. A
        list by customer is read-after-write (Search is not); canceled and expired ones do not
        count (a cancelled order may be ordered again).
        """
        position: str | None = None
        while True:
            data, position = await self.list_page(
                "/v1/subscriptions", {"customer": checked_id(customer_id, "customer"), "status": "all"}, 100, position
            )
            for subscription in map(m.to_subscription, data):
                live = subscription.status not in ("canceled", "incomplete_expired")
                if live and subscription.external_id == external_id:
                    return subscription
            if position is None:
                return None

    async def amend_subscription(self, subscription_id: str, body: SubscriptionAmend, *, key: str) -> Subscription:
        """Change, add or remove items; charged as ``body.proration`` says."""
        items: list[dict[str, Any]] = []
        for index, change in enumerate(body.items):
            if change.item_id is None and (change.price_id is None or change.remove):
                raise InvalidInput(
                    "a new item needs price_id",
                    field_errors=[
                        {
                            "in": "body",
                            "pointer": f"/items/{index}/price_id",
                            "detail": "required for a new item (no item_id)",
                        }
                    ],
                )
            items.append(
                {
                    "id": change.item_id,
                    "price": change.price_id,
                    "quantity": change.quantity,
                    "deleted": True if change.remove else None,
                }
            )
        params = {"items": items, "proration_behavior": m.PRORATION[body.proration]}
        path = f"/v1/subscriptions/{checked_id(subscription_id, 'subscription')}"
        return m.to_subscription(
            await self.connector.post(path, params, idempotency_key=key, pointer=m.subscription_pointer)
        )

    async def set_cancel_at_period_end(self, subscription_id: str, cancel: bool, *, key: str) -> Subscription:
        """End the subscription with its current period (``cancel``), or keep it running after all."""
        path = f"/v1/subscriptions/{checked_id(subscription_id, 'subscription')}"
        return m.to_subscription(await self.connector.post(path, {"cancel_at_period_end": cancel}, idempotency_key=key))

    async def schedule_at_period_end(
        self, subscription_id: str, items: list[SubscriptionItemInput], *, key: str, external_id: str | None = None
    ) -> SubscriptionSchedule:
        """Replace the subscription's items with ``items`` when its current period ends (a Stripe
        subscription schedule: the current phase as it is, then one period of ``items``, then released,
        so the subscription runs on with ``items``). Nothing is charged before the period ends.
        ``external_id`` (e.g. the transaction of the change) is kept in the schedule's metadata.

        Two writes, each with its own key derived from ``key``: a re-run finds the schedule its first
        run created (Stripe replays the create) and sets the same phases again.
        """
        created = await self.connector.post(
            "/v1/subscription_schedules",
            {
                "from_subscription": checked_id(subscription_id, "subscription"),
                "metadata": {m.EXTERNAL_ID_KEY: external_id} if external_id else None,
            },
            idempotency_key=f"{key}:create",
        )
        schedule = m.to_schedule(created)
        current = schedule.phases[0]
        params = {
            "end_behavior": "release",
            "proration_behavior": "none",
            "phases": [
                {
                    "items": [{"price": i.price_id, "quantity": i.quantity} for i in current.items],
                    "start_date": int(current.start.timestamp()),
                    "end_date": int(current.end.timestamp()) if current.end else None,
                },
                {"items": [{"price": i.price_id, "quantity": i.quantity} for i in items], "iterations": 1},
            ],
        }
        path = f"/v1/subscription_schedules/{checked_id(schedule.id, 'schedule')}"
        return m.to_schedule(await self.connector.post(path, params, idempotency_key=f"{key}:phases"))

    async def release_schedule(self, schedule_id: str, *, key: str) -> SubscriptionSchedule:
        """Drop a schedule's later phases: the subscription stays as it is now."""
        path = f"/v1/subscription_schedules/{checked_id(schedule_id, 'schedule')}/release"
        return m.to_schedule(await self.connector.post(path, {}, idempotency_key=key))

    async def get_schedule(self, schedule_id: str) -> SubscriptionSchedule:
        """One subscription schedule."""
        return m.to_schedule(
            await self.connector.get(f"/v1/subscription_schedules/{checked_id(schedule_id, 'schedule')}")
        )

    async def cancel_subscription(self, subscription_id: str, body: SubscriptionCancel) -> Subscription:
        """End a subscription now (cancelling a canceled one answers it unchanged)."""
        path = f"/v1/subscriptions/{checked_id(subscription_id, 'subscription')}"
        params = {"prorate": body.prorate or None, "invoice_now": body.invoice_now if body.prorate else None}
        return m.to_subscription(await self.connector.delete(path, params))

    # -- invoices ------------------------------------------------------------------------------
    async def list_invoices(
        self,
        *,
        customer_id: str | None = None,
        subscription_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
        position: str | None = None,
    ) -> Page[BillingInvoice]:
        """Invoices, newest first."""
        params = {"customer": customer_id, "subscription": subscription_id, "status": status}
        data, next_position = await self.list_page("/v1/invoices", params, limit, position)
        return Page(items=[m.to_invoice(i) for i in data], next_position=next_position)

    async def get_invoice(self, invoice_id: str) -> BillingInvoice:
        """One invoice with its lines."""
        return m.to_invoice(await self.connector.get(f"/v1/invoices/{checked_id(invoice_id, 'invoice')}"))

    async def finalize_invoice(self, invoice_id: str, *, key: str) -> BillingInvoice:
        """Draft → open: numbered and due (409 when it is not a draft)."""
        path = f"/v1/invoices/{checked_id(invoice_id, 'invoice')}/finalize"
        return m.to_invoice(await self.connector.post(path, {}, idempotency_key=key))

    async def void_invoice(self, invoice_id: str, *, key: str) -> BillingInvoice:
        """Open → void (409 when it is not open)."""
        path = f"/v1/invoices/{checked_id(invoice_id, 'invoice')}/void"
        return m.to_invoice(await self.connector.post(path, {}, idempotency_key=key))

    # -- credit notes -------------------------------------------------------------------------
    async def create_credit_note(self, body: BillingCreditNoteCreate, *, key: str) -> BillingCreditNote:
        """Credit part of an open or paid invoice."""
        invoice = await self.get_invoice(body.invoice_id)
        if body.amount.currency != invoice.total.currency:
            raise InvalidInput(
                "currency differs from the invoice's",
                field_errors=[
                    {
                        "in": "body",
                        "pointer": "/amount/currency",
                        "detail": f"the invoice is in {invoice.total.currency}",
                    }
                ],
            )
        if invoice.status not in ("open", "paid"):
            raise Conflict(f"Invoice {invoice.id} is {invoice.status}; only open or paid invoices can be credited")
        minor, _ = m.to_minor(body.amount, "/amount")
        if minor <= 0:
            raise InvalidInput(
                "amount must be positive",
                field_errors=[{"in": "body", "pointer": "/amount/amount", "detail": "must be greater than 0"}],
            )
        params = {"invoice": invoice.id, "amount": minor, "reason": body.reason, "memo": body.memo}
        created = await self.connector.post(
            "/v1/credit_notes", params, idempotency_key=key, pointer=m.credit_note_pointer
        )
        return m.to_credit_note(created)

    async def list_credit_notes(
        self, *, invoice_id: str | None = None, limit: int = 50, position: str | None = None
    ) -> Page[BillingCreditNote]:
        """Credit notes, newest first."""
        data, next_position = await self.list_page("/v1/credit_notes", {"invoice": invoice_id}, limit, position)
        return Page(items=[m.to_credit_note(c) for c in data], next_position=next_position)

    async def get_credit_note(self, credit_note_id: str) -> BillingCreditNote:
        """One credit note."""
        return m.to_credit_note(
            await self.connector.get(f"/v1/credit_notes/{checked_id(credit_note_id, 'credit note')}")
        )

    # -- metered usage ------------------------------------------------------------------------
    async def list_meters(self, *, limit: int = 50, position: str | None = None) -> Page[Meter]:
        """Usage meters."""
        data, next_position = await self.list_page("/v1/billing/meters", {}, limit, position)
        return Page(items=[m.to_meter(x) for x in data], next_position=next_position)

    async def record_usage(self, body: UsageEventCreate, *, key: str) -> MeterUsageEvent:
        """Report usage; a repeated ``identifier`` is recorded once (``duplicate`` true)."""
        when = body.timestamp or dt.datetime.now(dt.UTC)
        params = {
            "event_name": body.event_name,
            "identifier": body.identifier,
            "timestamp": _ts(when),
            "payload": {"stripe_customer_id": body.customer_id, "value": body.value},
        }
        duplicate = False
        try:
            await self.connector.post("/v1/billing/meter_events", params, idempotency_key=key, pointer=m.usage_pointer)
        except Conflict as error:
            # Stripe refuses an identifier it has seen: that usage is recorded already.
            if error.vendor_code != "resource_already_exists":
                raise
            duplicate = True
        return MeterUsageEvent(
            identifier=body.identifier,
            event_name=body.event_name,
            customer_id=body.customer_id,
            value=body.value,
            timestamp=when.astimezone(dt.UTC).replace(microsecond=0),
            duplicate=duplicate,
        )

    async def usage_summary(
        self, meter_id: str, *, customer_id: str, start: dt.datetime, end: dt.datetime
    ) -> UsageSummary:
        """A meter's usage of one customer over ``[start, end)``."""
        path = f"/v1/billing/meters/{checked_id(meter_id, 'meter')}/event_summaries"
        body = await self.connector.get(path, {"customer": customer_id, "start_time": _ts(start), "end_time": _ts(end)})
        data = self.connector.field(body, "data", list)
        value = sum(int(s.get("aggregated_value") or 0) for s in data if isinstance(s, dict))
        return UsageSummary(meter_id=meter_id, customer_id=customer_id, start=start, end=end, value=value)


def build_billing_service(link: VendorLink[ApiKey], *, config: StripeConfig | None = None) -> BillingService:
    """The billing service over the Stripe account ``link`` reaches (real Stripe, or its sandbox).

    Args:
        link: client, base URL, secret key and breaker, from the composition root.
        config: connector timeouts and retries (defaults: :class:`StripeConfig`).
    """
    connector = StripeConnector(
        link.client, link.base_url, link.credentials.key, config=config or StripeConfig(), breaker=link.breaker
    )
    return BillingService(connector, link.client)
