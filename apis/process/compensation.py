"""What every workflow's compensation shares: cancelling an ERP order, and recording the outcome.

A compensation undoes a stopped transaction's vendor records, newest first, and ends it
``compensated`` with ``strata.transaction.compensated`` naming what was undone and what was kept
(and why). Quote-to-cash and subscription changes both cancel ERP sales orders and both record the
outcome the same way; each keeps its own order of undoing.
"""

from __future__ import annotations

from apis.canonical import SalesOrderCancel
from apis.process.runtime import runtime
from apis.process.transactions import COMPENSATED, transaction_event
from core.errors import Conflict, NotFound


async def cancel_sales_order(transaction_id: str, order_id: str) -> str | None:
    """Cancel the ERP order: None when it is cancelled (or the ERP no longer has it), else the
    ERP's reason for refusing (the order stays, ``kept``)."""
    cancel = SalesOrderCancel(reason=f"Strata compensation of {transaction_id}")
    try:
        await runtime().erp.cancel_sales_order(order_id, cancel)
    except Conflict as refused:
        return refused.detail
    except NotFound:
        # Gone already: Business Central's cancel deletes the order, so a re-run of this step after
        # a crash between the delete and the step's checkpoint finds nothing, which is the goal.
        return None
    return None


async def record_compensation(
    transaction_id: str, workflow: str, source: str, undone: list[dict[str, str]], kept: list[dict[str, str]]
) -> None:
    """End the transaction ``compensated``, with the event naming what was undone and what was kept."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    assert transaction is not None
    event = transaction_event(
        "strata.transaction.compensated",
        transaction_id,
        "compensation",
        subject=transaction_id,
        source=source,
        data={
            "transaction_id": transaction_id,
            "workflow": workflow,
            "business_key": transaction.business_key,
            "undone": undone,
            "kept": kept,
        },
    )
    await process.transactions.advance(transaction_id, COMPENSATED, step="compensation", events=[event])
