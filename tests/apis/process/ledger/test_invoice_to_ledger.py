"""Invoice-to-ledger end to end: a finalized billing invoice is taxed and posted to the ERP."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from apis.process.ledger.inbox import consume_once
from apis.process.operations.service import OperationsService
from apis.process.runtime import runtime
from apis.process.transactions import TransactionFilter
from tests.apis.process.ledger.conftest import Ledger

pytestmark = pytest.mark.asyncio(loop_scope="module")
WORKFLOW = "invoice-to-ledger"


async def test_a_finalized_invoice_is_posted_with_mapped_lines_entity_and_committed_tax(ledger: Ledger) -> None:
    sold = await ledger.sold("Ledger Posting Inc", "STRATA-CORE", "STRATA-ERP-CONNECTOR")
    invoice = await ledger.finalize(sold["invoice_id"])
    assert invoice.number is not None
    txn = await ledger.transaction_of(WORKFLOW, invoice.id)
    done = await ledger.settled(txn.id)
    assert done["state"] == "completed", done
    assert [s["name"] for s in done["steps"]] == [
        "validate",
        "await_posting_window",
        "commit_tax",
        "post_invoice",
        "record_posting",
    ]

    state = ledger.gw.app.state
    erp_customer = (await state.erp.search_customers(external_id=sold["account_id"], limit=1)).items[0]
    records = {(r["system"], r["object"]): r["id"] for s in done["steps"] for r in s["records"]}
    erp_invoice = await state.erp.get_invoice(records[("netsuite", "invoice")])
    assert erp_invoice.external_id == invoice.id
    assert erp_invoice.customer_id == erp_customer.id
    assert erp_invoice.legal_entity_id == erp_customer.legal_entity_id is not None
    assert erp_invoice.date == invoice.finalized_at.astimezone(dt.UTC).date()  # type: ignore[union-attr]
    assert Decimal(erp_invoice.total.amount) == Decimal(invoice.total.amount)
    items = {line.item_id for line in erp_invoice.lines}
    expected = {
        (await state.erp.list_items(code=code, limit=1)).items[0].id for code in ("STRATA-CORE", "STRATA-ERP-CONNECTOR")
    }
    assert items == expected

    # The tax vendor recorded the invoice under its number, committed.
    tax = await state.tax.get_transaction("STRATA-US", invoice.number)
    assert tax.status == "committed"
    assert Decimal(tax.total_amount.amount) == Decimal(invoice.total.amount)

    # The xref links the billing invoice to the ERP one; the event carries both and the tax.
    canonical = await runtime().xref.canonical_id("invoice", "stripe", invoice.id)
    assert canonical is not None
    assert await runtime().xref.vendor_id("invoice", canonical, "netsuite") == erp_invoice.id
    assert [e["type"] for e in done["events"]] == ["strata.invoice.posted"]
    [posted] = await runtime().transactions.events(txn.id)
    assert posted.subject == invoice.id
    assert posted.data["erp_invoice_id"] == erp_invoice.id
    assert posted.data["tax_total"] == {"amount": tax.total_tax.amount, "currency": tax.total_tax.currency}
    assert posted.data["legal_entity_id"] == erp_customer.legal_entity_id


async def test_an_invoice_dated_in_a_closed_period_is_held_then_replayed_into_an_open_one(ledger: Ledger) -> None:
    sold = await ledger.sold("Closed Books GmbH")
    invoice = await ledger.finalize_in_closed_period(sold["invoice_id"])
    txn = await ledger.transaction_of(WORKFLOW, invoice.id)
    held = await ledger.settled(txn.id)
    assert held["state"] == "held", held
    assert held["exception"]["reason_code"] == "period_closed"
    assert held["exception"]["owner_system"] == "netsuite"
    assert "2024-03-15" in held["exception"]["reason"]
    state = ledger.gw.app.state
    assert not [
        r for s in held["steps"] for r in s["records"] if r["object"] == "invoice" and r["system"] == "netsuite"
    ]
    # Nothing was written before the hold: no tax recorded under the invoice number.
    assert "commit_tax" not in [s["name"] for s in held["steps"]]

    today = dt.datetime.now(dt.UTC).date().isoformat()
    # Through the operations service: the operations contract's ReplayRequest.input does not list
    # posting_date yet, so the HTTP edge refuses it (422) before the service sees it.
    replayed = await OperationsService(runtime()).replay(
        txn.id, actor="finance-operator", from_step=None, corrected={"posting_date": today}
    )
    assert replayed.state == "accepted"
    done = await ledger.settled(txn.id, not_state="held")
    assert done["state"] == "completed", done
    assert done["overrides"] == {"posting_date": today}
    erp_id = next(r["id"] for s in done["steps"] for r in s["records"] if r["system"] == "netsuite")
    erp_invoice = await state.erp.get_invoice(erp_id)
    assert erp_invoice.date.isoformat() == today
    assert erp_invoice.external_id == invoice.id
    assert "was held: period_closed" in done["actions"][0]["detail"]


async def test_a_redelivered_or_repeated_event_starts_one_workflow_and_posts_once(ledger: Ledger) -> None:
    sold = await ledger.sold("Redelivered Ltd")
    invoice = await ledger.finalize(sold["invoice_id"])
    txn = await ledger.transaction_of(WORKFLOW, invoice.id)
    done = await ledger.settled(txn.id)
    assert done["state"] == "completed", done
    assert ledger.sandbox is not None
    webhooks = ledger.sandbox.webhooks
    [event] = [
        e
        for e in ledger.sandbox.store.objects["event"].values()
        if e["type"] == "invoice.finalized" and e["data"]["object"]["id"] == invoice.id
    ]
    # Stripe redelivers the same event, and (rarely) announces the same object in a second event.
    webhooks.submit(event)
    webhooks.submit({**event, "id": f"{event['id']}x"})
    await webhooks.drain()
    # Several consumers at once (as several processes poll): the background job and three more.
    await asyncio.gather(*(consume_once(runtime()) for _ in range(3)))
    inbox = runtime().payments
    deadline = asyncio.get_running_loop().time() + 3
    while await inbox.unprocessed_events():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    assert webhooks.status(event["id"])["delivered"] and webhooks.status(f"{event['id']}x")["delivered"]
    again = await ledger.transaction(txn.id)
    assert again["steps"] == done["steps"] and again["state"] == "completed"
    transactions, _ = await runtime().transactions.page(TransactionFilter(workflow=WORKFLOW), limit=200)
    assert [t.id for t in transactions if t.business_key == invoice.id] == [txn.id]
    erp_customer = (await ledger.gw.app.state.erp.search_customers(external_id=sold["account_id"], limit=1)).items[0]
    erp_invoices = (await ledger.gw.app.state.erp.list_invoices(customer_id=erp_customer.id, limit=50)).items
    assert [i.external_id for i in erp_invoices] == [invoice.id]


async def test_an_invoice_of_a_customer_the_erp_does_not_know_needs_attention(ledger: Ledger) -> None:
    state = ledger.gw.app.state
    [price] = (await state.billing.list_prices(lookup_key="STRATA-CORE-usd", limit=1)).items
    customer = await ledger.stripe("/v1/customers", name="Billing Only Co", **{"address[country]": "US"})
    await ledger.stripe("/v1/invoiceitems", customer=customer["id"], price=price.id, quantity="2")
    draft = await ledger.stripe(
        "/v1/invoices",
        customer=customer["id"],
        collection_method="send_invoice",
        days_until_due="30",
        pending_invoice_items_behavior="include",
    )
    invoice = await ledger.finalize(draft["id"])
    stopped = await ledger.settled((await ledger.transaction_of(WORKFLOW, invoice.id)).id)
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["reason_code"] == "customer_unmapped"
    assert stopped["exception"]["owner_system"] == "stripe"
    assert stopped["exception"]["failed_step"] == "validate"
    assert customer["id"] in stopped["exception"]["reason"]
    assert [e["type"] for e in stopped["events"]] == ["strata.transaction.needs_attention"]
