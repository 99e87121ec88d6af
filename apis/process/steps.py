"""Running a workflow's steps so that a stop is a business exception, not a lost run.

Every process workflow runs its steps through :func:`run_step`. A step that fails for good
parks the transaction in an exception state with the reason an operator needs — the rule
that was broken and the system that owns the fix — and the workflow ends in error, so the
engine keeps the failed step for :meth:`~apis.process.engine.WorkflowEngine.replay`:

* :class:`~core.errors.BusinessRuleViolation` → ``needs_attention`` with its code and owner;
* any other :class:`~core.errors.PermanentError` (the vendor refused our data, a record is
  missing) → ``needs_attention``, owned by the system that refused;
* :class:`~core.errors.RetryableError` still failing after every attempt → ``failed``
  (nothing is wrong with the data: replay once the vendor is back); our own state database out
  of reach that long (:class:`~core.errors.StateUnavailable`) → ``failed`` with ``state_unavailable``;
* anything else is a defect → ``failed`` with ``internal_error`` (details in the log only).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog

from apis.process.engine import step
from apis.process.events import deterministic_event_id, new_event
from apis.process.runtime import runtime
from apis.process.stops import TransactionStopped
from apis.process.transactions import FAILED, NEEDS_ATTENTION
from core.errors import BusinessRuleViolation, PermanentError, RetryableError, StateUnavailable, StrataError

logger = structlog.get_logger("strata.process")
R = TypeVar("R")


async def run_step(
    transaction_id: str,
    name: str,
    system: str | None,
    func: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
) -> R:
    """Run ``func(*args)`` as the checkpointed step ``name``; on a final failure park the
    transaction (see the module docstring) and raise :class:`TransactionStopped`.

    ``system`` is the vendor the step talks to: the owner of a failure that names no other
    (:func:`owner_of`: a vendor error names the system it came from).
    """
    process = runtime()
    try:
        return await step(name, func, *args, retry=process.step_retry)
    except BusinessRuleViolation as error:
        await _stop(transaction_id, name, NEEDS_ATTENTION, error.code, error.detail, error.owner_system)
    except StateUnavailable as error:
        reason = f"the state database still out of reach after {process.step_retry.max_attempts} attempts"
        await _stop(transaction_id, name, FAILED, "state_unavailable", f"{reason}: {error.detail}", None)
    except RetryableError as error:
        owner = owner_of(error, system)
        reason = f"{owner or 'a vendor'} still failing after {process.step_retry.max_attempts} attempts: {error.detail}"
        await _stop(transaction_id, name, FAILED, "vendor_unavailable", reason, owner)
    except PermanentError as error:
        code = type(error).__name__
        await _stop(transaction_id, name, NEEDS_ATTENTION, _snake(code), error.detail, owner_of(error, system))
    except StrataError as error:  # pragma: no cover - every StrataError is retryable or permanent
        await _stop(transaction_id, name, FAILED, "internal_error", error.detail, system)
    except Exception:
        logger.exception("workflow step failed unexpectedly", transaction_id=transaction_id, step=name)
        await _stop(transaction_id, name, FAILED, "internal_error", "an unexpected error; see the gateway log", None)
    raise AssertionError("unreachable")  # pragma: no cover - _stop raises


async def _stop(transaction_id: str, step_name: str, state: str, code: str, reason: str, owner: str | None) -> None:
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    event = None
    if transaction is not None:
        event = new_event(
            "strata.transaction.needs_attention",
            # One event per stop of this step; a replay that stops again at the same step says so again
            # only if the reason changed.
            event_id=deterministic_event_id(
                transaction_id, f"{step_name}:{code}", "strata.transaction.needs_attention"
            ),
            subject=transaction_id,
            source=f"/strata/process/{transaction.workflow}",
            correlation_id=transaction.correlation_id,
            data={
                "transaction_id": transaction_id,
                "workflow": transaction.workflow,
                "business_key": transaction.business_key,
                "reason_code": code,
                "reason": reason[:1000],
                "owner_system": owner,
                "failed_step": step_name,
            },
        )
    await process.transactions.stop(
        transaction_id,
        state,
        reason_code=code,
        reason=reason,
        owner_system=owner,
        failed_step=step_name,
        events=[event] if event is not None else [],
    )
    raise TransactionStopped(transaction_id, step_name, code)


def owner_of(error: Exception, default: str | None) -> str | None:
    """The system an error came from: the one the connector kit marked it with
    (:attr:`core.errors.StrataError.system`), else the step's own system. A step such as
    ``validate`` reads several systems, so the step alone would blame the wrong one."""
    system = getattr(error, "system", None)
    return system if isinstance(system, str) and system else default


def _snake(name: str) -> str:
    out = [f"_{c.lower()}" if c.isupper() else c for c in name]
    return "".join(out).lstrip("_")
