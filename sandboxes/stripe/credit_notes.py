"""Credit notes: pre-payment on open invoices (lowering what is due), post-payment on paid ones."""

from __future__ import annotations

from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError, invalid
from sandboxes.stripe.invoices import mark_paid, recompute, state_error
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

CREDIT_NOTE_REASONS = ("duplicate", "fraudulent", "order_change", "product_unsatisfactory")


def create_credit_note(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/credit_notes`` on an open (pre-payment) or paid (post-payment) invoice."""
    p.check_known(
        params,
        (
            "invoice",
            "amount",
            "lines",
            "reason",
            "memo",
            "metadata",
            "credit_amount",
            "refund_amount",
            "out_of_band_amount",
        ),
    )
    invoice = account.store.get("invoice", p.text(params, "invoice", need=True), "invoice")
    if invoice["status"] not in ("open", "paid"):
        raise state_error("You can only create a credit note on an open or paid invoice.", "invoice_not_editable")
    reason = p.choice(params, "reason", CREDIT_NOTE_REASONS)
    lines_in = p.items(params, "lines")
    lines, total = [], 0
    for index, line in enumerate(lines_in):
        kind = p.choice(line, "type", ("invoice_line_item", "custom_line_item"))
        if kind == "custom_line_item":
            quantity = p.integer(line, "quantity", minimum=1, default=1) or 1
            unit = p.integer(line, "unit_amount", need=True, minimum=0) or 0
            amount, description = unit * quantity, p.text(line, "description") or ""
        else:
            target = p.text(line, "invoice_line_item", need=True)
            source = next((x for x in invoice["lines"]["data"] if x["id"] == target), None)
            if source is None:
                raise invalid(
                    f"lines[{index}][invoice_line_item]", f"No such invoice line item: '{target}'", "resource_missing"
                )
            amount = p.integer(line, "amount", minimum=0) or source["amount"]
            description = source["description"]
        total += amount
        lines.append(
            {
                "id": new_id("credit_note_line_item"),
                "object": "credit_note_line_item",
                "amount": amount,
                "description": description,
                "type": kind or "invoice_line_item",
            }
        )
    if not lines:
        total = p.integer(params, "amount", minimum=1, need=True) or 0
        lines.append(
            {
                "id": new_id("credit_note_line_item"),
                "object": "credit_note_line_item",
                "amount": total,
                "description": p.text(params, "memo") or "Credit",
                "type": "custom_line_item",
            }
        )
    credited = sum(
        c["amount"]
        for c in account.store.objects["credit_note"].values()
        if c["invoice"] == invoice["id"] and c["status"] == "issued"
    )
    if total <= 0 or total + credited > invoice["total"]:
        raise StripeError(
            400,
            f"The credit note amount ({total}) exceeds what can still be credited ({invoice['total'] - credited}).",
            code="credit_note_amount_too_large" if total > 0 else "amount_too_small",
            param="amount",
        )
    pre = invoice["status"] == "open"
    count = sum(1 for c in account.store.objects["credit_note"].values() if c["invoice"] == invoice["id"]) + 1
    note = {
        "id": new_id("credit_note"),
        "object": "credit_note",
        "amount": total,
        "created": account.now(),
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "invoice": invoice["id"],
        "lines": {"object": "list", "data": lines, "has_more": False, "url": ""},
        "livemode": False,
        "memo": p.text(params, "memo"),
        "metadata": p.metadata({}, params),
        "number": f"{invoice['number']}-CN-{count:02d}",
        "reason": reason,
        "status": "issued",
        "subtotal": total,
        "total": total,
        "type": "pre_payment" if pre else "post_payment",
        "voided_at": None,
    }
    note["lines"]["url"] = f"/v1/credit_notes/{note['id']}/lines"
    if pre:
        invoice["pre_payment_credit_notes_amount"] += total
        recompute(invoice)
        if invoice["amount_remaining"] == 0:
            mark_paid(account, invoice, amount=0)
    else:
        invoice["post_payment_credit_notes_amount"] += total
    account.store.add("credit_note", note)
    account.emit("credit_note.created", note)
    return note


def void_credit_note(account: Account, note_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/credit_notes/{id}/void``."""
    p.check_known(params, ())
    note = account.store.get("credit_note", note_id)
    if note["status"] == "void":
        raise state_error("This credit note is already voided.", "credit_note_already_voided")
    invoice = account.store.objects["invoice"][note["invoice"]]
    if note["type"] == "pre_payment":
        if invoice["status"] != "open":
            raise state_error("You can only void a pre-payment credit note while its invoice is open.")
        invoice["pre_payment_credit_notes_amount"] -= note["amount"]
        recompute(invoice)
    else:
        invoice["post_payment_credit_notes_amount"] -= note["amount"]
    note["status"], note["voided_at"] = "void", account.now()
    account.store.touched("credit_note")
    account.emit("credit_note.voided", note)
    return note


def list_credit_notes(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/credit_notes`` (``invoice``, ``customer``)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "invoice", "customer", "created"))
    invoice, customer = p.text(params, "invoice"), p.text(params, "customer")
    return page(
        account.store,
        "credit_note",
        "/v1/credit_notes",
        params,
        lambda x: (invoice is None or x["invoice"] == invoice) and (customer is None or x["customer"] == customer),
    )
