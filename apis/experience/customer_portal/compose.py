"""Who a portal customer is in each system, what the caller may see, and the overview.

The customer id of this API is the CRM account id (the CRM is the system of record for
accounts). Its billing customer is the one the xref store links to the account's canonical
id, else the one carrying the account id in its metadata
(:meth:`~apis.system.billing.service.BillingService.find_customer_by_crm_account`); its
product-platform customer is the one whose external reference is the account id.

Confinement: a principal bound to a ``customer_id`` (a customer-bound client, or a token from
RFC 8693 exchange) sees only that customer. Anything else — another customer's id, or an
invoice or subscription of another customer — answers the same 404 as an object that does not
exist, so ids cannot be probed. Unbound clients holding the scope may read any customer.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
from litestar import Request

from apis.experience.customer_portal import views as v
from apis.experience.systems import PortalSystems
from core.errors import NotFound
from policies.context import principal_of

RECENT = 5
"""Invoices and payments shown as "recent" in the overview."""
OPEN_INVOICES_MAX = 100
ENTITLEMENTS_MAX = 100
SUBSCRIPTIONS_MAX = 100
CURRENT_SUBSCRIPTION_STATUSES = frozenset({"active", "trialing", "past_due"})
CACHE_MAX_ENTRIES = 1024
"""Overviews kept per process; the least recently stored go first."""


class PortalCustomer(NamedTuple):
    """One customer's ids in each system (``None`` where it has none)."""

    crm_account_id: str
    billing_customer_id: str | None
    product_customer_id: str | None


def bound_customer(request: Request[Any, Any, Any]) -> str | None:
    """The customer the caller's token is bound to (``None``: an unbound internal client)."""
    principal = principal_of(request)
    return principal.customer_id if principal is not None else None


def check_visible(bound: str | None, customer_id: str) -> None:
    """404 unless a caller bound to ``bound`` may see ``customer_id`` (the same 404 as an unknown customer)."""
    if bound is not None and bound != customer_id:
        raise NotFound(f"No customer {customer_id}")


async def billing_customer_id(systems: PortalSystems, crm_account_id: str) -> str | None:
    """The billing customer of a CRM account: the xref's link, else the one carrying its id."""
    canonical_id = await systems.xref.canonical_id("customer", systems.crm.vendor, crm_account_id)
    if canonical_id is not None:
        linked = await systems.xref.vendor_id("customer", canonical_id, systems.billing.vendor)
        if linked is not None:
            return linked
    found = await systems.billing.find_customer_by_crm_account(crm_account_id)
    return found.id if found is not None else None


async def _product_customer_id(systems: PortalSystems, crm_account_id: str) -> str | None:
    page = await systems.product.list_customers(crm_account_id=crm_account_id, limit=1, position=None)
    return page.items[0].id if page.items else None


async def resolve(systems: PortalSystems, bound: str | None, customer_id: str) -> tuple[PortalCustomer, Any]:
    """The customer's ids and its CRM account (looked up in parallel); 404 for an unknown one."""
    check_visible(bound, customer_id)
    try:
        account, billing_id, product_id = await asyncio.gather(
            systems.crm.get_account(customer_id),
            billing_customer_id(systems, customer_id),
            _product_customer_id(systems, customer_id),
        )
    except NotFound:
        raise NotFound(f"No customer {customer_id}") from None
    return PortalCustomer(customer_id, billing_id, product_id), account


async def owner_check(
    systems: PortalSystems, bound: str | None, billing_customer: str, what: str, object_id: str
) -> None:
    """404 unless a bound caller's customer is the billing customer owning the object."""
    if bound is not None and await billing_customer_id(systems, bound) != billing_customer:
        raise NotFound(f"No {what} {object_id}")


