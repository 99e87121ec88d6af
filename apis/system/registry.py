"""Every system API, in one list: its router and how its service is built.

The gateway serves each router and, at start-up, awaits each ``build`` to get the API's
service object, kept as ``app.state.<state_name>``; handlers declare it as a dependency of that
name (:mod:`gateway.dependencies`), and process APIs call it in-process. Services are closed in
reverse order at shutdown.

A builder never decides how a vendor is reached: the composition root hands it
:class:`SystemInputs` — the settings, and the :class:`~apis.system.kit.link.VendorLink` of each
vendor by name (``"salesforce"``, ``"netsuite"``, …: the real vendor while its URL is set, else
its sandbox in process) — and the builder passes what its service needs on, explicitly.

Adding a system API: write ``apis/system/<domain>/`` (routes, service, connectors/, mapping,
settings) and its contract ``contracts/system/<domain>/v1.yaml``, then add one
:class:`SystemApiSpec`. A new vendor also needs its settings section in ``gateway/settings.py``
and its link and sandbox in ``gateway/vendors.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from apis.system.erp.vendors import ErpVendorSettings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from apis.system.billing.settings import StripeSettings
    from apis.system.data.settings import DataPlatformSettings
    from apis.system.kit.circuit_breaker import CircuitBreaker
    from apis.system.kit.link import VendorLink


class Service(Protocol):
    """What the gateway needs of a system API's service: a way to close what it owns."""

    async def aclose(self) -> None:
        """Close the HTTP clients (and anything else) the service owns."""


class SystemSettings(ErpVendorSettings, Protocol):
    """The settings the system APIs' builders read (the composition root's full settings fit)."""

    @property
    def stripe(self) -> StripeSettings:
        """Stripe's settings (the payments API's webhook secrets)."""

    @property
    def data(self) -> DataPlatformSettings:
        """Where the data platform lands batches."""


@dataclass(frozen=True, kw_only=True)
class SystemInputs:
    """What the composition root hands every system API's builder."""

    settings: SystemSettings
    """The settings: each vendor's section."""
    link: Callable[[str], Awaitable[VendorLink[Any]]]
    """The link to a vendor, by name (``"stripe"``): client, base URL, credentials, breaker."""
    breaker: Callable[[str], CircuitBreaker]
    """A vendor's circuit breaker, by name, for connectors that reach it without a link (S3)."""
    engine: AsyncEngine
    """The state database (the payments API's event inbox lives in it)."""
    state_path: Path
    """The state directory (the data platform's local lake lives under it)."""


class SystemApiSpec(NamedTuple):
    """One system API."""

    state_name: str
    """Attribute of ``app.state`` (and key of ``Components.system_services``) holding the service."""
    router: Callable[[], Any]
    """Returns the API's Litestar router (imported lazily)."""
    build: Callable[[SystemInputs], Awaitable[Service]]
    """Builds the service from the links and settings the composition root hands over."""


def _crm_router() -> Any:
    from apis.system.crm.routes import router

    return router


async def _crm(inputs: SystemInputs) -> Service:
    from apis.system.crm.service import build_crm_service

    return build_crm_service(await inputs.link("salesforce"))


def _erp_router() -> Any:
    from apis.system.erp.routes import router

    return router


async def _erp(inputs: SystemInputs) -> Service:
    # The connector is ERP_VENDORS[settings.erp.vendor]: NetSuite or Business Central.
    from apis.system.erp.service import build_erp_service
    from apis.system.erp.vendors import ERP_VENDORS

    vendor = inputs.settings.erp.vendor
    return build_erp_service(ERP_VENDORS[vendor](await inputs.link(vendor), inputs.settings))


def _product_router() -> Any:
    from apis.system.product.routes import router

    return router


async def _product(inputs: SystemInputs) -> Service:
    from apis.system.product.service import build_product_service

    return build_product_service(await inputs.link("product-platform"))


def _data_router() -> Any:
    from apis.system.data.routes import router

    return router


async def _data(inputs: SystemInputs) -> Service:
    from apis.system.data.service import build_data_service

    return build_data_service(
        inputs.settings.data, state_path=inputs.state_path, breaker=inputs.breaker("data-platform")
    )


def _tax_router() -> Any:
    from apis.system.tax.routes import router

    return router


async def _tax(inputs: SystemInputs) -> Service:
    from apis.system.tax.service import build_tax_service

    return build_tax_service(await inputs.link("avalara"))


def _billing_router() -> Any:
    from apis.system.billing.routes import router

    return router


async def _billing(inputs: SystemInputs) -> Service:
    from apis.system.billing.service import build_billing_service

    return build_billing_service(await inputs.link("stripe"))


def _payments_router() -> Any:
    from apis.system.payments.routes import router

    return router


async def _payments(inputs: SystemInputs) -> Service:
    from apis.system.payments.service import build_payments_service

    return build_payments_service(await inputs.link("stripe"), inputs.settings.stripe, inputs.engine)


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
