"""The vendor sandboxes as apps: mounted in the embedded default, or served on their own.

A sandbox is mounted at ``/sandbox/<vendor>`` while its vendor's URL setting is empty; set the
URL (``STRATA_NETSUITE_URL`` …) and the connector talks to that address instead, and the
sandbox is not mounted. ``strata sandboxes serve`` runs every sandbox in a process of its own,
under the same paths (:func:`create_sandboxes_app_from_environment`), and prints the
environment that points a gateway at them (:func:`gateway_environment`). Which sandboxes exist
and how each is built is :data:`gateway.vendors.VENDORS`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from gateway.settings import load_settings
from gateway.vendors import VENDORS, Vendor, sandbox_state_dir
from sandboxes.mount import LazySandbox, mount_handler
from sandboxes.server import create_sandboxes_app

if TYPE_CHECKING:
    from litestar import Litestar

    from gateway.settings import Settings


def embedded_vendors(settings: Settings) -> list[Vendor]:
    """The vendors this process simulates (their URL setting is empty), in mount order."""
    return [vendor for vendor in VENDORS if not vendor.url(settings)]


def sandbox_mounts(settings: Settings, sandbox_apps: dict[str, Any]) -> list[Any]:
    """Mount handlers for the embedded sandboxes; each app is registered in ``sandbox_apps``.

    The apps are built on first use unless ``build_sandboxes_at_start`` (see
    :class:`~sandboxes.mount.LazySandbox`); a connector is handed the same instance, so what a
    test sees under ``/sandbox/salesforce`` is the state the CRM API works on.
    """
    handlers = []
    for vendor in embedded_vendors(settings):
        app = LazySandbox(partial(vendor.sandbox, settings, sandbox_state_dir(settings, vendor.name)))
        if settings.build_sandboxes_at_start:
            _ = app.built
        sandbox_apps[vendor.name] = app
        handlers.append(mount_handler(vendor.name, app))
    return handlers


def build_sandboxes(settings: Settings) -> dict[str, Any]:
    """Every sandbox's app, each persisting under ``<state dir>/sandboxes/<vendor>``."""
    return {vendor.name: vendor.sandbox(settings, sandbox_state_dir(settings, vendor.name)) for vendor in VENDORS}


def gateway_environment(base_url: str) -> dict[str, str]:
    """``STRATA_*`` variables pointing every connector at the sandboxes served at ``base_url``."""
    base = base_url.rstrip("/")
    return {f"STRATA_{vendor.section.upper()}_URL": f"{base}/sandbox/{vendor.name}" for vendor in VENDORS}


def create_sandboxes_app_from_environment() -> Litestar:
    """Factory of the ``strata sandboxes serve`` process (settings from ``STRATA_*``)."""
    return create_sandboxes_app(build_sandboxes(load_settings()))