async def compose_overview(systems: PortalSystems, bound: str | None, customer_id: str) -> v.Overview:
    """The overview, composed in parallel from CRM, billing, payments and the product platform."""
    customer, account = await resolve(systems, bound, customer_id)
    billing_id = customer.billing_customer_id
    empty: list[Any] = []

    async def items(call: Any) -> list[Any]:
        return list((await call).items) if call is not None else empty

    subscriptions, open_invoices, recent_invoices, payments, entitlements = await asyncio.gather(
        items(
            systems.billing.list_subscriptions(customer_id=billing_id, limit=SUBSCRIPTIONS_MAX) if billing_id else None
        ),
        items(
            systems.billing.list_invoices(customer_id=billing_id, status="open", limit=OPEN_INVOICES_MAX)
            if billing_id
            else None
        ),
        items(systems.billing.list_invoices(customer_id=billing_id, limit=RECENT) if billing_id else None),
        items(systems.payments.list_intents(customer_id=billing_id, limit=RECENT) if billing_id else None),
        items(
            systems.product.list_entitlements(
                customer.product_customer_id, status="active", limit=ENTITLEMENTS_MAX, position=None
            )
            if customer.product_customer_id
            else None
        ),
    )
    entitlement_views = [v.entitlement_view(e) for e in entitlements]
    current = [s for s in subscriptions if s.status in CURRENT_SUBSCRIPTION_STATUSES]
    return v.Overview(
        customer_id=customer_id,
        account=v.account_view(account),
        subscriptions=[
            v.SubscriptionWithEntitlements(
                **msgspec.structs.asdict(v.subscription_view(s)),
                # granted for the subscription itself, or for the order (opportunity) it came from
                entitlements=[
                    v.entitlement_view(e)
                    for e in entitlements
                    if e.source_ref is not None and e.source_ref in (s.id, s.external_id)
                ],
            )
            for s in current
        ],
        entitlements=entitlement_views,
        open_invoices=[v.invoice_view(i) for i in open_invoices],
        recent_invoices=[v.invoice_view(i) for i in recent_invoices],
        balance=v.balance_of(open_invoices),
        recent_payments=[v.payment_view(p) for p in payments],
    )


class CachedOverview(NamedTuple):
    """An encoded overview and its strong validator."""

    body: bytes
    etag: str
    stored_at: float


def strong_etag(body: bytes) -> str:
    """A strong ``ETag`` (RFC 9110 §8.8.3) of a representation: a digest of its bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class OverviewCache:
    """Overviews per customer id for a few seconds, in this process (bounded, oldest out)."""

    def __init__(self, ttl_seconds: float, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedOverview] = OrderedDict()

    def get(self, customer_id: str) -> CachedOverview | None:
        """The cached overview, if it is younger than the TTL."""
        entry = self._entries.get(customer_id)
        if entry is None or time.monotonic() - entry.stored_at >= self.ttl_seconds:
            return None
        return entry

    def put(self, customer_id: str, body: bytes) -> CachedOverview:
        """Store an encoded overview (nothing is kept when the TTL is 0)."""
        entry = CachedOverview(body, strong_etag(body), time.monotonic())
        if self.ttl_seconds > 0:
            self._entries.pop(customer_id, None)
            self._entries[customer_id] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry


@dataclass(frozen=True, slots=True)
class CustomerPortal:
    """What the customer-portal routes read (their one dependency, built by the composition root)."""

    systems: PortalSystems
    cache: OverviewCache
    """This process's overview cache (one for the app's lifetime)."""
    cache_seconds: int
    """How long an overview is reused (``customer_portal_cache_seconds``; also its ``max-age``)."""


async def cached_overview(portal: CustomerPortal, bound: str | None, customer_id: str) -> CachedOverview:
    """The overview from the cache, else freshly composed (visibility is checked either way)."""
    check_visible(bound, customer_id)
    entry = portal.cache.get(customer_id)
    if entry is None:
        overview = await compose_overview(portal.systems, bound, customer_id)
        entry = portal.cache.put(customer_id, msgspec.json.encode(overview))
    return entry
