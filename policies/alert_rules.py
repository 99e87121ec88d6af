"""Business alert rules: the ``alerts`` section of the governance file.

Each rule watches one business signal read from the database every process shares
(:mod:`apis.process.alerts.signals`) and raises one alert per subject it finds (a workflow, a
vendor, a reconciliation period, a partner)::

    alerts:
      evaluate_every_seconds: 60
      repeat_every_minutes: 60
      rules:
        - {name: order-sla, kind: workflow_sla, workflow: quote-to-cash, for_minutes: 15}
        - {name: stale-exceptions, kind: exception_age, older_than_hours: 24}
        - {name: books-disagree, kind: reconciliation_mismatch}
        - {name: vendor-down, kind: circuit_open, for_minutes: 10}
        - {name: partner-webhooks-dead, kind: webhook_dead_letter}

An alert is *pending* while its condition has held less than ``for_minutes``, *firing* after
(``strata.alert.fired``, again every ``repeat_every_minutes`` while it lasts) and *resolved*
once the condition no longer holds (``strata.alert.resolved``). Where alerts go besides the
event stream is a secret setting, not part of this file (``alert_webhook_url``).
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from core import cadence

AlertSeverity = Literal["warning", "critical"]
RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEFAULT_EVALUATE_EVERY_SECONDS = 60
ALLOWED_EVALUATE_EVERY = "10, 12, 15, 20, 30, 60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800 and 3600"
"""The evaluation periods a cron can fire on their boundaries (:mod:`core.cadence`), within 10..3600."""
DEFAULT_REPEAT_EVERY_MINUTES = 60.0


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind"):
    name: str
    """Unique among the rules, ``[a-z0-9-]``: names the alert in events and the operations API."""
    severity: AlertSeverity = "warning"
    for_minutes: float = 0.0
    """How long the condition must hold before the alert fires (0: at the first evaluation that sees it)."""
    repeat_every_minutes: float | None = None
    """Repeat interval of this rule's firing alerts (the section's ``repeat_every_minutes`` when unset)."""
    description: str = ""

    def __post_init__(self) -> None:
        if not RULE_NAME.match(self.name):
            raise ValueError(f"alerts.rules: name {self.name!r} is not like 'order-sla' ([a-z0-9-], 63 at most)")
        if self.for_minutes < 0:
            raise ValueError(f"alerts.rules.{self.name}.for_minutes: must not be negative")
        if self.repeat_every_minutes is not None and self.repeat_every_minutes <= 0:
            raise ValueError(f"alerts.rules.{self.name}.repeat_every_minutes: must be positive")


class WorkflowSlaRule(_Rule, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="workflow_sla"):
    """A workflow's p95 end-to-end time, over the transactions completed in the last
    ``window_minutes``, above its SLA target (the ``workflow_sla_seconds`` setting, the same
    target the operations dashboard shows); ``for_minutes`` long."""

    workflow: str | None = None
    """One workflow (``quote-to-cash``); every workflow, each its own alert, when unset."""
    window_minutes: float = 60.0
    min_completed: int = 1
    """Completions in the window below which no p95 is judged (one slow order of two is no trend)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window_minutes <= 0 or self.min_completed < 1:
            raise ValueError(f"alerts.rules.{self.name}: window_minutes must be positive and min_completed at least 1")


class ExceptionAgeRule(_Rule, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="exception_age"):
    """Exceptions (needs_attention, failed, held) waiting for an operator longer than ``older_than_hours``."""

    older_than_hours: float
    workflow: str | None = None
    """Only this workflow's exceptions; all when unset (one alert for all)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.older_than_hours <= 0:
            raise ValueError(f"alerts.rules.{self.name}.older_than_hours: must be positive")


class ReconciliationMismatchRule(
    _Rule, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="reconciliation_mismatch"
):
    """The latest completed reconciliation run of a period found mismatches (one alert per period);
    resolved by a later run of the period that finds none."""

    within_days: float = 45.0
    """Periods whose latest completed run is older than this are no longer watched."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.within_days <= 0:
            raise ValueError(f"alerts.rules.{self.name}.within_days: must be positive")


class CircuitOpenRule(_Rule, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="circuit_open"):
    """A vendor's circuit not closed (open or half-open) in some gateway process for ``for_minutes``.

    Breakers live in each process's memory; every process reports its breakers' states to the
    database at each evaluation tick, and the rule reads the fresh reports.
    """

    vendor: str | None = None
    """One vendor (its peer name, e.g. ``netsuite``); every vendor when unset."""


class WebhookDeadLetterRule(_Rule, frozen=True, forbid_unknown_fields=True, kw_only=True, tag="webhook_dead_letter"):
    """Partner webhook deliveries given up on (``dead``) in the last ``within_hours``, one alert per partner;
    resolved once the partner has none (redelivered, or older than the window)."""

    within_hours: float = 24.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.within_hours <= 0:
            raise ValueError(f"alerts.rules.{self.name}.within_hours: must be positive")


AlertRule = WorkflowSlaRule | ExceptionAgeRule | ReconciliationMismatchRule | CircuitOpenRule | WebhookDeadLetterRule


class AlertsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Business alerts: the rules, how often they are evaluated, where alerts go besides the event stream."""

    evaluate_every_seconds: int = DEFAULT_EVALUATE_EVERY_SECONDS
    """Length of an evaluation period: the rules are evaluated once per period across all processes
    (10..3600, dividing a minute or an hour: :data:`ALLOWED_EVALUATE_EVERY`)."""
    repeat_every_minutes: float = DEFAULT_REPEAT_EVERY_MINUTES
    """A firing alert is announced again this often while it lasts."""
    rules: tuple[AlertRule, ...] = ()

    def __post_init__(self) -> None:
        if not 10 <= self.evaluate_every_seconds <= 3600 or cadence.check_every("", self.evaluate_every_seconds):
            # The engine's scheduler fires each period on its boundary: a cron must say it.
            raise ValueError(f"alerts.evaluate_every_seconds: allowed values are {ALLOWED_EVALUATE_EVERY}")
        if self.repeat_every_minutes <= 0:
            raise ValueError("alerts.repeat_every_minutes: must be positive")
        names = [rule.name for rule in self.rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"alerts.rules: names must be unique; {', '.join(twice)} declared twice")

    def repeat_seconds(self, rule: AlertRule) -> float:
        """How often ``rule``'s firing alerts are repeated, in seconds."""
        minutes = rule.repeat_every_minutes if rule.repeat_every_minutes is not None else self.repeat_every_minutes
        return minutes * 60.0
