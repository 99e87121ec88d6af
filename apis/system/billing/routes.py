"""``/system/billing/v1``: customers, catalogue, subscriptions, invoices, credit notes, usage.

Authentication, scopes, request validation, the gateway's idempotency record and problem+json
belong to the governance pipeline in front; handlers declare the :class:`BillingService` as
the ``billing`` dependency. Each write derives its Stripe ``Idempotency-Key`` from the caller's
``Idempotency-Key`` and client id (:func:`idempotency_key`), so a retry of the same request
reaches Stripe with the same key even when the gateway's own record was released by a 5xx.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.canonical import (
    BillingCreditNoteCreate,
    BillingCustomerCreate,
    BillingCustomerPatch,
    SubscriptionAmend,
    SubscriptionCancel,
    SubscriptionCreate,
    UsageEventCreate,
)
from apis.system.billing.connectors.stripe import derive_idempotency_key
from apis.system.billing.service import BillingService
from apis.system.http import caller_client_id, caller_idempotency_key, decode_body, json_response, page_response
from apis.system.paging import cursor_position
from core.errors import InvalidInput

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Page size.")]


def idempotency_key(request: Request[Any, Any, Any]) -> str:
    """The Stripe key of this write: derived from the caller's key, client and concrete path."""
    operation = f"{request.method} {request.url.path}"
    return derive_idempotency_key(
        caller_idempotency_key(request), client_id=caller_client_id(request), operation=operation
    )


# -- customers ---------------------------------------------------------------------------------
@get("/customers", operation_id="listBillingCustomers")
async def list_customers(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    email: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Customers, newest first."""
    return page_response(
        request, await billing.list_customers(email=email, limit=limit, position=cursor_position(request, str))
    )


@post("/customers", operation_id="createBillingCustomer")
async def create_customer(request: Request[Any, Any, Any], billing: NamedDependency[BillingService]) -> Response[bytes]:
    """A new customer: 201."""
    body = await decode_body(request, BillingCustomerCreate)
    customer = await billing.create_customer(body, key=idempotency_key(request))
    return json_response(customer, 201, {"Location": f"{request.url.path}/{customer.id}"})


@get("/customers/{customer_id:str}", operation_id="getBillingCustomer")
async def get_customer(billing: NamedDependency[BillingService], customer_id: FromPath[str]) -> Response[bytes]:
    """One customer."""
    return json_response(await billing.get_customer(customer_id))


@patch("/customers/{customer_id:str}", operation_id="updateBillingCustomer")
async def update_customer(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], customer_id: FromPath[str]
) -> Response[bytes]:
    """Change name, e-mail or billing address."""
    body = await decode_body(request, BillingCustomerPatch)
    return json_response(await billing.update_customer(customer_id, body, key=idempotency_key(request)))


# -- catalogue --------------------------------------------------------------------------------
@get("/products", operation_id="listBillingProducts")
async def list_products(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    active: FromQuery[bool | None] = None,
) -> Response[bytes]:
    """Products, newest first."""
    return page_response(
        request, await billing.list_products(active=active, limit=limit, position=cursor_position(request, str))
    )


@get("/products/{product_id:str}", operation_id="getBillingProduct")
async def get_product(billing: NamedDependency[BillingService], product_id: FromPath[str]) -> Response[bytes]:
    """One product."""
    return json_response(await billing.get_product(product_id))


@get("/prices", operation_id="listBillingPrices")
async def list_prices(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    product_id: FromQuery[str | None] = None,
    lookup_key: FromQuery[str | None] = None,
    currency: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Prices, by product, lookup key or currency."""
    page = await billing.list_prices(
        product_id=product_id,
        lookup_key=lookup_key,
        currency=currency,
        limit=limit,
        position=cursor_position(request, str),
    )
    return page_response(request, page)


@get("/prices/{price_id:str}", operation_id="getBillingPrice")
async def get_price(billing: NamedDependency[BillingService], price_id: FromPath[str]) -> Response[bytes]:
    """One price."""
    return json_response(await billing.get_price(price_id))


# -- subscriptions ----------------------------------------------------------------------------
@get("/subscriptions", operation_id="listSubscriptions")
async def list_subscriptions(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    customer_id: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Subscriptions, newest first."""
    page = await billing.list_subscriptions(
        customer_id=customer_id, status=status, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@post("/subscriptions", operation_id="createSubscription")
async def create_subscription(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService]
) -> Response[bytes]:
    """A new subscription: 201."""
    body = await decode_body(request, SubscriptionCreate)
    subscription = await billing.create_subscription(body, key=idempotency_key(request))
    return json_response(subscription, 201, {"Location": f"{request.url.path}/{subscription.id}"})


@get("/subscriptions/{subscription_id:str}", operation_id="getSubscription")
async def get_subscription(billing: NamedDependency[BillingService], subscription_id: FromPath[str]) -> Response[bytes]:
    """One subscription."""
    return json_response(await billing.get_subscription(subscription_id))


@post("/subscriptions/{subscription_id:str}/amend", operation_id="amendSubscription", status_code=200)
async def amend_subscription(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], subscription_id: FromPath[str]
) -> Response[bytes]:
    """Change, add or remove items, with proration."""
    body = await decode_body(request, SubscriptionAmend)
    return json_response(await billing.amend_subscription(subscription_id, body, key=idempotency_key(request)))


@post("/subscriptions/{subscription_id:str}/cancel", operation_id="cancelSubscription", status_code=200)
async def cancel_subscription(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], subscription_id: FromPath[str]
) -> Response[bytes]:
    """End a subscription now."""
    body = await decode_body(request, SubscriptionCancel, optional=True)
    return json_response(await billing.cancel_subscription(subscription_id, body))


# -- invoices ---------------------------------------------------------------------------------
@get("/invoices", operation_id="listBillingInvoices")
async def list_invoices(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    customer_id: FromQuery[str | None] = None,
    subscription_id: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Invoices, newest first."""
    page = await billing.list_invoices(
        customer_id=customer_id,
        subscription_id=subscription_id,
        status=status,
        limit=limit,
        position=cursor_position(request, str),
    )
    return page_response(request, page)


@get("/invoices/{invoice_id:str}", operation_id="getBillingInvoice")
async def get_invoice(billing: NamedDependency[BillingService], invoice_id: FromPath[str]) -> Response[bytes]:
    """One invoice with its lines."""
    return json_response(await billing.get_invoice(invoice_id))


@post("/invoices/{invoice_id:str}/finalize", operation_id="finalizeBillingInvoice", status_code=200)
async def finalize_invoice(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], invoice_id: FromPath[str]
) -> Response[bytes]:
    """Draft → open."""
    return json_response(await billing.finalize_invoice(invoice_id, key=idempotency_key(request)))


@post("/invoices/{invoice_id:str}/void", operation_id="voidBillingInvoice", status_code=200)
async def void_invoice(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], invoice_id: FromPath[str]
) -> Response[bytes]:
    """Open → void."""
    return json_response(await billing.void_invoice(invoice_id, key=idempotency_key(request)))


