"""Payment intents, charges and refunds, with Stripe's test payment methods."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.customers import currency as currency_param
from sandboxes.stripe.errors import StripeError
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

SUCCEEDING = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_us", "pm_card_de"})
DECLINING = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_visa_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
}
"""Stripe's test payment methods that decline, with their ``decline_code``."""
CREATE_PARAMS = (
    "amount",
    "currency",
    "customer",
    "payment_method",
    "confirm",
    "capture_method",
    "description",
    "metadata",
    "receipt_email",
    "payment_method_types",
    "automatic_payment_methods",
    "off_session",
    "return_url",
    "statement_descriptor",
    "setup_future_usage",
    "confirmation_method",
)
MINIMUM_AMOUNT = 50
CANCEL_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def unexpected_state(intent: dict[str, Any], action: str) -> StripeError:
    """Stripe's ``payment_intent_unexpected_state``."""
    return StripeError(
        400,
        f"This PaymentIntent's {action} could not be performed because it has a status of {intent['status']}.",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": copy.deepcopy(intent)},
    )


def _payment_method(account: Account, method: str, param: str = "payment_method") -> str:
    if method not in SUCCEEDING and method not in DECLINING:
        raise StripeError(400, f"No such PaymentMethod: '{method}'", code="resource_missing", param=param)
    return method


def create_intent(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents`` (``confirm=true`` confirms at once)."""
    p.check_known(params, CREATE_PARAMS)
    amount = p.integer(params, "amount", need=True, minimum=1) or 0
    currency = currency_param(params)
    if amount < MINIMUM_AMOUNT and currency not in ("jpy",):
        raise StripeError(400, "Amount must be at least $0.50 usd", code="amount_too_small", param="amount")
    customer = p.text(params, "customer")
    if customer is not None:
        account.store.get("customer", customer, "customer")
    method = p.text(params, "payment_method")
    intent_id = new_id("payment_intent")
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": p.choice(
            params, "capture_method", ("automatic", "automatic_async", "manual"), default="automatic_async"
        ),
        "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": "automatic",
        "created": account.now(),
        "currency": currency,
        "customer": customer,
        "description": p.text(params, "description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": p.metadata({}, params),
        "payment_method": _payment_method(account, method) if method else None,
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "receipt_email": p.text(params, "receipt_email"),
        "status": "requires_confirmation" if method else "requires_payment_method",
    }
    account.store.add("payment_intent", intent)
    account.emit("payment_intent.created", intent)
    if p.boolean(params, "confirm"):
        _confirm(account, intent)
    return intent


def confirm_intent(account: Account, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/confirm``."""
    p.check_known(params, ("payment_method", "return_url", "off_session", "receipt_email"))
    intent = account.store.get("payment_intent", intent_id, "intent", status=404)
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_state(intent, "confirmation")
    method = p.text(params, "payment_method")
    if method:
        intent["payment_method"] = _payment_method(account, method)
    if not intent["payment_method"]:
        raise StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            code="payment_intent_unexpected_state",
            param="payment_method",
        )
    account.store.touched("payment_intent")
    _confirm(account, intent)
    return intent


def _confirm(account: Account, intent: dict[str, Any]) -> None:
    method = intent["payment_method"]
    decline = DECLINING.get(method)
    if decline is not None:
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline,
            "message": "Your card was declined.",
            "payment_method": {"id": method, "object": "payment_method", "type": "card"},
        }
        intent["status"], intent["last_payment_error"], intent["payment_method"] = (
            "requires_payment_method",
            error,
            None,
        )
        account.emit("payment_intent.payment_failed", intent)
        raise StripeError(
            402,
            "Your card was declined.",
            type="card_error",
            code="card_declined",
            extra={"decline_code": decline, "payment_intent": copy.deepcopy(intent)},
        )
    charge = _charge(account, intent["amount"], intent["currency"], intent["customer"], intent["id"], method)
    intent["latest_charge"] = charge["id"]
    intent["last_payment_error"] = None
    if intent["capture_method"] == "manual":
        charge["captured"], charge["amount_captured"] = False, 0
        intent["status"], intent["amount_capturable"] = "requires_capture", intent["amount"]
        account.emit("payment_intent.amount_capturable_updated", intent)
    else:
        intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
        account.emit("payment_intent.succeeded", intent)


