"""``/experience/customer-portal/v1``: one customer's view of its account, billing and usage.

``GET customers/{customer_id}/overview`` composes account, current subscriptions with
entitlements, open and recent invoices, balance and recent payments in parallel, answers a
strong ``ETag`` (``If-None-Match`` → 304) and is reused for ``customer_portal_cache_seconds``.
``GET customers/{customer_id}/invoices`` pages the customer's invoices, ``GET
invoices/{invoice_id}`` is one invoice with lines, ``GET subscriptions/{subscription_id}/usage``
is metered usage per calendar month. Every operation needs ``experience:customer-portal:read``;
a customer-bound caller sees only its customer (anything else is 404, see
:mod:`apis.experience.customer_portal.compose`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.canonical import Page
from apis.experience.customer_portal import views as v
from apis.experience.customer_portal.compose import (
    CustomerPortal,
    bound_customer,
    cached_overview,
    owner_check,
    resolve,
)
from apis.system.http import JSON, Limit, json_response, page_response
from apis.system.paging import cursor_position
from core.errors import NotFound

BASE = "/experience/customer-portal/v1"
Months = Annotated[int, QueryParameter(ge=1, le=12, description="Calendar months of usage, newest first.")]


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag equal to ``etag`` by weak comparison."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


@get("/customers/{customer_id:str}/overview", operation_id="getCustomerOverview")
async def overview(
    request: Request[Any, Any, Any], customer_portal: NamedDependency[CustomerPortal], customer_id: FromPath[str]
) -> Response[bytes]:
    """The customer's portal home page in one answer."""
    entry = await cached_overview(customer_portal, bound_customer(request), customer_id)
    headers = {"ETag": entry.etag, "Cache-Control": f"private, max-age={customer_portal.cache_seconds}"}
    if _matches(request.headers.get("if-none-match"), entry.etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=entry.body, status_code=200, media_type=JSON, headers=headers)


@get("/customers/{customer_id:str}/invoices", operation_id="listCustomerInvoices")
async def list_invoices(
    request: Request[Any, Any, Any],
    customer_portal: NamedDependency[CustomerPortal],
    customer_id: FromPath[str],
    limit: Limit = 20,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The customer's invoices, newest first."""
    systems = customer_portal.systems
    customer, _account = await resolve(systems, bound_customer(request), customer_id)
    if customer.billing_customer_id is None:
        return page_response(request, Page(items=[], next_position=None))
    page = await systems.billing.list_invoices(
        customer_id=customer.billing_customer_id,
        status=status,
        limit=limit,
        position=cursor_position(request, str),
    )
    invoices = Page(items=[v.invoice_view(i) for i in page.items], next_position=page.next_position)
    return page_response(request, invoices)


@get("/invoices/{invoice_id:str}", operation_id="getCustomerInvoice")
async def get_invoice(
    request: Request[Any, Any, Any], customer_portal: NamedDependency[CustomerPortal], invoice_id: FromPath[str]
) -> Response[bytes]:
    """One invoice with its lines."""
    systems = customer_portal.systems
    try:
        invoice = await systems.billing.get_invoice(invoice_id)
    except NotFound:
        raise NotFound(f"No invoice {invoice_id}") from None
    await owner_check(systems, bound_customer(request), invoice.customer_id, "invoice", invoice_id)
    return json_response(v.invoice_detail(invoice))


class UsagePeriod(msgspec.Struct, frozen=True, kw_only=True):
    """Metered usage of one calendar month (the current one so far)."""

    start: dt.datetime
    end: dt.datetime
    usage: list[dict[str, Any]]
    """One entry per metered price of the subscription: ``price_id``, ``meter_id``, ``value``."""


def _months(count: int, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The last ``count`` calendar months as ``[start, end)``, newest first."""
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    periods = []
    for _ in range(count):
        end = (start + dt.timedelta(days=32)).replace(day=1)
        periods.append((start, end))
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return periods


@get("/subscriptions/{subscription_id:str}/usage", operation_id="getSubscriptionUsage")
async def usage(
    request: Request[Any, Any, Any],
    customer_portal: NamedDependency[CustomerPortal],
    subscription_id: FromPath[str],
    months: Months = 3,
) -> Response[bytes]:
    """Metered usage of a subscription per calendar month, newest first."""
    systems = customer_portal.systems
    billing = systems.billing
    try:
        subscription = await billing.get_subscription(subscription_id)
    except NotFound:
        raise NotFound(f"No subscription {subscription_id}") from None
    await owner_check(systems, bound_customer(request), subscription.customer_id, "subscription", subscription_id)
    prices = await asyncio.gather(*(billing.get_price(item.price_id) for item in subscription.items))
    metered = [(p.id, meter_id) for p in prices if p.kind == "metered" and (meter_id := p.meter_id)]
    periods = _months(months, dt.datetime.now(dt.UTC))
    summaries = await asyncio.gather(
        *(
            billing.usage_summary(meter_id, customer_id=subscription.customer_id, start=start, end=end)
            for start, end in periods
            for _, meter_id in metered
        )
    )
    answer = []
    for index, (start, end) in enumerate(periods):
        chunk = summaries[index * len(metered) : (index + 1) * len(metered)]
        answer.append(
            UsagePeriod(
                start=start,
                end=end,
                usage=[
                    {"price_id": price_id, "meter_id": meter_id, "value": s.value}
                    for (price_id, meter_id), s in zip(metered, chunk, strict=True)
                ],
            )
        )
    return json_response({"subscription_id": subscription.id, "periods": answer})


router = Router(path=BASE, route_handlers=[overview, list_invoices, get_invoice, usage])
