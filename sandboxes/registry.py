"""Every vendor sandbox, in one list: how to build it and which setting replaces it.

A sandbox is mounted at ``/sandbox/<vendor>`` in the embedded default while its vendor's URL
setting is empty; set the URL (``STRATA_NETSUITE_URL`` …) and the connector talks to that
address instead, and the sandbox is not mounted. ``strata sandboxes serve`` runs every
sandbox of this list in a process of its own, under the same paths.

Adding a vendor: write ``sandboxes/<vendor>/`` (build its app with
:func:`sandboxes.shared_app.sandbox_litestar`), add a factory function below and one
:class:`SandboxSpec` to :data:`SANDBOXES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from core.settings import Settings


class SandboxSpec(NamedTuple):
    """One vendor sandbox."""

    vendor: str
    """Path segment under ``/sandbox/`` and key of ``Components.sandbox_apps``."""
    url_setting: str
    """Settings attribute holding the real vendor's URL; the sandbox is mounted while it is empty."""
    factory: Callable[[Settings, Path], Any]
    """Builds the sandbox's ASGI app from the settings and its state directory."""


def _salesforce(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.salesforce import create_salesforce_sandbox

    return create_salesforce_sandbox(
        state_dir=state_dir, client_id=settings.salesforce_client_id, client_secret=settings.salesforce_client_secret
    )


def _netsuite(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.netsuite import create_netsuite_sandbox

    # No certificate is registered here: a client uploads its public key through the sandbox's
    # POST /_control/certificates, as an administrator uploads it to the integration record.
    return create_netsuite_sandbox(state_dir=state_dir)


def _product_platform(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.product_platform import create_product_platform_sandbox

    return create_product_platform_sandbox(state_dir=state_dir, api_key=settings.product_platform_api_key)


def _avalara(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.avalara import create_avalara_sandbox

    return create_avalara_sandbox(
        state_dir=state_dir, account_id=settings.avalara_account_id, license_key=settings.avalara_license_key
    )


def _stripe(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.stripe import create_stripe_sandbox

    return create_stripe_sandbox(
        state_dir=state_dir,
        secret_key=settings.stripe_secret_key,
        webhook_url=settings.stripe_webhook_url,
        webhook_secret=settings.stripe_webhook_secret.split(",")[0].strip(),
    )


def _business_central(settings: Settings, state_dir: Path) -> Any:
    from sandboxes.business_central import create_business_central_sandbox

    return create_business_central_sandbox(
        state_dir=state_dir,
        tenant=settings.business_central_tenant_id,
        environment=settings.business_central_environment,
        client_id=settings.business_central_client_id,
        client_secret=settings.business_central_client_secret,
    )


SANDBOXES: tuple[SandboxSpec, ...] = (
    SandboxSpec("salesforce", "salesforce_url", _salesforce),
    SandboxSpec("netsuite", "netsuite_url", _netsuite),
    SandboxSpec("business-central", "business_central_url", _business_central),
    SandboxSpec("product-platform", "product_platform_url", _product_platform),
    SandboxSpec("avalara", "avalara_url", _avalara),
    SandboxSpec("stripe", "stripe_url", _stripe),
)
"""Every sandbox, in mount order."""


def embedded_sandboxes(settings: Settings) -> list[SandboxSpec]:
    """The sandboxes this process mounts: those whose vendor URL setting is empty."""
    return [spec for spec in SANDBOXES if not getattr(settings, spec.url_setting, "")]


def build_embedded_sandbox(settings: Settings, vendor: str) -> Any:
    """The sandbox of ``vendor`` as the embedded default builds it (state under the state directory)."""
    spec = next(spec for spec in SANDBOXES if spec.vendor == vendor)
    return spec.factory(settings, settings.state_path / "sandboxes" / vendor)
