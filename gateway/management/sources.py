"""What the management API reads: its routes' one dependency, built by the composition root.

The objects the lifespan starts (the client admin over the OAuth client store, the audit log and
its queries, the governance reloader) and the two views shared with the operations experience
API (:mod:`policies.usage`), bound to the running app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.audit import AuditLog
from core.audit_query import AuditQuery
from gateway.governance_reload import GovernanceReloader
from gateway.management.client_admin import ClientAdmin
from gateway.vendor_checks import VendorCheckCache
from policies.governance import Governance
from policies.oauth.clients import ClientRecord


@dataclass(frozen=True, slots=True)
class ManagementSources:
    """The sources of ``/gateway/v1``."""

    admin: ClientAdmin
    """Clients: the same service the CLI uses."""
    audit_log: AuditLog
    """Where a write's continuation records go (a grant note longer than one record)."""
    audit_query: AuditQuery
    issuer: str
    """This gateway's own issuer (the grant rule compares principals against it)."""
    governance_reloader: GovernanceReloader
    governance: Callable[[], Governance]
    """The governance document in force now (a reload replaces it)."""
    catalogue: Callable[[], list[dict[str, Any]]]
    """Every API version served (:func:`policies.usage.catalogue` of this app)."""
    client_usage: Callable[[ClientRecord], Awaitable[dict[str, Any]]]
    """A client's usage today (:func:`policies.usage.client_usage` of this app)."""
    vendor_checks: VendorCheckCache
    """The preflight against the vendors, run at most every few minutes (:mod:`gateway.vendor_checks`)."""
