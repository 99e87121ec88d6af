"""Audit and metrics (policy 12): who/what/when/outcome, latency and denials. Never blocks.

Metrics (Prometheus, per process):

* ``strata_requests_total{api, version, route, method, status}`` and
  ``strata_request_duration_seconds{api, version, route}`` (histogram), kept lock-free
  by :mod:`policies.request_metrics`;
* ``strata_policy_denials_total{policy, status}`` and, for shadow-mode policies,
  ``strata_policy_shadow_denials_total{policy}``.

Audit: every mutating call and every denial, with client, partner, route template,
status, request id and time; reads that succeed are counted, not audited.

Logs: one INFO line per denial and one WARNING line per 5xx (``strata.requests``), with the
route template, never the query string; nothing for requests that succeed.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import structlog
from prometheus_client import Counter

from core.audit import AuditLog, AuditRecord
from core.personal_data import scrub_text
from policies.base import CompletionHookNow, Policy
from policies.context import Denial, RequestContext
from policies.pii import REVEALED_STATE_KEY
from policies.request_metrics import REQUEST_METRICS, RequestMetrics

logger = structlog.get_logger("strata.requests")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

DENIALS = Counter("strata_policy_denials_total", "Requests denied, by the policy that denied", ["policy", "status"])
SHADOW_DENIALS = Counter(
    "strata_policy_shadow_denials_total", "Denials a shadow-mode policy would have made", ["policy"]
)


def _outcome(ctx: RequestContext, status: int) -> str:
    if ctx.denied is not None:
        return "denied"
    if ctx.state.get("replayed"):
        return "replayed"
    return "error" if status >= 500 else "allowed"


AUDIT_NOTE_KEY = "audit_note"
"""``ctx.state`` key where a handler says what it changed (e.g. ``disabled client cli_…``)."""


def _reason(ctx: RequestContext, denial: Denial | None) -> str | None:
    if denial is not None:
        # A detail may quote the caller's input (a query value): no e-mail address is kept.
        return scrub_text(str(ctx.state.get("auth_failure") or denial.detail))[:300]
    notes = [str(note) for note in (ctx.state.get(AUDIT_NOTE_KEY),) if note]
    revealed = ctx.state.get(REVEALED_STATE_KEY)
    if revealed:
        # The kinds only, never a value: the record says that and to whom, not what.
        notes.append(f"personal data revealed: {', '.join(revealed)}")
    return "; ".join(notes)[:300] if notes else None


class ObservePolicy(Policy):
    """Record metrics for every governed request and audit what must be audited."""

    name: ClassVar[str] = "observe"

    def __init__(self, audit: AuditLog | None, metrics: RequestMetrics = REQUEST_METRICS) -> None:
        self.audit = audit
        self.metrics = metrics

    async def on_complete(self, ctx: RequestContext, status: int) -> None:
        """See :meth:`on_complete_now` (no I/O: the pipeline calls that one)."""
        self.on_complete_now(ctx, status)

    def completion_hook_now(self) -> CompletionHookNow:
        """:meth:`on_complete_now`: this hook does no I/O."""
        return self.on_complete_now

    def on_complete_now(self, ctx: RequestContext, status: int) -> None:
        route = ctx.route
        api = route.api
        elapsed = time.perf_counter() - ctx.started_at
        self.metrics.record(route, status, elapsed)
        for policy in ctx.shadow_denials:
            SHADOW_DENIALS.labels(policy).inc()
        denial = ctx.denied
        if denial is not None:
            DENIALS.labels(denial.policy, str(status)).inc()
        if denial is not None or status >= 500:
            self._log(ctx, status, elapsed)
        revealed = ctx.state.get(REVEALED_STATE_KEY)
        if self.audit is None or (denial is None and ctx.method in SAFE_METHODS and status < 500 and not revealed):
            return
        principal = ctx.principal
        self.audit.record(
            AuditRecord(
                at=time.time(),
                request_id=ctx.request_id,
                method=ctx.method,
                route=route.path_template,
                status=status,
                outcome=_outcome(ctx, status),
                client_id=principal.client_id if principal else None,
                partner_id=principal.partner_id if principal else None,
                api=api.api_id,
                policy=denial.policy if denial is not None else ("pii" if revealed else None),
                reason=_reason(ctx, denial),
                source=ctx.source,
                duration_ms=round(elapsed * 1000, 3),
            )
        )

    @staticmethod
    def _log(ctx: RequestContext, status: int, elapsed: float) -> None:
        denial = ctx.denied
        level = logging.WARNING if status >= 500 else logging.INFO
        if not logger.isEnabledFor(level):
            return
        principal = ctx.principal
        fields = {
            "route": ctx.route.label,
            "status": status,
            "client_id": principal.client_id if principal else None,
            "duration_ms": round(elapsed * 1000, 3),
        }
        if denial is not None:
            # The title and the authentication reason are fixed texts; a detail may quote
            # the caller's input (a query value, a body field) and stays in the audit log.
            fields["policy"] = denial.policy
            fields["problem"] = denial.problem
            fields["reason"] = ctx.state.get("auth_failure") or denial.title
        logger.log(level, "request denied" if denial is not None else "request failed", **fields)
