"""View models of the operations dashboard: what the operations console draws, section by section.

Every section is named after what it answers (``states``, ``throughput``, ``exception_aging``,
``sla``, ``vendors``, ``rate_limit_denials``, ``reconciliation``); instants are RFC 3339 UTC,
durations are seconds.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """The time range the windowed sections cover."""

    hours: int
    start: dt.datetime
    """``end`` minus ``hours``."""
    end: dt.datetime
    """When the answer was computed."""
    bucket_seconds: int
    """Width of each throughput bucket (900 up to 6 hours, 3600 up to 48, 21600 beyond)."""


class WorkflowStates(msgspec.Struct, frozen=True, kw_only=True):
    """How many transactions of one workflow are in each business state now."""

    workflow: str
    counts: dict[str, int]
    """Every business state, zeros included."""
    total: int


class FlowCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Transactions started and completed in one bucket."""

    started: int
    """Accepted (created) in the bucket."""
    completed: int
    """Reached ``completed`` in the bucket."""


class ThroughputBucket(msgspec.Struct, frozen=True, kw_only=True):
    """One bucket of the throughput chart: totals and the same per workflow."""

    start: dt.datetime
    end: dt.datetime
    started: int
    completed: int
    by_workflow: dict[str, FlowCounts]
    """Every registered workflow, zeros included."""


class AgingBuckets(msgspec.Struct, frozen=True, kw_only=True):
    """Open exceptions by how long ago they parked."""

    under_1h: int
    from_1h_to_4h: int
    from_4h_to_24h: int
    over_24h: int


class WorkflowAging(msgspec.Struct, frozen=True, kw_only=True):
    """Open exceptions of one workflow by age."""

    workflow: str
    buckets: AgingBuckets
    total: int


class ExceptionAging(msgspec.Struct, frozen=True, kw_only=True):
    """Open exceptions (``needs_attention``, ``failed``, ``held``) by age, in total and per workflow."""

    buckets: AgingBuckets
    total: int
    workflows: list[WorkflowAging]


class WorkflowSla(msgspec.Struct, frozen=True, kw_only=True):
    """One workflow's end-to-end time (accepted → completed) in the window against its target."""

    workflow: str
    target_seconds: int
    completed: int
    """Transactions that completed in the window."""
    p95_seconds: float | None
    """95th percentile (nearest rank) of their end-to-end seconds; ``None`` when none completed."""
    met: bool | None
    """``p95_seconds <= target_seconds``; ``None`` when none completed."""


class VendorHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One vendor's circuit breaker as this gateway process sees it."""

    vendor: str
    health: str
    """``healthy`` (closed, no recent outage), ``degraded`` (closed with outages counting up, or
    half-open: a trial call is allowed), ``down`` (open: calls fail fast)."""
    circuit: str
    """``closed``, ``half_open`` or ``open``."""
    since: dt.datetime
    """When the circuit entered its state (the process start, if it never changed)."""
    consecutive_failures: int
    retry_in_seconds: float
    """Seconds until an open circuit lets a trial call through; 0 otherwise."""


class ClientDenials(msgspec.Struct, frozen=True, kw_only=True):
    """Rate-limit denials of one client in the window."""

    client_id: str
    name: str | None
    """The client's name, ``None`` if it was deleted since."""
    denials: int


class RateLimitDenials(msgspec.Struct, frozen=True, kw_only=True):
    """Rate-limit denials (429) in the window: the total and the clients with the most."""

    total: int
    clients: list[ClientDenials]


class ReconciliationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The latest reconciliation run."""

    id: str
    period: str
    trigger: str
    status: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    mismatch_count: int | None
    by_kind: dict[str, int]
    """Mismatches per kind (empty while the run is in flight or when it failed)."""


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    """The whole operations dashboard in one answer."""

    window: Window
    states: list[WorkflowStates]
    throughput: list[ThroughputBucket]
    exception_aging: ExceptionAging
    sla: list[WorkflowSla]
    vendors: list[VendorHealth]
    rate_limit_denials: RateLimitDenials
    reconciliation: ReconciliationSummary | None
