"""Holding a transaction: parked on purpose until someone releases it, not failed.

A posting dated in a closed ERP accounting period is not bad data and not a vendor outage:
finance closed the books, and the posting waits until someone decides its date. Such a step
returns :class:`Held` instead of raising (:func:`~apis.process.steps.run_step` would make any
error ``needs_attention``), and the workflow then calls :func:`hold`: the transaction goes to
``held`` with reason ``period_closed``, owned by the ERP, and the workflow ends in error, so
the engine keeps it for :meth:`~apis.process.engine.WorkflowEngine.replay` — from ``validate``
with a corrected ``posting_date``, or as it was once the period is reopened.
"""

from __future__ import annotations

from typing import NoReturn

import msgspec

from apis.process.runtime import runtime
from apis.process.stops import TransactionStopped
from apis.process.transactions import HELD

PERIOD_CLOSED = "period_closed"
AWAITING_POSTING = "awaiting_posting"
"""A payment recorded in the ERP that the ERP would not post yet: replay posts it."""


class Held(msgspec.Struct, frozen=True, kw_only=True):
    """What a step returns instead of posting into a closed period (or when the ERP keeps a
    recorded payment unposted)."""

    reason: str
    """Why, in words (the period and the date)."""
    reason_code: str = PERIOD_CLOSED
    """``period_closed`` or ``awaiting_posting``."""


async def hold(transaction_id: str, step_name: str, held: Held) -> NoReturn:
    """Park the transaction in ``held`` (its reason code, owner the ERP) and stop the workflow."""
    process = runtime()
    await process.transactions.stop(
        transaction_id,
        HELD,
        reason_code=held.reason_code,
        reason=held.reason,
        owner_system=process.erp_system,
        failed_step=step_name,
    )
    raise TransactionStopped(transaction_id, step_name, held.reason_code)