def _charge(
    account: Account, amount: int, currency: str, customer: str | None, intent: str | None, method: str
) -> dict[str, Any]:
    charge = {
        "id": new_id("charge"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "balance_transaction": "txn_" + secrets.token_hex(12),
        "captured": True,
        "created": account.now(),
        "currency": currency,
        "customer": customer,
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_intent": intent,
        "payment_method": method,
        "refunded": False,
        "status": "succeeded",
    }
    account.store.add("charge", charge, count=False)
    account.emit("charge.succeeded", charge)
    return charge


def charge_invoice(account: Account, invoice: dict[str, Any], method: str) -> None:
    """Pay an invoice with a payment method: a succeeded payment intent, or a 402 decline."""
    intent = create_intent(
        account,
        {
            "amount": str(invoice["amount_remaining"]),
            "currency": invoice["currency"],
            "customer": invoice["customer"],
            "payment_method": method,
            "confirm": "true",
            "description": f"Invoice {invoice['number']}",
        },
    )
    invoice["attempt_count"] += 1
    invoice.setdefault("payments", {"object": "list", "data": [], "has_more": False, "url": ""})
    invoice["payments"]["data"].append(
        {
            "object": "invoice_payment",
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
            "status": "paid",
        }
    )


def capture_intent(account: Account, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/capture``."""
    p.check_known(params, ("amount_to_capture",))
    intent = account.store.get("payment_intent", intent_id, "intent", status=404)
    if intent["status"] != "requires_capture":
        raise unexpected_state(intent, "capture")
    amount = p.integer(params, "amount_to_capture", minimum=1, default=intent["amount_capturable"]) or 0
    if amount > intent["amount_capturable"]:
        raise StripeError(
            400,
            "Amount to capture is larger than the amount capturable.",
            code="amount_too_large",
            param="amount_to_capture",
        )
    charge = account.store.objects["charge"][intent["latest_charge"]]
    charge["captured"], charge["amount_captured"] = True, amount
    intent["status"], intent["amount_received"], intent["amount_capturable"] = "succeeded", amount, 0
    account.store.touched("payment_intent")
    account.emit("payment_intent.succeeded", intent)
    return intent


def cancel_intent(account: Account, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/cancel``."""
    p.check_known(params, ("cancellation_reason",))
    intent = account.store.get("payment_intent", intent_id, "intent", status=404)
    if intent["status"] in ("succeeded", "canceled", "processing"):
        raise unexpected_state(intent, "cancellation")
    intent["status"], intent["canceled_at"] = "canceled", account.now()
    intent["cancellation_reason"] = p.choice(params, "cancellation_reason", CANCEL_REASONS)
    account.store.touched("payment_intent")
    account.emit("payment_intent.canceled", intent)
    return intent


def list_intents(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payment_intents`` (``customer``)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "customer", "created"))
    customer = p.text(params, "customer")
    return page(
        account.store,
        "payment_intent",
        "/v1/payment_intents",
        params,
        lambda x: customer is None or x["customer"] == customer,
    )


def create_refund(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/refunds`` of a payment intent's charge (or a charge); emits ``charge.refunded``."""
    p.check_known(params, ("payment_intent", "charge", "amount", "reason", "metadata", "instructions_email"))
    intent_id, charge_id = p.text(params, "payment_intent"), p.text(params, "charge")
    if not intent_id and not charge_id:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
            param="payment_intent",
        )
    if intent_id:
        intent = account.store.get("payment_intent", intent_id, "payment_intent")
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise StripeError(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    charge = account.store.get("charge", charge_id, "charge")
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
        )
    amount = p.integer(params, "amount", minimum=1, default=remaining) or 0
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )
    refund = {
        "id": new_id("refund"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": "txn_" + secrets.token_hex(12),
        "charge": charge["id"],
        "created": account.now(),
        "currency": charge["currency"],
        "metadata": p.metadata({}, params),
        "payment_intent": charge["payment_intent"],
        "reason": p.choice(params, "reason", REFUND_REASONS),
        "status": "succeeded",
    }
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    account.store.add("refund", refund)
    account.emit("refund.created", refund)
    account.emit("charge.refunded", charge, previous)
    return refund


def list_refunds(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/refunds`` (``payment_intent``, ``charge``)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "payment_intent", "charge", "created"))
    intent, charge = p.text(params, "payment_intent"), p.text(params, "charge")
    return page(
        account.store,
        "refund",
        "/v1/refunds",
        params,
        lambda x: (intent is None or x["payment_intent"] == intent) and (charge is None or x["charge"] == charge),
    )
