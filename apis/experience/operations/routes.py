"""``/experience/operations/v1``: the data of the operations console (Overview and API catalogue pages).

``GET /dashboard?hours=`` is every chart of the Overview page in one answer (see
:mod:`apis.experience.operations.dashboard`); ``GET /catalogue`` is every API version the
gateway serves with its lifecycle, owner and docs link, and every client with its tier and its
usage against its limits today — the same views as the management API's catalogue and client
usage (:mod:`policies.usage`). Both need ``experience:operations:read``, and neither
needs the workflow engine.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import QueryParameter

from apis.experience.operations.dashboard import dashboard
from apis.system.http import json_response
from policies.usage import catalogue, client_usage

BASE = "/experience/operations/v1"
Hours = Annotated[int, QueryParameter(ge=1, le=168, description="Window of the windowed sections, in hours.")]


@get("/dashboard", operation_id="getOperationsDashboard")
async def get_dashboard(request: Request[Any, Any, Any], hours: Hours = 24) -> Response[bytes]:
    """States, throughput, exception aging, SLA, vendors, rate-limit denials and reconciliation."""
    return json_response(await dashboard(request.app.state, hours))


@get("/catalogue", operation_id="getOperationsCatalogue")
async def get_catalogue(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every API version with lifecycle, owner and docs link; every client with tier and usage today."""
    state = request.app.state
    records = await state.client_admin.store.list()
    usages = await asyncio.gather(*(client_usage(state, record) for record in records))
    clients = [
        {"name": record.name, "status": record.status, **usage} for record, usage in zip(records, usages, strict=True)
    ]
    return json_response({"apis": catalogue(state), "clients": clients})


router = Router(path=BASE, route_handlers=[get_dashboard, get_catalogue])
