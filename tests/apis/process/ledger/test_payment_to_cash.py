"""Payment-to-cash end to end: a paid invoice is applied in the ERP and the CRM learns it; refunds
and credit notes become ERP credit memos."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from apis.process.operations.service import OperationsService
from apis.process.runtime import runtime
from apis.process.xref import new_canonical_id
from tests.apis.process.ledger.conftest import Ledger

pytestmark = pytest.mark.asyncio(loop_scope="module")
PAYMENT_TO_CASH = "payment-to-cash"


async def posted(ledger: Ledger, name: str, **sold: Any) -> dict[str, Any]:
    """A deal sold, its first invoice finalized and posted: ``sold`` plus ``invoice`` and ``erp_invoice_id``."""
    made = await ledger.sold(name, **sold)
    invoice = await ledger.finalize(made["invoice_id"])
    done = await ledger.settled((await ledger.transaction_of("invoice-to-ledger", invoice.id)).id)
    assert done["state"] == "completed", done
    erp_invoice_id = next(
        r["id"] for s in done["steps"] for r in s["records"] if r["object"] == "invoice" and r["system"] == "netsuite"
    )
    return {**made, "invoice": invoice, "erp_invoice_id": erp_invoice_id}


def records(transaction: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["system"], r["object"]): r["id"] for s in transaction["steps"] for r in s["records"]}


async def test_a_paid_invoice_is_applied_to_its_erp_invoice_and_marked_paid_in_the_crm(ledger: Ledger) -> None:
    strata_id = new_canonical_id("customer")
    made = await posted(ledger, "Cash Applied AG", strata_id=strata_id)
    paid = await ledger.pay(made["invoice_id"])
    assert paid["status"] == "paid"
    txn = await ledger.transaction_of(PAYMENT_TO_CASH, f"{made['invoice_id']}:paid")
    done = await ledger.settled(txn.id)
    assert done["state"] == "completed", done
    assert [s["name"] for s in done["steps"]] == [
        "validate",
        "find_erp_invoice",
        "apply_payment",
        "update_crm",
        "record_payment",
    ]

    state = ledger.gw.app.state
    payment = await state.erp.get_customer_payment(records(done)[("netsuite", "customer_payment")])
    amount = Decimal(made["invoice"].total.amount)
    assert Decimal(payment.amount.amount) == amount
    assert [(a.invoice_id, Decimal(a.amount)) for a in payment.applications] == [(made["erp_invoice_id"], amount)]
    erp_invoice = await state.erp.get_invoice(made["erp_invoice_id"])
    assert erp_invoice.status == "paid" and Decimal(erp_invoice.amount_due.amount) == 0
    assert payment.customer_id == erp_invoice.customer_id

    opportunity = await state.crm.get_opportunity(made["opportunity_id"])
    assert opportunity.billing_status == "paid"
    assert opportunity.invoice_number == made["invoice"].number
    account = await state.crm.get_account(made["account_id"])
    assert account.billing_status == "active"
    assert account.external_id == strata_id and account.billing_address is not None  # the rest is kept

    assert [e["type"] for e in done["events"]] == ["strata.payment.applied"]
    [event] = await runtime().transactions.events(txn.id)
    assert event.data["erp_payment_id"] == payment.id
    assert event.data["opportunity_id"] == made["opportunity_id"]
    assert event.data["amount"] == {"amount": payment.amount.amount, "currency": "USD"}


async def test_a_refund_and_a_credit_note_become_credit_memos_against_the_erp_invoice(ledger: Ledger) -> None:
    made = await posted(ledger, "Credited Ventures SL")
    paid = await ledger.pay(made["invoice_id"])
    payment = await ledger.settled((await ledger.transaction_of(PAYMENT_TO_CASH, f"{made['invoice_id']}:paid")).id)
    assert payment["state"] == "completed", payment
    [intent_id] = [p["payment"]["payment_intent"] for p in paid["payments"]["data"]]
    state = ledger.gw.app.state

    refund = await ledger.stripe("/v1/refunds", payment_intent=intent_id, amount="25000")  # 250.00 of it
    assert ledger.sandbox is not None
    charge = ledger.sandbox.store.objects["charge"][refund["charge"]]
    refunded = await ledger.settled(
        (await ledger.transaction_of(PAYMENT_TO_CASH, f"{charge['id']}:refunded:{charge['amount_refunded']}")).id
    )
    assert refunded["state"] == "completed", refunded
    assert [s["name"] for s in refunded["steps"]] == [
        "validate",
        "find_erp_invoice",
        "create_credit_memo",
        "record_credit_memo",
    ]
    memo = await state.erp.get_credit_memo(records(refunded)[("netsuite", "credit_memo")])
    assert memo.external_id == refund["id"]
    assert memo.invoice_id == made["erp_invoice_id"]
    assert Decimal(memo.total.amount) == Decimal("250.00")

    note = await ledger.stripe("/v1/credit_notes", invoice=made["invoice_id"], amount="10000", reason="order_change")
    credited = await ledger.settled((await ledger.transaction_of(PAYMENT_TO_CASH, f"{note['id']}:credit_note")).id)
    assert credited["state"] == "completed", credited
    note_memo = await state.erp.get_credit_memo(records(credited)[("netsuite", "credit_memo")])
    assert note_memo.external_id == note["id"] and note_memo.invoice_id == made["erp_invoice_id"]
    assert Decimal(note_memo.total.amount) == Decimal("100.00")

    events = [
        *await runtime().transactions.events(refunded["id"]),
        *await runtime().transactions.events(credited["id"]),
    ]
    assert [(e.type, e.data["source"], e.data["erp_credit_memo_id"]) for e in events] == [
        ("strata.credit_memo.issued", "refund", memo.id),
        ("strata.credit_memo.issued", "credit_note", note_memo.id),
    ]


async def test_a_payment_of_an_invoice_not_posted_yet_waits_then_replays_once_it_is(ledger: Ledger) -> None:
    made = await ledger.sold("Early Payer Pty")
    invoice = await ledger.finalize_in_closed_period(made["invoice_id"])
    posting = await ledger.settled((await ledger.transaction_of("invoice-to-ledger", invoice.id)).id)
    assert posting["state"] == "held", posting
    await ledger.pay(made["invoice_id"])
    txn = await ledger.transaction_of(PAYMENT_TO_CASH, f"{made['invoice_id']}:paid")
    waited = await ledger.settled(txn.id)
    # Retried with durable backoff while the invoice was not posted, then parked for a replay.
    assert waited["state"] == "failed", waited
    assert waited["exception"]["failed_step"] == "find_erp_invoice"
    assert "not posted to the ERP yet" in waited["exception"]["reason"]
    [find] = [s for s in waited["steps"] if s["name"] == "find_erp_invoice"]
    assert find["attempts"] == 3  # FAST_PROCESS_SETTINGS: three attempts

    today = dt.datetime.now(dt.UTC).date().isoformat()
    await OperationsService(runtime()).replay(
        posting["id"], actor="finance", from_step=None, corrected={"posting_date": today}
    )
    assert (await ledger.settled(posting["id"], not_state="held"))["state"] == "completed"
    response = await ledger.gw.client.post(
        f"/process/operations/v1/exceptions/{txn.id}/replay", json={}, headers=ledger.operator
    )
    assert response.status_code == 202, response.text
    done = await ledger.settled(txn.id, not_state="failed")
    assert done["state"] == "completed", done
    payment = await ledger.gw.app.state.erp.get_customer_payment(records(done)[("netsuite", "customer_payment")])
    erp_invoice_id = records(await ledger.transaction(posting["id"]))[("netsuite", "invoice")]
    assert [a.invoice_id for a in payment.applications] == [erp_invoice_id]
