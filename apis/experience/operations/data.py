"""What the operations experience API reads: its one dependency, built by the composition root.

The dashboard reads the shared tables (transactions, audit log, reconciliation runs) and this
process's circuit breakers; the catalogue reads the clients and the two views it shares with the
management API (:mod:`policies.usage`), bound to the running app by the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from apis.system.kit.circuit_breaker import CircuitBreaker
from core.audit_query import AuditQuery
from policies.oauth.clients import ClientRecord, ClientStore


@dataclass(frozen=True, slots=True)
class OperationsData:
    """The sources of ``/experience/operations/v1``."""

    engine: AsyncEngine
    """The state database (transactions, reconciliation runs)."""
    audit_query: AuditQuery
    clients: ClientStore
    circuit_breakers: Mapping[str, CircuitBreaker]
    """This process's breakers by vendor."""
    sla_seconds: Callable[[str], int]
    """A workflow's end-to-end target (:meth:`core.settings.Settings.sla_seconds`)."""
    catalogue: Callable[[], list[dict[str, Any]]]
    """Every API version served (:func:`policies.usage.catalogue` of this app)."""
    client_usage: Callable[[ClientRecord], Awaitable[dict[str, Any]]]
    """A client's usage today (:func:`policies.usage.client_usage` of this app)."""
