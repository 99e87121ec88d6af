"""Subscriptions: create (first invoice), update with proration, cancel (DELETE)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sandboxes.stripe import invoices as inv
from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

PRORATION = ("create_prorations", "none", "always_invoice")
MAX_ADD_INVOICE_ITEMS = 20
"""``add_invoice_items``: "You may pass up to 20 items" (the spec's description)."""
CREATE_PARAMS = (
    "add_invoice_items",
    "customer",
    "items",
    "collection_method",
    "days_until_due",
    "proration_behavior",
    "metadata",
    "description",
    "payment_behavior",
    "default_payment_method",
    "cancel_at_period_end",
    "currency",
    "off_session",
)
UPDATE_PARAMS = (
    "items",
    "proration_behavior",
    "proration_date",
    "metadata",
    "description",
    "cancel_at_period_end",
    "collection_method",
    "days_until_due",
    "payment_behavior",
    "default_payment_method",
    "off_session",
)


def period_end(start: int, interval: str, count: int) -> int:
    """End of a billing period (calendar months and years, as Stripe bills them)."""
    begin = dt.datetime.fromtimestamp(start, dt.UTC)
    if interval in ("day", "week"):
        return start + count * (86400 if interval == "day" else 7 * 86400)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(begin.month - 1 + months, 12)
    day = min(
        begin.day, [31, 29 if (begin.year + year) % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
    )
    return int(begin.replace(year=begin.year + year, month=month + 1, day=day).timestamp())


def _item(account: Account, subscription_id: str, spec: dict[str, Any], index: int, start: int) -> dict[str, Any]:
    price = account.store.get("price", p.text(spec, "price", need=True), f"items[{index}][price]")
    if price["type"] != "recurring":
        raise StripeError(
            400,
            "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
            param=f"items[{index}][price]",
        )
    metered = price["recurring"]["usage_type"] == "metered"
    quantity = None if metered else p.integer(spec, "quantity", minimum=0, default=1)
    recurring = price["recurring"]
    return {
        "id": new_id("subscription_item"),
        "object": "subscription_item",
        "created": account.now(),
        "current_period_start": start,
        "current_period_end": period_end(start, recurring["interval"], recurring["interval_count"]),
        "metadata": p.metadata({}, spec),
        "price": copy.deepcopy(price),
        "quantity": quantity,
        "subscription": subscription_id,
    }


def _amount(item: dict[str, Any]) -> int:
    return int(item["price"]["unit_amount"] or 0) * int(item["quantity"] or 0)


def create_subscription(account: Account, params: dict[str, Any], pay: Any) -> dict[str, Any]:
    """``POST /v1/subscriptions``: active at once; the first invoice for licensed items."""
    p.check_known(params, CREATE_PARAMS)
    customer = account.store.get("customer", p.text(params, "customer", need=True), "customer")
    specs = p.items(params, "items")
    if not specs:
        raise StripeError(400, "Missing required param: items.", code="parameter_missing", param="items")
    method = p.choice(
        params, "collection_method", ("charge_automatically", "send_invoice"), default="charge_automatically"
    )
    days = p.integer(params, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None:
        raise StripeError(
            400, "Missing required param: days_until_due.", code="parameter_missing", param="days_until_due"
        )
    p.choice(params, "proration_behavior", PRORATION)
    now = account.now()
    subscription_id = new_id("subscription")
    items = [_item(account, subscription_id, spec, index, now) for index, spec in enumerate(specs)]
    currencies = {item["price"]["currency"] for item in items}
    if len(currencies) > 1:
        raise StripeError(400, "All prices on a subscription must have the same currency.", param="items")
    currency = currencies.pop()
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "billing_cycle_anchor": now,
        "cancel_at": None,
        "cancel_at_period_end": p.boolean(params, "cancel_at_period_end"),
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": method,
        "created": now,
        "currency": currency,
        "customer": customer["id"],
        "days_until_due": days,
        "default_payment_method": p.text(params, "default_payment_method"),
        "description": p.text(params, "description"),
        "ended_at": None,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": p.metadata({}, params),
        "schedule": None,
        "start_date": now,
        "status": "active",
    }
    invoice = inv.new_invoice(
        account,
        customer,
        currency,
        subscription=subscription_id,
        collection_method=method or "charge_automatically",
        days_until_due=days,
        billing_reason="subscription_create",
    )
    for item in items:
        if item["quantity"] is None:
            continue
        product = account.store.objects["product"].get(item["price"]["product"], {})
        invoice["lines"]["data"].append(
            inv.line_for(
                account,
                amount=_amount(item),
                currency=currency,
                quantity=item["quantity"],
                price=item["price"],
                description=f"{item['quantity']} × {product.get('name', 'item')}",
                proration=False,
                period=(item["current_period_start"], item["current_period_end"]),
                parent={
                    "type": "subscription_item_details",
                    "subscription_item_details": {
                        "subscription": subscription_id,
                        "subscription_item": item["id"],
                        "proration": False,
                    },
                },
            )
        )
    _add_invoice_items(account, invoice, subscription, p.items(params, "add_invoice_items"))
    inv.recompute(invoice)
    subscription["latest_invoice"] = invoice["id"]
    account.store.add("subscription", subscription)
    account.store.add("invoice", invoice, count=False)
    account.emit("customer.subscription.created", subscription)
    account.emit("invoice.created", invoice)
    if method == "charge_automatically":
        # Stripe finalizes and charges at once; without a payment method the subscription is incomplete.
        inv.finalize(account, invoice)
        payment_method = subscription["default_payment_method"] or (customer.get("invoice_settings") or {}).get(
            "default_payment_method"
        )
        if invoice["status"] == "open":
            if payment_method:
                pay(invoice, payment_method)
                inv.mark_paid(account, invoice)
            else:
                subscription["status"] = "incomplete"
    return subscription


def _add_invoice_items(
    account: Account, invoice: dict[str, Any], subscription: dict[str, Any], specs: list[dict[str, Any]]
) -> None:
    """``add_invoice_items[]``: one-time prices appended to the subscription's first invoice."""
    if len(specs) > MAX_ADD_INVOICE_ITEMS:
        raise StripeError(400, "You may pass up to 20 items.", param="add_invoice_items")
    checked: list[tuple[dict[str, Any], int, dict[str, str]]] = []
    for index, spec in enumerate(specs):  # every entry checked before anything is stored
        p.check_known(spec, ("price", "quantity", "metadata"))
        param = f"add_invoice_items[{index}][price]"
        price = account.store.get("price", p.text(spec, "price", need=True), param)
        if price["type"] != "one_time":
            # GUESSED message: the spec says only "prices and quantities that will generate invoice items".
            raise StripeError(
                400,
                "The price specified is set to `type=recurring` but this field only accepts prices with"
                " `type=one_time`.",
                param=param,
            )
        if price["currency"] != subscription["currency"]:
            raise StripeError(400, "All prices on a subscription must have the same currency.", param=param)
        checked.append((price, p.integer(spec, "quantity", minimum=1, default=1) or 1, p.metadata({}, spec)))
    now = account.now()
    for price, quantity, metadata in checked:
        item = {
            "id": new_id("invoiceitem"),
            "object": "invoiceitem",
            "amount": int(price["unit_amount"] or 0) * quantity,
            "currency": price["currency"],
            "customer": subscription["customer"],
            "date": now,
            "description": account.store.objects["product"].get(price["product"], {}).get("name"),
            "invoice": None,
            "livemode": False,
            "metadata": metadata,
            "period": {"start": now, "end": now},
            "proration": False,
            "quantity": quantity,
            "pricing": {"type": "price_details", "price_details": {"price": price["id"], "product": price["product"]}},
            "subscription": subscription["id"],
        }
        account.store.add("invoiceitem", item, count=False)
    inv.attach_pending_items(account, invoice, subscription["id"])


def update_subscription(account: Account, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}``: items changed, added or ``deleted``, prorated as asked."""
    p.check_known(params, UPDATE_PARAMS)
    subscription = account.store.get("subscription", subscription_id)
    if subscription["status"] == "canceled":
        raise StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="subscription_canceled",
        )
    behavior = p.choice(params, "proration_behavior", PRORATION, default="create_prorations")
    now = p.integer(params, "proration_date", minimum=0) or account.now()
    previous: dict[str, Any] = {}
    changes: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []  # (old item, new item)
    if "items" in params:
        previous["items"] = copy.deepcopy(subscription["items"])
        current = {item["id"]: item for item in subscription["items"]["data"]}
        for index, spec in enumerate(p.items(params, "items")):
            item_id = p.text(spec, "id")
            if item_id is None:
                new = _item(account, subscription_id, spec, index, now)
                first = subscription["items"]["data"][0] if subscription["items"]["data"] else None
                if first:
                    new["current_period_start"], new["current_period_end"] = (
                        first["current_period_start"],
                        first["current_period_end"],
                    )
                subscription["items"]["data"].append(new)
                changes.append((None, new))
                continue
            item = current.get(item_id)
            if item is None:
                raise StripeError(
                    400, f"No such subscription item: '{item_id}'", code="resource_missing", param=f"items[{index}][id]"
                )
            old = copy.deepcopy(item)
            if p.boolean(spec, "deleted"):
                subscription["items"]["data"] = [x for x in subscription["items"]["data"] if x["id"] != item_id]
                changes.append((old, None))
                continue
            if "price" in spec:
                price = account.store.get("price", p.text(spec, "price"), f"items[{index}][price]")
                if price["currency"] != subscription["currency"]:
                    raise StripeError(
                        400, "All prices on a subscription must have the same currency.", param=f"items[{index}][price]"
                    )
                item["price"] = copy.deepcopy(price)
            if "quantity" in spec and item["price"]["recurring"]["usage_type"] == "licensed":
                item["quantity"] = p.integer(spec, "quantity", minimum=0)
            if "metadata" in spec:
                item["metadata"] = p.metadata(item["metadata"], spec)
            changes.append((old, item))
        if not subscription["items"]["data"]:
            raise StripeError(400, "A subscription needs at least one item.", param="items")
    for key in ("description", "default_payment_method"):
        if key in params:
            previous[key], subscription[key] = subscription[key], p.text(params, key)
    if "cancel_at_period_end" in params:
        previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
        subscription["cancel_at_period_end"] = p.boolean(params, "cancel_at_period_end")
    if "metadata" in params:
        previous["metadata"] = subscription["metadata"]
        subscription["metadata"] = p.metadata(subscription["metadata"], params)
    if behavior != "none" and changes:
        _prorate(account, subscription, changes, now, invoice_now=behavior == "always_invoice")
    account.store.touched("subscription")
    account.emit("customer.subscription.updated", subscription, previous)
    return subscription


def _prorate(
    account: Account, subscription: dict[str, Any], changes: list[Any], now: int, *, invoice_now: bool
) -> None:
    """Pending invoice items for the unused and the remaining time of each change."""
    for old, new in changes:
        for item, sign, label in ((old, -1, "Unused time on"), (new, 1, "Remaining time on")):
            if item is None or item["quantity"] is None:
                continue
            start, end = item["current_period_start"], item["current_period_end"]
            fraction = max(0.0, min(1.0, (end - now) / max(1, end - start)))
            amount = sign * round(_amount(item) * fraction)
            if amount == 0:
                continue
            product = account.store.objects["product"].get(item["price"]["product"], {})
            when = dt.datetime.fromtimestamp(now, dt.UTC)
            account.store.add(
                "invoiceitem",
                {
                    "id": new_id("invoiceitem"),
                    "object": "invoiceitem",
                    "amount": amount,
                    "currency": subscription["currency"],
                    "customer": subscription["customer"],
                    "date": now,
                    "invoice": None,
                    "livemode": False,
                    "metadata": {},
                    "description": f"{label} {item['quantity']} × {product.get('name', 'item')} after {when:%d %b %Y}",
                    "period": {"start": now, "end": end},
                    "proration": True,
                    "quantity": item["quantity"],
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": item["price"]["id"], "product": item["price"]["product"]},
                    },
                    "subscription": subscription["id"],
                },
                count=False,
            )
    if invoice_now:
        customer = account.store.objects["customer"][subscription["customer"]]
        invoice = inv.new_invoice(
            account,
            customer,
            subscription["currency"],
            subscription=subscription["id"],
            collection_method=subscription["collection_method"],
            days_until_due=subscription["days_until_due"],
            billing_reason="subscription_update",
        )
        inv.attach_pending_items(account, invoice, subscription["id"])
        account.store.add("invoice", invoice, count=False)
        account.emit("invoice.created", invoice)
        inv.finalize(account, invoice)
        subscription["latest_invoice"] = invoice["id"]


def cancel_subscription(account: Account, subscription_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /v1/subscriptions/{id}``; cancelling a canceled subscription answers it unchanged."""
    p.check_known(params, ("invoice_now", "prorate", "cancellation_details"))
    subscription = account.store.get("subscription", subscription_id)
    if subscription["status"] == "canceled":
        return subscription
    now = account.now()
    if p.boolean(params, "prorate"):
        changes = [(item, None) for item in subscription["items"]["data"]]
        _prorate(account, subscription, changes, now, invoice_now=p.boolean(params, "invoice_now"))
    previous = {"status": subscription["status"], "canceled_at": None, "ended_at": None}
    subscription["status"], subscription["canceled_at"], subscription["ended_at"] = "canceled", now, now
    details = p.mapping(params, "cancellation_details")
    subscription["cancellation_details"] = {
        "comment": details.get("comment"),
        "feedback": details.get("feedback"),
        "reason": "cancellation_requested",
    }
    account.store.touched("subscription")
    account.emit("customer.subscription.updated", subscription, previous)
    account.emit("customer.subscription.deleted", subscription)
    return subscription


def list_subscriptions(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/subscriptions`` (``customer``, ``price``, ``status``; canceled ones only when asked)."""
    p.check_known(
        params,
        ("limit", "starting_after", "ending_before", "customer", "price", "status", "created", "collection_method"),
    )
    customer, price = p.text(params, "customer"), p.text(params, "price")
    status = p.choice(
        params,
        "status",
        ("active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "trialing", "paused", "all"),
    )

    def keep(x: dict[str, Any]) -> bool:
        wanted = (status in (None, "all") and x["status"] != "canceled") or status == "all" or x["status"] == status
        return (
            wanted
            and (customer is None or x["customer"] == customer)
            and (price is None or any(i["price"]["id"] == price for i in x["items"]["data"]))
        )

    return page(account.store, "subscription", "/v1/subscriptions", params, keep)
