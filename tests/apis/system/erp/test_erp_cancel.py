"""Cancelling a sales order through the ERP system API, for EVERY vendor in ERP_VENDORS.

Each ERP cancels its own way (Business Central deletes the unposted order, NetSuite closes its
lines, SAP rejects its items, Oracle cancels it in Order Management); what a caller sees is the
same: the order reads back cancelled (or, in Business Central, gone), a repeat answers the same
without a second write, an invoiced order is refused with 409, and faults on the vendor's write
leave exactly one write behind.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.system.erp.conftest import CANCEL_WRITE, ERP, Data, Erp, MakeErp, canonical_data, invoice_body
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")

CANCELLED = ("closed", "void")
"""Canonical statuses of a cancelled order (NetSuite: closed; the others: void)."""


async def _order(erp: Erp, data: Data, external_id: str) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "customer_id": data.customer_id,
        "date": data.open_day.isoformat(),
        "currency": "EUR",
        "lines": [{"item_id": data.item_id, "quantity": "2", "unit_price": "1200.00"}],
    }
    created = await erp.post("/sales-orders", body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def _cancel(erp: Erp, order_id: str, reason: str = "customer withdrew") -> Any:
    return erp.post(f"/sales-orders/{order_id}/cancel", {"reason": reason})


async def _reads_back_cancelled(erp: Erp, cancelled: dict[str, Any]) -> None:
    """The order as the ERP shows it now: gone in Business Central, else with the cancel's status."""
    read = await erp.client.get(f"{ERP}/sales-orders/{cancelled['id']}", headers=erp.reader)
    if erp.vendor == "business-central":  # BC has no cancel: the order was deleted
        assert read.status_code == 404, read.text
        problem(read)
    else:
        assert read.status_code == 200, read.text
        assert read.json()["status"] == cancelled["status"]


async def test_a_cancelled_order_reads_back_cancelled_and_a_repeat_writes_nothing(erp: Erp) -> None:
    data = await canonical_data(erp)
    order = await _order(erp, data, "opp-cancel-1")
    before = await erp.writes()

    cancelled = await _cancel(erp, order["id"])
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["id"], body["external_id"], body["total"]) == (order["id"], "opp-cancel-1", order["total"])
    assert body["status"] in CANCELLED and order["status"] not in CANCELLED
    assert await erp.writes() == before + 1  # one DELETE, PATCH or action: the order has one line
    await _reads_back_cancelled(erp, body)

    again = await _cancel(erp, order["id"], "asked twice")
    assert again.status_code == 200, again.text
    assert again.json() == body
    assert await erp.writes() == before + 1


async def test_cancel_refuses_what_it_cannot_do_with_a_problem(erp: Erp) -> None:
    data = await canonical_data(erp)
    order = await _order(erp, data, "opp-cancel-2")
    for reason, pointer in (("   ", "/reason"), ("x" * 501, "/reason")):
        bad = await _cancel(erp, order["id"], reason)
        assert bad.status_code == 422, bad.text
        assert pointer in bad.text
    unknown = await erp.post("/sales-orders/999999999/cancel", {"reason": "no such order"})
    assert unknown.status_code == 404, unknown.text
    problem(unknown)
    denied = await erp.client.post(
        f"{ERP}/sales-orders/{order['id']}/cancel",
        json={"reason": "reader"},
        headers={**erp.reader, "Idempotency-Key": "cancel-as-reader"},
    )
    assert denied.status_code == 403
    assert 'scope="system:erp:write"' in denied.headers["www-authenticate"]
    keyless = await erp.client.post(
        f"{ERP}/sales-orders/{order['id']}/cancel", json={"reason": "x"}, headers=erp.writer
    )
    assert keyless.status_code == 400 and "Idempotency-Key" in problem(keyless)["detail"], keyless.text

    invoice = await erp.post("/invoices", invoice_body(data, "inv-cancel-2", sales_order_id=order["id"]))
    assert invoice.status_code == 201, invoice.text
    writes = await erp.writes()
    refused = await _cancel(erp, order["id"])
    assert refused.status_code == 409, refused.text
    assert problem(refused)["status"] == 409
    assert await erp.writes() == writes
    invoiced = await erp.client.get(f"{ERP}/sales-orders/{order['id']}", headers=erp.reader)
    assert invoiced.status_code == 200 and invoiced.json()["status"] not in ("open", "void"), invoiced.text


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},  # refused before the write
        {"kind": "lost_response", "status": 503},  # applied, the answer lost
        {"kind": "drop", "after_write": True},  # applied, the connection dropped
    ],
    ids=["before-apply", "lost-answer", "dropped-after-apply"],
)
async def test_a_cancel_under_faults_is_applied_exactly_once(
    make_erp: MakeErp, vendor: str, fault: dict[str, Any]
) -> None:
    async with make_erp() as erp:
        data = await canonical_data(erp)
        order = await _order(erp, data, "opp-cancel-fault")
        before = await erp.writes()
        await erp.faults({**fault, "method": CANCEL_WRITE[vendor], "count": 1})
        try:
            cancelled = await _cancel(erp, order["id"])
        finally:
            await erp.clear_faults()
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] in CANCELLED
        counts = await erp.counts()
        assert sum(counts["faults_injected"].values()) == 1, counts["faults_injected"]
        assert await erp.writes() == before + 1
        await _reads_back_cancelled(erp, cancelled.json())
