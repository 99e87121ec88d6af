"""Every process workflow, in one list: how it runs, which system each step talks to, how
an operator's corrected input is checked and how what it did is undone.

The operations API (:mod:`apis.process.operations`) works on any workflow through this
table; adding a workflow is writing its module and one :class:`~apis.process.spec.WorkflowSpec`.
The composition root hands :func:`workflow_specs` and :func:`background_jobs` to the runtime;
:func:`process_schedules` lists the engine's scheduled workflows.
"""

from __future__ import annotations

from typing import Any

from apis.process.runtime import BackgroundJob, ProcessRuntime
from apis.process.schedules import Schedules
from apis.process.spec import WorkflowSpec


def workflow_specs() -> dict[str, WorkflowSpec]:
    """Every workflow by name (imports the workflow modules: they register with the engine)."""
    from apis.process.catalog_sync.workflow import SPEC as CATALOG_SYNC
    from apis.process.customer_sync.workflow import SPEC as CUSTOMER_SYNC
    from apis.process.ledger.invoice_to_ledger import SPEC as INVOICE_TO_LEDGER
    from apis.process.ledger.payment_to_cash import SPEC as PAYMENT_TO_CASH
    from apis.process.quote_to_cash.workflow import SPEC as QUOTE_TO_CASH
    from apis.process.subscription_changes.spec import SPEC as SUBSCRIPTION_CHANGES
    from apis.process.usage_to_billing.workflow import SPEC as USAGE_TO_BILLING

    _import_scheduled_workflows()
    return {
        spec.name: spec
        for spec in (
            QUOTE_TO_CASH,
            INVOICE_TO_LEDGER,
            PAYMENT_TO_CASH,
            CUSTOMER_SYNC,
            CATALOG_SYNC,
            USAGE_TO_BILLING,
            SUBSCRIPTION_CHANGES,
        )
    }


def background_jobs() -> list[BackgroundJob]:
    """The background loops of the process layer itself, in every process with the engine.

    The layers above add theirs: the composition root hands both to ``start_runtime(jobs=...)``.
    """
    from apis.process.alerts.signal_metrics import signal_metrics
    from apis.process.event_delivery import deliver_events
    from apis.process.ledger.inbox import stripe_intake
    from apis.process.metrics import transaction_metrics
    from apis.process.schedules import keep_schedules

    return [
        deliver_events,
        transaction_metrics,
        signal_metrics,
        stripe_intake,
        keep_schedules(process_schedules),
    ]


def _import_scheduled_workflows() -> None:
    """Register the scheduled workflows too: a process dequeues any schedule's tick, whatever its settings."""
    import apis.process.alerts.schedule
    import apis.process.customer_sync.schedule
    import apis.process.reconciliation.schedule  # noqa: F401


def process_schedules(process: ProcessRuntime) -> Schedules:
    """The engine's scheduled workflows as the settings ask for them (``None``: off)."""
    from apis.process.customer_sync.schedule import NAME as CUSTOMER_SYNC
    from apis.process.customer_sync.schedule import customer_sync_schedule
    from apis.process.reconciliation.schedule import NAME as RECONCILIATION
    from apis.process.reconciliation.schedule import daily_schedule

    return {
        RECONCILIATION: daily_schedule(process.settings.reconciliation_schedule_hour),
        CUSTOMER_SYNC: customer_sync_schedule(process.settings),
    }


def process_routers() -> list[Any]:
    """The routers of every process API."""
    from apis.process.catalog_sync.routes import router as catalog_sync
    from apis.process.customer_sync.routes import router as customer_sync
    from apis.process.operations.routes import router as operations
    from apis.process.quote_to_cash.routes import router as quote_to_cash
    from apis.process.reconciliation.routes import router as reconciliation  # registers its workflow too
    from apis.process.subscription_changes.routes import router as subscription_changes
    from apis.process.usage_to_billing.routes import router as usage_to_billing

    return [
        quote_to_cash,
        operations,
        reconciliation,
        customer_sync,
        catalog_sync,
        usage_to_billing,
        subscription_changes,
    ]
