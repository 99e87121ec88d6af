"""``/v1`` paths → resource functions (method, path pattern, function of account, ids, params)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandboxes.stripe import credit_notes as cn
from sandboxes.stripe import customers as cu
from sandboxes.stripe import invoices as inv
from sandboxes.stripe import meters as me
from sandboxes.stripe import params as p
from sandboxes.stripe import payments as pay
from sandboxes.stripe import schedules as sc
from sandboxes.stripe import subscriptions as su
from sandboxes.stripe import webhook_endpoints as we
from sandboxes.stripe.account import Account
from sandboxes.stripe.lists import page

Handler = Callable[[Account, tuple[str, ...], dict[str, Any]], dict[str, Any]]
ID = r"([A-Za-z0-9_]+)"


def _get(kind: str, param: str = "id") -> Handler:
    def handler(account: Account, ids: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
        p.check_known(params, ())
        return account.store.get(kind, ids[0], param, status=404)

    return handler


def _update_product(account: Account, ids: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    p.check_known(params, ("name", "description", "active", "metadata", "default_price"))
    product = account.store.get("product", ids[0])
    for key in ("name", "description", "default_price"):
        if key in params:
            product[key] = p.text(params, key)
    if "active" in params:
        product["active"] = p.boolean(params, "active", True)
    product["metadata"] = p.metadata(product["metadata"], params)
    product["updated"] = account.now()
    account.store.touched("product")
    return product


def _update_price(account: Account, ids: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    p.check_known(params, ("active", "metadata", "nickname", "lookup_key"))
    price = account.store.get("price", ids[0])
    if "active" in params:
        price["active"] = p.boolean(params, "active", True)
    if "nickname" in params:
        price["nickname"] = p.text(params, "nickname")
    price["metadata"] = p.metadata(price["metadata"], params)
    account.store.touched("price")
    return price


def _list_events(account: Account, ids: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    p.check_known(params, ("limit", "starting_after", "ending_before", "type", "types", "created", "delivery_success"))
    kind, kinds = p.text(params, "type"), params.get("types") or None

    def keep(event: dict[str, Any]) -> bool:
        if kind is not None and not re.fullmatch(re.escape(kind).replace(r"\*", ".*"), event["type"]):
            return False
        return kinds is None or event["type"] in kinds

    return page(account.store, "event", "/v1/events", params, keep)


def _invoice_lines(account: Account, ids: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    p.check_known(params, ("limit", "starting_after", "ending_before"))
    invoice = account.store.get("invoice", ids[0])
    return {**invoice["lines"], "url": f"/v1/invoices/{invoice['id']}/lines"}


def build_routes(charge_invoice: Callable[[dict[str, Any], str], None]) -> list[tuple[str, re.Pattern[str], Handler]]:
    """The route table; ``charge_invoice`` pays an invoice with a payment method."""

    def pay_invoice(a: Account, i: tuple[str, ...], q: dict[str, Any]) -> dict[str, Any]:
        return inv.pay_invoice(a, i[0], q, charge_invoice)

    def create_subscription(a: Account, i: tuple[str, ...], q: dict[str, Any]) -> dict[str, Any]:
        return su.create_subscription(a, q, charge_invoice)

    def cancel_schedule(a: Account, i: tuple[str, ...], q: dict[str, Any]) -> dict[str, Any]:
        return sc.cancel_schedule(
            a, i[0], q, lambda subscription_id, rest: su.cancel_subscription(a, subscription_id, rest)
        )

    table: list[tuple[str, str, Handler]] = [
        ("POST", "/v1/customers", lambda a, i, q: cu.create_customer(a, q)),
        ("GET", "/v1/customers", lambda a, i, q: cu.list_customers(a, q)),
        ("GET", "/v1/customers/search", lambda a, i, q: cu.search_customers(a, q)),
        ("GET", f"/v1/customers/{ID}", _get("customer")),
        ("POST", f"/v1/customers/{ID}", lambda a, i, q: cu.update_customer(a, i[0], q)),
        ("DELETE", f"/v1/customers/{ID}", lambda a, i, q: cu.delete_customer(a, i[0])),
        ("POST", "/v1/products", lambda a, i, q: cu.create_product(a, q)),
        ("GET", "/v1/products", lambda a, i, q: cu.list_products(a, q)),
        ("GET", f"/v1/products/{ID}", _get("product")),
        ("POST", f"/v1/products/{ID}", _update_product),
        ("POST", "/v1/prices", lambda a, i, q: cu.create_price(a, q)),
        ("GET", "/v1/prices", lambda a, i, q: cu.list_prices(a, q)),
        ("GET", f"/v1/prices/{ID}", _get("price")),
        ("POST", f"/v1/prices/{ID}", _update_price),
        ("POST", "/v1/subscriptions", create_subscription),
        ("GET", "/v1/subscriptions", lambda a, i, q: su.list_subscriptions(a, q)),
        ("GET", f"/v1/subscriptions/{ID}", _get("subscription")),
        ("POST", f"/v1/subscriptions/{ID}", lambda a, i, q: su.update_subscription(a, i[0], q)),
        ("DELETE", f"/v1/subscriptions/{ID}", lambda a, i, q: su.cancel_subscription(a, i[0], q)),
        ("POST", "/v1/subscription_schedules", lambda a, i, q: sc.create_schedule(a, q)),
        ("GET", f"/v1/subscription_schedules/{ID}", _get("subscription_schedule", "schedule")),
        ("POST", f"/v1/subscription_schedules/{ID}", lambda a, i, q: sc.update_schedule(a, i[0], q)),
        ("POST", f"/v1/subscription_schedules/{ID}/release", lambda a, i, q: sc.release_schedule(a, i[0], q)),
        ("POST", f"/v1/subscription_schedules/{ID}/cancel", cancel_schedule),
        ("POST", "/v1/invoices", lambda a, i, q: inv.create_invoice(a, q)),
        ("GET", "/v1/invoices", lambda a, i, q: inv.list_invoices(a, q)),
        ("GET", f"/v1/invoices/{ID}", _get("invoice")),
        ("GET", f"/v1/invoices/{ID}/lines", _invoice_lines),
        ("POST", f"/v1/invoices/{ID}/finalize", lambda a, i, q: inv.finalize_invoice(a, i[0], q)),
        ("POST", f"/v1/invoices/{ID}/void", lambda a, i, q: inv.void_invoice(a, i[0], q)),
        ("POST", f"/v1/invoices/{ID}/pay", pay_invoice),
        ("POST", "/v1/invoiceitems", lambda a, i, q: inv.create_invoice_item(a, q)),
        ("GET", f"/v1/invoiceitems/{ID}", _get("invoiceitem")),
        ("POST", "/v1/credit_notes", lambda a, i, q: cn.create_credit_note(a, q)),
        ("GET", "/v1/credit_notes", lambda a, i, q: cn.list_credit_notes(a, q)),
        ("GET", f"/v1/credit_notes/{ID}", _get("credit_note")),
        ("POST", f"/v1/credit_notes/{ID}/void", lambda a, i, q: cn.void_credit_note(a, i[0], q)),
        ("POST", "/v1/payment_intents", lambda a, i, q: pay.create_intent(a, q)),
        ("GET", "/v1/payment_intents", lambda a, i, q: pay.list_intents(a, q)),
        ("GET", f"/v1/payment_intents/{ID}", _get("payment_intent", "intent")),
        ("POST", f"/v1/payment_intents/{ID}/confirm", lambda a, i, q: pay.confirm_intent(a, i[0], q)),
        ("POST", f"/v1/payment_intents/{ID}/capture", lambda a, i, q: pay.capture_intent(a, i[0], q)),
        ("POST", f"/v1/payment_intents/{ID}/cancel", lambda a, i, q: pay.cancel_intent(a, i[0], q)),
        ("GET", f"/v1/charges/{ID}", _get("charge", "charge")),
        ("POST", "/v1/refunds", lambda a, i, q: pay.create_refund(a, q)),
        ("GET", "/v1/refunds", lambda a, i, q: pay.list_refunds(a, q)),
        ("GET", f"/v1/refunds/{ID}", _get("refund", "refund")),
        ("POST", "/v1/billing/meters", lambda a, i, q: me.create_meter(a, q)),
        ("GET", "/v1/billing/meters", lambda a, i, q: me.list_meters(a, q)),
        ("GET", f"/v1/billing/meters/{ID}", _get("billing.meter")),
        ("POST", f"/v1/billing/meters/{ID}/deactivate", lambda a, i, q: me.set_meter_status(a, i[0], False)),
        ("POST", f"/v1/billing/meters/{ID}/reactivate", lambda a, i, q: me.set_meter_status(a, i[0], True)),
        ("GET", f"/v1/billing/meters/{ID}/event_summaries", lambda a, i, q: me.event_summaries(a, i[0], q)),
        ("POST", "/v1/billing/meter_events", lambda a, i, q: me.create_meter_event(a, q)),
        ("POST", "/v1/webhook_endpoints", lambda a, i, q: we.create_endpoint(a, q)),
        ("GET", "/v1/webhook_endpoints", lambda a, i, q: we.list_endpoints(a, q)),
        ("GET", f"/v1/webhook_endpoints/{ID}", lambda a, i, q: we.get_endpoint(a, i[0], q)),
        ("POST", f"/v1/webhook_endpoints/{ID}", lambda a, i, q: we.update_endpoint(a, i[0], q)),
        ("DELETE", f"/v1/webhook_endpoints/{ID}", lambda a, i, q: we.delete_endpoint(a, i[0])),
        ("GET", "/v1/events", _list_events),
        ("GET", f"/v1/events/{ID}", _get("event")),
    ]
    return [(method, re.compile(f"^{pattern}$"), handler) for method, pattern, handler in table]