# -- credit notes -----------------------------------------------------------------------------
@get("/credit-notes", operation_id="listCreditNotes")
async def list_credit_notes(
    request: Request[Any, Any, Any],
    billing: NamedDependency[BillingService],
    limit: Limit = 50,
    invoice_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Credit notes, newest first."""
    page = await billing.list_credit_notes(invoice_id=invoice_id, limit=limit, position=cursor_position(request, str))
    return page_response(request, page)


@post("/credit-notes", operation_id="createCreditNote")
async def create_credit_note(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService]
) -> Response[bytes]:
    """Credit an open or paid invoice: 201."""
    body = await decode_body(request, BillingCreditNoteCreate)
    note = await billing.create_credit_note(body, key=idempotency_key(request))
    return json_response(note, 201, {"Location": f"{request.url.path}/{note.id}"})


@get("/credit-notes/{credit_note_id:str}", operation_id="getCreditNote")
async def get_credit_note(billing: NamedDependency[BillingService], credit_note_id: FromPath[str]) -> Response[bytes]:
    """One credit note."""
    return json_response(await billing.get_credit_note(credit_note_id))


# -- metered usage ----------------------------------------------------------------------------
@get("/meters", operation_id="listMeters")
async def list_meters(
    request: Request[Any, Any, Any], billing: NamedDependency[BillingService], limit: Limit = 50
) -> Response[bytes]:
    """Usage meters."""
    return page_response(request, await billing.list_meters(limit=limit, position=cursor_position(request, str)))


@get("/meters/{meter_id:str}/usage", operation_id="getMeterUsage")
async def meter_usage(
    billing: NamedDependency[BillingService],
    meter_id: FromPath[str],
    customer_id: FromQuery[str],
    start: FromQuery[dt.datetime],
    end: FromQuery[dt.datetime],
) -> Response[bytes]:
    """A meter's usage of one customer over ``[start, end)``."""
    if end <= start:
        raise InvalidInput(
            "end must be after start", field_errors=[{"in": "query", "name": "end", "detail": "must be after start"}]
        )
    summary = await billing.usage_summary(meter_id, customer_id=customer_id, start=start, end=end)
    return json_response(summary)


@post("/usage-events", operation_id="recordUsageEvent")
async def record_usage(request: Request[Any, Any, Any], billing: NamedDependency[BillingService]) -> Response[bytes]:
    """Report usage: 201 recorded, 200 when the identifier was recorded before."""
    body = await decode_body(request, UsageEventCreate)
    event = await billing.record_usage(body, key=idempotency_key(request))
    return json_response(event, 200 if event.duplicate else 201)


router = Router(
    path="/system/billing/v1",
    route_handlers=[
        list_customers, create_customer, get_customer, update_customer, list_products, get_product, list_prices,
        get_price, list_subscriptions, create_subscription, get_subscription, amend_subscription,
        cancel_subscription, list_invoices, get_invoice, finalize_invoice, void_invoice, list_credit_notes,
        create_credit_note, get_credit_note, list_meters, meter_usage, record_usage,
    ],
)  # fmt: skip
