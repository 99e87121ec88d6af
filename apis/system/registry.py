"""Every system API, in one list: its router and how its service is built.

The gateway serves each router and, at start-up, awaits each ``build`` to get the API's
service object, which handlers find as ``request.app.state.<state_name>`` (and process APIs
call in-process). Services are closed in reverse order at shutdown.

Adding a system API: write ``apis/system/<domain>/`` (routes, service, connectors/, mapping)
and its contract ``contracts/system/<domain>/v1.yaml``, then add one :class:`SystemApiSpec`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from gateway.components import Components


class Service(Protocol):
    """What the gateway needs of a system API's service: a way to close what it owns."""

    async def aclose(self) -> None:
        """Close the HTTP clients (and anything else) the service owns."""


class SystemApiSpec(NamedTuple):
    """One system API."""

    state_name: str
    """Attribute of ``app.state`` (and of :class:`~gateway.components.Components`) holding the service."""
    router: Callable[[], Any]
    """Returns the API's Litestar router (imported lazily)."""
    build: Callable[[Components], Awaitable[Service]]
    """Builds the service: connector, HTTP client (sandbox transport or network), breaker."""


def _crm_router() -> Any:
    from apis.system.crm.routes import router

    return router


async def _crm(components: Components) -> Service:
    from apis.system.crm.service import build_crm_service

    return await build_crm_service(
        components.settings,
        sandbox=components.sandbox_apps.get("salesforce"),
        tracer=components.tracing.tracer,
        breaker=components.circuit_breaker("salesforce"),
    )


def _product_router() -> Any:
    from apis.system.product.routes import router

    return router


async def _product(components: Components) -> Service:
    from apis.system.product.service import build_product_service

    return await build_product_service(
        components.settings,
        sandbox=components.sandbox_apps.get("product-platform"),
        tracer=components.tracing.tracer,
        breaker=components.circuit_breaker("product-platform"),
    )


def _data_router() -> Any:
    from apis.system.data.routes import router

    return router


async def _data(components: Components) -> Service:
    from apis.system.data.service import build_data_service

    return await build_data_service(components.settings, breaker=components.circuit_breaker("data-platform"))


SYSTEM_APIS: tuple[SystemApiSpec, ...] = (
    SystemApiSpec("crm", _crm_router, _crm),
    SystemApiSpec("product", _product_router, _product),
    SystemApiSpec("data", _data_router, _data),
)
"""Every system API the gateway serves."""
