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
from typing import Annotated

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from apis.experience.operations.dashboard import dashboard
from apis.experience.operations.data import OperationsData
from apis.system.http import json_response

BASE = "/experience/operations/v1"
Hours = Annotated[int, QueryParameter(ge=1, le=168, description="Window of the windowed sections, in hours.")]


@get("/dashboard", operation_id="getOperationsDashboard")
async def get_dashboard(operations_data: NamedDependency[OperationsData], hours: Hours = 24) -> Response[bytes]:
    """States, throughput, exception aging, SLA, vendors, rate-limit denials and reconciliation."""
    return json_response(await dashboard(operations_data, hours))


@get("/catalogue", operation_id="getOperationsCatalogue")
async def get_catalogue(operations_data: NamedDependency[OperationsData]) -> Response[bytes]:
    """Every API version with lifecycle, owner and docs link; every client with tier and usage today."""
    records = await operations_data.clients.list()
    usages = await asyncio.gather(*(operations_data.client_usage(record) for record in records))
    clients = [
        {"name": record.name, "status": record.status, **usage} for record, usage in zip(records, usages, strict=True)
    ]
    return json_response({"apis": operations_data.catalogue(), "clients": clients})


router = Router(path=BASE, route_handlers=[get_dashboard, get_catalogue])
