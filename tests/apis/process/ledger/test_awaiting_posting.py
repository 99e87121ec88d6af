"""A payment Business Central records but will not post: held "awaiting posting", reported, replayed.

Posting a cash-receipt batch through ``journals(<id>)/Microsoft.NAV.post`` is unverified against a
live tenant; when BC refuses it, the payment stays recorded in the ERP. The transaction is held
with reason ``awaiting_posting`` (the operations API shows it), reconciliation reports the payment
as ``payment_not_posted_in_erp``, and a replay posts it once BC accepts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from apis.process.operations.service import OperationsService
from apis.process.runtime import runtime
from sandboxes.business_central import BusinessCentralSandbox
from tests.apis.process.ledger.conftest import Ledger, running_ledger
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished

pytestmark = pytest.mark.asyncio(loop_scope="module")
ERP = "business-central"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ledger(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ledger]:
    """The ledger fixture's gateway, with Business Central as the ERP."""
    async with running_ledger(tmp_path_factory.mktemp("awaiting"), erp_vendor=ERP) as ledger:
        yield ledger


async def test_a_payment_bc_will_not_post_is_held_reported_and_posted_on_replay(ledger: Ledger) -> None:
    bc: BusinessCentralSandbox = ledger.gw.app.state.components.sandbox_apps[ERP].built
    made = await ledger.sold("Awaiting Posting BV")
    invoice = await ledger.finalize(made["invoice_id"])
    posted = await ledger.settled((await ledger.transaction_of("invoice-to-ledger", invoice.id)).id)
    assert posted["state"] == "completed", posted

    bc.post_payment_batches = False
    await ledger.pay(made["invoice_id"])
    txn = await ledger.transaction_of("payment-to-cash", f"{made['invoice_id']}:paid")
    held = await ledger.settled(txn.id)  # read through the operations API
    assert held["state"] == "held", held
    assert held["exception"]["reason_code"] == "awaiting_posting"
    assert held["exception"]["owner_system"] == ERP and "awaiting posting" in held["exception"]["reason"]
    [payment_id] = [r["id"] for s in held["steps"] for r in s["records"] if r["object"] == "customer_payment"]
    assert (await ledger.gw.app.state.erp.get_customer_payment(payment_id)).posted is False

    headers = await ledger.gw.bearer(SCOPES)
    period = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    started = await ledger.gw.client.post(RUNS, json={"period": period}, headers=headers)
    assert started.status_code == 202, started.text
    report = await finished(ledger.gw, started.headers["Location"], headers)
    unposted = [m for m in report["mismatches"] if m["kind"] == "payment_not_posted_in_erp"]
    assert [m["erp_ids"] for m in unposted] == [[payment_id]]

    bc.post_payment_batches = True
    await OperationsService(runtime()).replay(txn.id, actor="finance-operator", from_step=None, corrected=None)
    done = await ledger.settled(txn.id, not_state="held")
    assert done["state"] == "completed", done
    payment = await ledger.gw.app.state.erp.get_customer_payment(payment_id)
    assert payment.posted is True
    assert (await ledger.gw.app.state.erp.get_invoice(posted_invoice(posted))).status == "paid"


def posted_invoice(transaction: dict[str, object]) -> str:
    steps = transaction["steps"]
    assert isinstance(steps, list)
    return next(r["id"] for s in steps for r in s["records"] if r["object"] == "invoice" and r["system"] == ERP)
