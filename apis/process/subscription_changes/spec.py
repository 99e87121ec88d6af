"""The subscription-changes workflow as the operations API and the runtime see it."""

from __future__ import annotations

from apis.process.overrides import overrides_of
from apis.process.spec import WorkflowSpec
from apis.process.subscription_changes.compensation import compensate
from apis.process.subscription_changes.workflow import WORKFLOW, Overrides, step_systems, subscription_change

SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=subscription_change,
    step_systems=step_systems,
    check_overrides=overrides_of(Overrides),
    compensate=compensate,
)
