"""``/process/catalog-sync/v1``: compare the product catalog with billing prices and ERP items.

``POST /runs`` (body ``{}``) answers 202 at once with the transaction (``Location`` is its
operations view); the comparison runs durably in the background. Every request is a new run.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency

from apis.process.catalog_sync.workflow import open_run
from apis.process.http import request_id, running
from apis.process.runtime import ProcessRuntime
from apis.process.views import transaction_view
from apis.system.http import decode_body, json_response


class RunRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A catalog-sync run (no options yet: the whole active catalog is compared)."""


@post("/runs", operation_id="startCatalogSyncRun", status_code=202)
async def start(request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]) -> Response[bytes]:
    """Start a catalog comparison."""
    await decode_body(request, RunRequest, optional=True)
    transaction, created = await open_run(running(process), request_id=request_id(request))
    view = transaction_view(transaction)
    return json_response({"transaction": view, "created": created}, 202, {"Location": view.href})


router = Router(path="/process/catalog-sync/v1", route_handlers=[start])
