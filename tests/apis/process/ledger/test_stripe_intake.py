"""The Stripe intake starts an event's workflow before it answers 2xx: no poller in between.

The module's gateway sweeps its inbox only at start (``inbox_sweep_seconds`` is an hour in
``LEDGER_SETTINGS``), so whatever a test finds right after the 2xx was done by the intake.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
import pytest

from apis.process.runtime import runtime
from sandboxes.stripe.webhooks import sign
from tests.apis.process.ledger.conftest import Ledger
from tests.support.stripe_gateway import WEBHOOK_PATH

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _event(event_type: str, obj: dict[str, Any]) -> tuple[str, bytes]:
    event_id = f"evt_intake{uuid.uuid4().hex[:16]}"
    body = {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()), "data": {"object": obj}}
    return event_id, msgspec.json.encode(body)


async def _deliver(ledger: Ledger, payload: bytes) -> dict[str, Any]:
    secret = ledger.gw.app.state.settings.stripe.webhook_secrets[0]
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)}
    response = await ledger.gw.client.post(WEBHOOK_PATH, content=payload, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_at_the_2xx_the_events_transaction_and_workflow_exist_and_the_event_is_processed(
    ledger: Ledger,
) -> None:
    invoice_id = f"in_intake{uuid.uuid4().hex[:12]}"
    event_id, payload = _event("invoice.finalized", {"id": invoice_id, "object": "invoice"})
    answer = await _deliver(ledger, payload)
    assert answer == {"received": True, "event_id": event_id, "duplicate": False}
    # Nothing awaited since the answer: the intake did this before it.
    transaction = await runtime().transactions.find("invoice-to-ledger", invoice_id)
    assert transaction is not None
    state = await runtime().engine.status(transaction.id)
    assert state is not None and state.name  # the workflow's status row is written
    assert event_id not in {e.id for e in await runtime().payments.unprocessed_events(limit=1000)}


async def test_a_redelivery_and_a_second_event_about_the_object_start_nothing_twice(ledger: Ledger) -> None:
    invoice_id = f"in_intake{uuid.uuid4().hex[:12]}"
    event_id, payload = _event("invoice.paid", {"id": invoice_id, "object": "invoice"})
    await _deliver(ledger, payload)
    first = await runtime().transactions.find("payment-to-cash", f"{invoice_id}:paid")
    assert first is not None
    again = await _deliver(ledger, payload)  # Stripe redelivers the same event
    assert again["duplicate"] is True
    other_id, other = _event("invoice.paid", {"id": invoice_id, "object": "invoice"})  # announced twice
    assert (await _deliver(ledger, other))["duplicate"] is False
    assert other_id != event_id
    found = await runtime().transactions.find("payment-to-cash", f"{invoice_id}:paid")
    assert found is not None and found.id == first.id
    state = await runtime().engine.status(first.id)
    assert state is not None and state.workflow_id == first.id
