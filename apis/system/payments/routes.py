"""``/system/payments/v1``: payment intents, refunds, and Stripe webhook intake.

``POST /webhooks/stripe`` carries no bearer token: its contract declares our
``stripeSignature`` scheme (``x-strata-webhook: true``), so the pipeline compiles it as a
public route (no authentication, scopes or client rate limit; the pre-auth limit per source
address, request limits and the request contract still apply) and this handler refuses
anything without a valid ``Stripe-Signature`` over the raw body (400).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from apis.canonical import PaymentIntentCancel, PaymentIntentConfirm, PaymentIntentCreate, RefundCreate
from apis.system.billing.routes import Limit, idempotency_key
from apis.system.http import decode_body, json_response, page_response
from apis.system.paging import cursor_position
from apis.system.payments.service import PaymentsService
from apis.system.payments.webhook import HEADER


@post("/payment-intents", operation_id="createPaymentIntent")
async def create_intent(request: Request[Any, Any, Any], payments: NamedDependency[PaymentsService]) -> Response[bytes]:
    """A payment intent (charged at once with ``confirm``): 201."""
    body = await decode_body(request, PaymentIntentCreate)
    intent = await payments.create_intent(body, key=idempotency_key(request))
    return json_response(intent, 201, {"Location": f"{request.url.path}/{intent.id}"})


@get("/payment-intents", operation_id="listPaymentIntents")
async def list_intents(
    request: Request[Any, Any, Any],
    payments: NamedDependency[PaymentsService],
    limit: Limit = 50,
    customer_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Payment intents, newest first."""
    page = await payments.list_intents(customer_id=customer_id, limit=limit, position=cursor_position(request, str))
    return page_response(request, page)


@get("/payment-intents/{payment_intent_id:str}", operation_id="getPaymentIntent")
async def get_intent(payments: NamedDependency[PaymentsService], payment_intent_id: FromPath[str]) -> Response[bytes]:
    """One payment intent."""
    return json_response(await payments.get_intent(payment_intent_id))


@post("/payment-intents/{payment_intent_id:str}/confirm", operation_id="confirmPaymentIntent", status_code=200)
async def confirm_intent(
    request: Request[Any, Any, Any], payments: NamedDependency[PaymentsService], payment_intent_id: FromPath[str]
) -> Response[bytes]:
    """Charge the payment intent."""
    body = await decode_body(request, PaymentIntentConfirm, optional=True)
    return json_response(await payments.confirm_intent(payment_intent_id, body, key=idempotency_key(request)))


@post("/payment-intents/{payment_intent_id:str}/cancel", operation_id="cancelPaymentIntent", status_code=200)
async def cancel_intent(
    request: Request[Any, Any, Any], payments: NamedDependency[PaymentsService], payment_intent_id: FromPath[str]
) -> Response[bytes]:
    """Cancel the payment intent."""
    body = await decode_body(request, PaymentIntentCancel, optional=True)
    return json_response(await payments.cancel_intent(payment_intent_id, body, key=idempotency_key(request)))


@post("/refunds", operation_id="createRefund")
async def create_refund(request: Request[Any, Any, Any], payments: NamedDependency[PaymentsService]) -> Response[bytes]:
    """Refund a payment: 201."""
    body = await decode_body(request, RefundCreate)
    refund = await payments.create_refund(body, key=idempotency_key(request))
    return json_response(refund, 201, {"Location": f"{request.url.path}/{refund.id}"})


@get("/refunds", operation_id="listRefunds")
async def list_refunds(
    request: Request[Any, Any, Any],
    payments: NamedDependency[PaymentsService],
    limit: Limit = 50,
    payment_intent_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Refunds, newest first."""
    page = await payments.list_refunds(
        payment_intent_id=payment_intent_id, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@get("/refunds/{refund_id:str}", operation_id="getRefund")
async def get_refund(payments: NamedDependency[PaymentsService], refund_id: FromPath[str]) -> Response[bytes]:
    """One refund."""
    return json_response(await payments.get_refund(refund_id))


@post("/webhooks/stripe", operation_id="receiveStripeWebhook", status_code=200)
async def stripe_webhook(
    request: Request[Any, Any, Any], payments: NamedDependency[PaymentsService]
) -> Response[bytes]:
    """A Stripe event delivery: verified, stored once; a redelivery is 200 and stored nothing."""
    payload = await request.body()
    event_id, stored = await payments.receive_stripe_event(payload, request.headers.get(HEADER))
    return json_response({"received": True, "event_id": event_id, "duplicate": not stored})


router = Router(
    path="/system/payments/v1",
    route_handlers=[
        create_intent, list_intents, get_intent, confirm_intent, cancel_intent, create_refund, list_refunds,
        get_refund, stripe_webhook,
    ],
)  # fmt: skip
