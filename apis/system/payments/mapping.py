"""Stripe payment intents and refunds ↔ canonical payments objects."""

from __future__ import annotations

from typing import Any

from apis.canonical import PaymentIntent, Refund
from apis.system.billing.mapping import created_time, id_of, required_field, to_money, unix_time


def to_payment_intent(obj: dict[str, Any]) -> PaymentIntent:
    """Stripe payment intent → PaymentIntent."""
    currency = required_field(obj, "currency")
    error = obj.get("last_payment_error") or {}
    return PaymentIntent(
        id=required_field(obj, "id"),
        amount=to_money(required_field(obj, "amount"), currency),
        amount_received=to_money(obj.get("amount_received") or 0, currency),
        customer_id=id_of(obj.get("customer")),
        status=required_field(obj, "status"),
        description=obj.get("description"),
        payment_method=id_of(obj.get("payment_method")),
        failure_code=(error.get("decline_code") or error.get("code")) if isinstance(error, dict) else None,
        failure_message=error.get("message") if isinstance(error, dict) else None,
        client_secret=obj.get("client_secret"),
        canceled_at=unix_time(obj.get("canceled_at")),
        created_at=created_time(obj),
    )


def to_refund(obj: dict[str, Any]) -> Refund:
    """Stripe refund → Refund."""
    return Refund(
        id=required_field(obj, "id"),
        payment_intent_id=id_of(obj.get("payment_intent")),
        amount=to_money(required_field(obj, "amount"), required_field(obj, "currency")),
        status=required_field(obj, "status"),
        reason=obj.get("reason"),
        created_at=created_time(obj),
    )


def intent_pointer(param: str) -> str | None:
    """Stripe payment-intent params → our request fields."""
    return {
        "amount": "/amount/amount",
        "currency": "/amount/currency",
        "customer": "/customer_id",
        "payment_method": "/payment_method",
        "description": "/description",
    }.get(param)


def refund_pointer(param: str) -> str | None:
    """Stripe refund params → our request fields."""
    return {"payment_intent": "/payment_intent_id", "amount": "/amount/amount", "reason": "/reason"}.get(param)
