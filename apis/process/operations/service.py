"""The operations view of every process workflow: transactions, lineage, exceptions, repair.

Replay, compensate and dismiss act on **exceptions** only (``needs_attention``, ``failed``,
``held``): anything else answers 409, so a running or completed transaction can't be
disturbed. Each action is added to the transaction's lineage with the operator's client id
(the gateway's audit log records the request as well).
"""

from __future__ import annotations

from typing import Any

from apis.process.runtime import ProcessRuntime
from apis.process.transactions import (
    ACCEPTED,
    DISMISSED,
    EXCEPTION_STATES,
    Transaction,
    TransactionFilter,
)
from apis.process.views import TransactionDetail, TransactionView, transaction_detail, transaction_view
from core.cursors import Keyset
from core.errors import Conflict, InvalidInput, NotFound


class OperationsService:
    """Reads and repairs over the transaction store and the workflow engine."""

    def __init__(self, process: ProcessRuntime) -> None:
        self.process = process

    async def list_transactions(
        self, where: TransactionFilter, *, limit: int, position: Keyset | None
    ) -> tuple[list[TransactionView], Keyset | None]:
        """Transactions matching ``where``, newest first, and the next page's position."""
        self._check_workflow(where.workflow)
        items, next_position = await self.process.transactions.page(where, limit=limit, position=position)
        return [transaction_view(t) for t in items], next_position

    async def list_exceptions(
        self, where: TransactionFilter, *, limit: int, position: Keyset | None
    ) -> tuple[list[TransactionView], Keyset | None]:
        """Transactions in an exception state (``where.states`` narrows them further)."""
        states = tuple(s for s in where.states if s in EXCEPTION_STATES) if where.states else EXCEPTION_STATES
        return await self.list_transactions(
            TransactionFilter(
                workflow=where.workflow,
                states=states,
                customer_id=where.customer_id,
                owner_system=where.owner_system,
                created_after=where.created_after,
                created_before=where.created_before,
            ),
            limit=limit,
            position=position,
        )

    async def detail(self, transaction_id: str) -> TransactionDetail:
        """One transaction with every step, vendor record, event and operator action."""
        transaction = await self._get(transaction_id)
        process = self.process
        steps = await process.engine.steps(transaction.id)
        compensation = await process.engine.steps(compensation_id(transaction.id))
        spec = process.workflows.get(transaction.workflow)
        systems = spec.step_systems(process.erp_system) if spec else {}
        status = await process.engine.status(transaction.id)
        return transaction_detail(
            transaction,
            steps + compensation,
            await process.transactions.lineage(transaction.id),
            await process.transactions.events(transaction.id),
            systems,
            status.executor_id if status else None,
        )

    async def replay(
        self, transaction_id: str, *, actor: str, from_step: str | None, corrected: dict[str, Any] | None
    ) -> TransactionView:
        """Run a stopped transaction again from ``from_step`` (default: the step that failed; with
        corrected input, ``validate``: the plan is rebuilt from it)."""
        # The request is checked (422) before the transaction's state (409).
        transaction = await self._get(transaction_id)
        spec = self.process.workflows[transaction.workflow]
        overrides = spec.check_overrides(corrected) if corrected is not None else None
        start = from_step or ("validate" if overrides is not None else transaction.failed_step)
        if start is not None and start not in spec.step_systems(self.process.erp_system):
            raise InvalidInput(
                f"{transaction.workflow} has no step {start!r}",
                field_errors=[{"in": "body", "pointer": "/from_step", "detail": "not a step of this workflow"}],
            )
        transaction = await self._exception(transaction_id)
        if overrides is not None:
            await self.process.transactions.set_overrides(
                transaction.id, {**(transaction.overrides or {}), **overrides}
            )
        if not await self.process.transactions.set_state(transaction.id, ACCEPTED, only_from=EXCEPTION_STATES):
            raise Conflict(f"Transaction {transaction.id} changed meanwhile; read it again")
        # The engine's rewind replaces the step history from ``start`` on: keep what stopped it here.
        detail = f"from {start}" + (f" with {sorted(overrides)}" if overrides else "")
        detail += f"; was {transaction.state}: {transaction.reason_code}: {transaction.reason or ''}"
        await self.process.transactions.record_action(transaction.id, actor=actor, action="replay", detail=detail)
        try:
            await self.process.engine.replay(transaction.id, start)
        except LookupError:
            # The step never ran (it failed before the engine recorded it): run it all again.
            await self.process.engine.replay(transaction.id, None)
        return transaction_view(await self._get(transaction.id))

    async def compensate(self, transaction_id: str, *, actor: str, reason: str) -> TransactionView:
        """Start undoing what the transaction did (reverse order; see the workflow's compensation)."""
        transaction = await self._exception(transaction_id)
        spec = self.process.workflows[transaction.workflow]
        if spec.compensate is None:
            raise Conflict(f"{transaction.workflow} transactions cannot be compensated")
        await self.process.transactions.record_action(transaction.id, actor=actor, action="compensate", detail=reason)
        await self.process.engine.start_once(
            spec.compensate, compensation_id(transaction.id), compensation_id(transaction.id), transaction.id
        )
        return transaction_view(await self._get(transaction.id))

    async def dismiss(self, transaction_id: str, *, actor: str, reason: str) -> TransactionView:
        """Close the exception without completing it."""
        transaction = await self._exception(transaction_id)
        if not await self.process.transactions.set_state(transaction.id, DISMISSED, only_from=EXCEPTION_STATES):
            raise Conflict(f"Transaction {transaction.id} changed meanwhile; read it again")
        await self.process.transactions.record_action(transaction.id, actor=actor, action="dismiss", detail=reason)
        return transaction_view(await self._get(transaction.id))

    async def _get(self, transaction_id: str) -> Transaction:
        transaction = await self.process.transactions.get(transaction_id)
        if transaction is None:
            raise NotFound(f"No transaction {transaction_id}")
        return transaction

    async def _exception(self, transaction_id: str) -> Transaction:
        transaction = await self._get(transaction_id)
        if transaction.state not in EXCEPTION_STATES:
            raise Conflict(
                f"Transaction {transaction.id} is {transaction.state}; only exceptions "
                f"({', '.join(EXCEPTION_STATES)}) can be replayed, compensated or dismissed"
            )
        return transaction

    def _check_workflow(self, workflow: str | None) -> None:
        if workflow is not None and workflow not in self.process.workflows:
            raise InvalidInput(
                f"No workflow {workflow!r}",
                field_errors=[
                    {"in": "query", "pointer": "/workflow", "detail": f"one of {', '.join(self.process.workflows)}"}
                ],
            )


def compensation_id(transaction_id: str) -> str:
    """Workflow id of the compensation of a transaction."""
    return f"{transaction_id}-compensation"
