"""Invoices, invoice items and credit notes."""

from __future__ import annotations

from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

INVOICE_PARAMS = (
    "customer",
    "subscription",
    "collection_method",
    "days_until_due",
    "description",
    "metadata",
    "pending_invoice_items_behavior",
    "auto_advance",
    "currency",
    "due_date",
)
DAY = 86400


def state_error(message: str, code: str = "invoice_not_editable") -> StripeError:
    """A 400 for an object in the wrong state (see the package docstring on codes)."""
    return StripeError(400, message, code=code)


def line_for(
    account: Account,
    *,
    amount: int,
    currency: str,
    description: str,
    quantity: int | None,
    price: dict[str, Any] | None,
    period: tuple[int, int],
    proration: bool,
    parent: dict[str, Any],
) -> dict[str, Any]:
    """An invoice line in the current API's shape (``pricing.price_details``, ``parent``)."""
    return {
        "id": new_id("line_item"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"start": period[0], "end": period[1]},
        "pricing": (
            {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": price["unit_amount_decimal"],
            }
            if price
            else None
        ),
        "quantity": quantity,
    }


def new_invoice(
    account: Account,
    customer: dict[str, Any],
    currency: str,
    *,
    subscription: str | None = None,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    billing_reason: str = "manual",
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    auto_advance: bool = True,
) -> dict[str, Any]:
    """A draft invoice without lines."""
    now = account.now()
    parent = (
        {"type": "subscription_details", "subscription_details": {"subscription": subscription, "metadata": {}}}
        if subscription
        else None
    )
    invoice = {
        "id": new_id("invoice"),
        "object": "invoice",
        "account_country": "US",
        "amount_due": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "billing_reason": billing_reason,
        "collection_method": collection_method,
        "created": now,
        "currency": currency,
        "customer": customer["id"],
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "description": description,
        # Stripe's invoice has no days_until_due attribute (a create parameter only): the due date
        # is what it keeps.
        "due_date": now + DAY * days_until_due if days_until_due is not None else None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": ""},
        "livemode": False,
        "metadata": metadata or {},
        "number": None,
        "parent": parent,
        "period_end": now,
        "period_start": now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "total": 0,
    }
    invoice["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
    return invoice


def recompute(invoice: dict[str, Any]) -> None:
    """Totals from the lines and the credit notes."""
    subtotal = sum(line["amount"] for line in invoice["lines"]["data"])
    invoice["subtotal"] = invoice["total"] = subtotal
    invoice["amount_due"] = max(0, subtotal - invoice["pre_payment_credit_notes_amount"])
    invoice["amount_remaining"] = max(0, invoice["amount_due"] - invoice["amount_paid"])


def attach_pending_items(account: Account, invoice: dict[str, Any], subscription: str | None = None) -> None:
    """Move the customer's pending invoice items (of one subscription, if given) onto a draft."""
    for item in account.store.newest_first("invoiceitem")[::-1]:
        if item["invoice"] or item["customer"] != invoice["customer"] or item["currency"] != invoice["currency"]:
            continue
        if subscription is not None and item.get("subscription") != subscription:
            continue
        item["invoice"] = invoice["id"]
        price = (
            account.store.objects["price"].get(item["pricing"]["price_details"]["price"])
            if item.get("pricing")
            else None
        )
        invoice["lines"]["data"].append(
            line_for(
                account,
                amount=item["amount"],
                currency=item["currency"],
                description=item["description"] or "",
                quantity=item["quantity"],
                price=price,
                period=(item["period"]["start"], item["period"]["end"]),
                proration=item["proration"],
                parent={
                    "type": "invoice_item_details",
                    "invoice_item_details": {
                        "invoice_item": item["id"],
                        "proration": item["proration"],
                        "subscription": item.get("subscription"),
                    },
                },
            )
        )
    recompute(invoice)


# -- invoices --------------------------------------------------------------------------------
def create_invoice(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/invoices``: a draft; ``pending_invoice_items_behavior=include`` pulls pending items."""
    p.check_known(params, INVOICE_PARAMS)
    customer = account.store.get("customer", p.text(params, "customer", need=True), "customer")
    method = p.choice(
        params, "collection_method", ("charge_automatically", "send_invoice"), default="charge_automatically"
    )
    days = p.integer(params, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None and "due_date" not in params:
        raise StripeError(
            400, "Missing required param: days_until_due.", code="parameter_missing", param="days_until_due"
        )
    behavior = p.choice(params, "pending_invoice_items_behavior", ("include", "exclude"), default="exclude")
    pending = [
        i for i in account.store.objects["invoiceitem"].values() if i["customer"] == customer["id"] and not i["invoice"]
    ]
    invoice_currency = (
        params.get("currency") or (pending[0]["currency"] if pending else customer.get("currency")) or "usd"
    ).lower()
    invoice = new_invoice(
        account,
        customer,
        invoice_currency,
        collection_method=method or "charge_automatically",
        days_until_due=days,
        description=p.text(params, "description"),
        metadata=p.metadata({}, params),
        auto_advance=p.boolean(params, "auto_advance", False),
        subscription=p.text(params, "subscription"),
    )
    if behavior == "include":
        attach_pending_items(account, invoice)
    account.store.add("invoice", invoice)
    account.emit("invoice.created", invoice)
    return invoice


def list_invoices(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/invoices`` (``customer``, ``subscription``, ``status``, ``collection_method``)."""
    p.check_known(
        params,
        (
            "limit",
            "starting_after",
            "ending_before",
            "customer",
            "subscription",
            "status",
            "collection_method",
            "created",
            "due_date",
        ),
    )
    customer, subscription = p.text(params, "customer"), p.text(params, "subscription")
    status = p.choice(params, "status", ("draft", "open", "paid", "uncollectible", "void"))

    def keep(x: dict[str, Any]) -> bool:
        sub = (x.get("parent") or {}).get("subscription_details", {}).get("subscription")
        return (
            (customer is None or x["customer"] == customer)
            and (subscription is None or sub == subscription)
            and (status is None or x["status"] == status)
        )

    return page(account.store, "invoice", "/v1/invoices", params, keep)


def finalize_invoice(account: Account, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/finalize``: draft → open (paid when nothing is due)."""
    p.check_known(params, ("auto_advance",))
    invoice = account.store.get("invoice", invoice_id)
    if invoice["status"] != "draft":
        raise state_error("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    finalize(account, invoice)
    account.store.touched("invoice")
    return invoice


def finalize(account: Account, invoice: dict[str, Any]) -> None:
    """Number, due date and hosted URL; emits ``invoice.finalized`` (and ``invoice.paid`` for 0)."""
    now = account.now()
    customer = account.store.objects["customer"].get(invoice["customer"], {})
    recompute(invoice)
    invoice["number"] = account.store.next_invoice_number(invoice["customer"], customer.get("invoice_prefix") or "INV")
    invoice["status"] = "open"
    invoice["status_transitions"]["finalized_at"] = now
    if invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
        invoice["due_date"] = now + DAY * 30
    invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_sandbox/test_{invoice['id']}"
    invoice["invoice_pdf"] = f"https://pay.stripe.com/invoice/acct_sandbox/test_{invoice['id']}/pdf"
    account.emit("invoice.finalized", invoice)
    if invoice["amount_remaining"] == 0:
        mark_paid(account, invoice)


def mark_paid(account: Account, invoice: dict[str, Any], amount: int | None = None) -> None:
    """Open → paid; emits ``invoice.paid``."""
    paid = invoice["amount_remaining"] if amount is None else amount
    invoice["amount_paid"] += paid
    invoice["amount_remaining"] = 0
    invoice["attempted"] = True
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = account.now()
    account.emit("invoice.paid", invoice)


def void_invoice(account: Account, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/void``: open or uncollectible → void."""
    p.check_known(params, ())
    invoice = account.store.get("invoice", invoice_id)
    if invoice["status"] not in ("open", "uncollectible"):
        raise state_error(f"You can only void open or uncollectible invoices; this one is {invoice['status']}.")
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = account.now()
    account.store.touched("invoice")
    account.emit("invoice.voided", invoice)
    return invoice


def pay_invoice(account: Account, invoice_id: str, params: dict[str, Any], charge: Any) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/pay``: ``paid_out_of_band=true``, or charge a payment method."""
    p.check_known(params, ("paid_out_of_band", "payment_method", "source", "off_session", "forgive"))
    invoice = account.store.get("invoice", invoice_id)
    if invoice["status"] == "paid":
        raise state_error("Invoice is already paid", "invoice_already_paid")
    if invoice["status"] != "open":
        raise state_error(f"You can only pay open invoices; this one is {invoice['status']}.")
    if p.boolean(params, "paid_out_of_band"):
        mark_paid(account, invoice, amount=0)
    else:
        customer = account.store.objects["customer"].get(invoice["customer"], {})
        method = p.text(params, "payment_method") or (customer.get("invoice_settings") or {}).get(
            "default_payment_method"
        )
        if not method:
            raise StripeError(
                400, "This customer has no attached payment source or default payment method.", code="missing"
            )
        charge(invoice, method)
        mark_paid(account, invoice)
    account.store.touched("invoice")
    return invoice


# -- invoice items ---------------------------------------------------------------------------
def create_invoice_item(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/invoiceitems``: a pending item, or a line on a draft invoice."""
    p.check_known(
        params,
        (
            "customer",
            "amount",
            "currency",
            "description",
            "quantity",
            "pricing",
            "price",
            "invoice",
            "subscription",
            "metadata",
            "period",
        ),
    )
    customer = account.store.get("customer", p.text(params, "customer", need=True), "customer")
    price_id = p.text(params, "price") or p.mapping(params, "pricing").get("price")
    quantity = p.integer(params, "quantity", minimum=1, default=1)
    assert quantity is not None
    price = account.store.get("price", price_id, "pricing[price]") if price_id else None
    if price is not None:
        amount, item_currency = int(price["unit_amount"] or 0) * quantity, price["currency"]
    else:
        amount = p.integer(params, "amount", need=True) or 0
        item_currency = (p.text(params, "currency", need=True) or "").lower()
    now = account.now()
    item = {
        "id": new_id("invoiceitem"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": item_currency,
        "customer": customer["id"],
        "date": now,
        "description": p.text(params, "description"),
        "invoice": None,
        "livemode": False,
        "metadata": p.metadata({}, params),
        "period": {"start": now, "end": now},
        "proration": False,
        "quantity": quantity,
        "pricing": {"type": "price_details", "price_details": {"price": price["id"], "product": price["product"]}}
        if price
        else None,
        "subscription": p.text(params, "subscription"),
    }
    account.store.add("invoiceitem", item)
    invoice_id = p.text(params, "invoice")
    if invoice_id:
        invoice = account.store.get("invoice", invoice_id, "invoice")
        if invoice["status"] != "draft":
            raise state_error("You can only add invoice items to draft invoices.")
        attach_pending_items(account, invoice)
    return item
