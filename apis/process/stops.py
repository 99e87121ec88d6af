"""How a workflow stops for a business reason, and why the engine's log is not told so.

:func:`apis.process.steps.run_step` raises :class:`TransactionStopped` once it has parked the
transaction in an exception state; the runtime installs :class:`QuietStops` on the engine's
logger. Both sit below the runtime and the steps, which import them.
"""

from __future__ import annotations

import logging


class TransactionStopped(Exception):
    """The workflow stopped at a step; the transaction is in an exception state."""

    def __init__(self, transaction_id: str, step_name: str, reason_code: str) -> None:
        super().__init__(f"{transaction_id} stopped at {step_name}: {reason_code}")
        self.transaction_id = transaction_id
        self.step_name = step_name
        self.reason_code = reason_code

    def __reduce__(self) -> tuple[object, ...]:
        return (TransactionStopped, (self.transaction_id, self.step_name, self.reason_code))


class QuietStops(logging.Filter):
    """Drops the engine's error log of a workflow that ended in :class:`TransactionStopped`:
    that end is a business outcome, already recorded (and logged) as the transaction's
    exception, not an engine failure. Every other engine error is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, TransactionStopped)
