"""Every system API, in one list: its router and how its service is built.

The gateway serves each router and, at start-up, awaits each ``build`` to get the API's
service object, kept as ``app.state.<state_name>``; handlers declare it as a dependency of that
name (:mod:`gateway.dependencies`), and process APIs call it in-process. Services are closed in
reverse order at shutdown.

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


def _erp_router() -> Any:
    from apis.system.erp.routes import router

    return router


async def _erp(components: Components) -> Service:
    # The connector is ERP_VENDORS[settings.erp_vendor]: NetSuite or Business Central.
    from apis.system.erp.service import build_erp_service

    return await build_erp_service(components)


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


def _tax_router() -> Any:
    from apis.system.tax.routes import router

    return router


async def _tax(components: Components) -> Service:
    from apis.system.tax.service import build_tax_service

    return await build_tax_service(
        components.settings,
        sandbox=components.sandbox_apps.get("avalara"),
        tracer=components.tracing.tracer,
        breaker=components.circuit_breaker("avalara"),
    )


def _billing_router() -> Any:
    from apis.system.billing.routes import router

    return router


async def _billing(components: Components) -> Service:
    from apis.system.billing.service import build_billing_service

    return await build_billing_service(
        components.settings,
        sandbox=components.sandbox_apps.get("stripe"),
        tracer=components.tracing.tracer,
        breaker=components.circuit_breaker("stripe"),
    )


def _payments_router() -> Any:
    from apis.system.payments.routes import router

    return router


async def _payments(components: Components) -> Service:
    from apis.system.payments.service import build_payments_service

    return await build_payments_service(
        components.settings,
        components.engine,
        sandbox=components.sandbox_apps.get("stripe"),
        tracer=components.tracing.tracer,
        breaker=components.circuit_breaker("stripe"),
    )


SYSTEM_APIS: tuple[SystemApiSpec, ...] = (
    SystemApiSpec("crm", _crm_router, _crm),
    SystemApiSpec("erp", _erp_router, _erp),
    SystemApiSpec("product", _product_router, _product),
    SystemApiSpec("data", _data_router, _data),
    SystemApiSpec("tax", _tax_router, _tax),
    SystemApiSpec("billing", _billing_router, _billing),
    SystemApiSpec("payments", _payments_router, _payments),
)
"""Every system API the gateway serves."""
