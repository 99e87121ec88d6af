"""What the API catalogue and per-client usage look like: shared by the management API
(``/gateway/v1``) and the operations experience API (``/experience/operations/v1``).

Both read the app as it runs: the route table bound from the contracts, the rate-limit policy's
backend (memory or Redis) and the audit log, so the two APIs can't disagree about a client's
usage or an API's lifecycle.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from core.audit_query import AuditQuery
from policies.context import Principal
from policies.oauth.clients import ClientRecord
from policies.rate_limit import RateLimitPolicy
from policies.routes import ApiVersion, CompiledRoute

DAY = 86400


def _instant(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def api_view(api: ApiVersion, routes: list[CompiledRoute]) -> dict[str, Any]:
    """One API version of the catalogue: lifecycle, owner, links (docs, contract) and operations."""
    lifecycle = api.lifecycle
    docs = f"/docs/{api.api_id}"
    return {
        "api_id": api.api_id,
        "layer": api.layer,
        "name": api.name,
        "version": api.version,
        "title": api.title,
        "owner": api.owner or None,
        "base_path": api.base_path,
        "lifecycle": {
            "state": lifecycle.state,
            "deprecated_at": _instant(lifecycle.deprecated_at),
            "sunset_at": _instant(lifecycle.sunset_at),
            "successor": lifecycle.successor,
        },
        "links": {"docs": docs, "contract": f"{docs}/openapi.yaml"},
        "operations": [
            {
                "operation_id": route.operation_id,
                "method": route.method,
                "path": route.path_template,
                "scopes": [sorted(alternative) for alternative in route.security],
                "idempotency": route.idempotency,
                "rate_cost": route.rate_cost,
            }
            for route in routes
            if route.api is api
        ],
    }


def catalogue(app_state: Any) -> list[dict[str, Any]]:
    """Every API version the app serves (none when it runs ungoverned)."""
    table = app_state.route_table
    if table is None:
        return []
    return [api_view(api, table.routes) for api in table.apis]


async def client_usage(app_state: Any, record: ClientRecord) -> dict[str, Any]:
    """A client's limits with what is left in the current windows, units admitted today (UTC)
    and today's denials per policy, without consuming anything."""
    policy = app_state.chain.policy(RateLimitPolicy)
    principal = Principal(
        subject=record.client_id,
        client_id=record.client_id,
        issuer=app_state.settings.issuer,
        oauth_scopes=frozenset(),
        tier=record.tier,
    )
    admission = await policy.usage(principal)
    *windows, today = admission.states
    day_start = int(time.time() // DAY) * DAY
    audit: AuditQuery = app_state.audit_query
    return {
        "client_id": record.client_id,
        "tier": record.tier,
        "limits": [
            {
                "name": state.limit.name,
                "quota": state.limit.amount,
                "window_seconds": state.limit.window,
                "used": state.limit.amount - state.remaining,
                "remaining": state.remaining,
                "resets_in_seconds": state.reset_after,
            }
            for state in windows
        ],
        "today": {
            "date": dt.datetime.fromtimestamp(day_start, dt.UTC).date().isoformat(),
            "units_admitted": today.limit.amount - today.remaining,
            "denials_by_policy": await audit.denials_by_policy(record.client_id, day_start),
        },
    }
