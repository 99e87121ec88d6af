"""The running app and the contracts agree route for route.

No route without a contract operation, no operation without a route — outside the explicit
list of uncontracted prefixes (OAuth, well-known documents, docs, metrics, health,
sandboxes, console) kept in ``gateway.routing.UNCONTRACTED_PREFIXES``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import UngovernedRouteError, create_app
from gateway.contracts.loader import discover
from gateway.routing import UNCONTRACTED_PREFIXES
from tests.support.harness import gateway_settings


def test_every_route_has_an_operation_and_every_operation_a_route(tmp_path: Path) -> None:
    app = create_app(gateway_settings(tmp_path))
    table = app.state.route_table
    assert table.handlers_without_operation == []
    assert table.operations_without_handler == []
    served = {route.api.api_id for route in table.routes}
    assert served == {contract.api_id for contract in discover(app.state.settings.contracts_path)}


def test_the_exemptions_are_only_protocol_docs_and_operations_routes() -> None:
    assert UNCONTRACTED_PREFIXES == (
        "/oauth/",
        "/.well-known/",
        "/docs",
        "/metrics",
        "/health/",
        "/sandbox/",
        "/console",
    )


def test_an_uncontracted_route_stops_start_up(tmp_path: Path) -> None:
    from litestar import get

    @get("/system/crm/v1/secret-backdoor")
    async def backdoor() -> dict[str, str]:
        return {}

    with pytest.raises(UngovernedRouteError) as raised:
        create_app(gateway_settings(tmp_path), extra_route_handlers=[backdoor])
    assert raised.value.routes == ["GET /system/crm/v1/secret-backdoor"]
