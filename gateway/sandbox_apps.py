"""The vendor sandboxes as apps: mounted in the embedded default, or served on their own.

A sandbox is mounted at ``/sandbox/<vendor>`` while its vendor's URL setting is empty, in demo
mode only; set the URL (``STRATA_NETSUITE_URL`` …) and the connector talks to that address
instead, and the sandbox is not mounted. In production nothing is mounted, and no ``sandboxes``
module is imported (the imports below sit inside the functions for that reason).
``strata sandboxes serve`` runs every sandbox in a process of its own, under the same paths
(:func:`create_sandboxes_app_from_environment`), writes their credentials to its state's
``sandbox-credentials.json`` and prints the environment that points a gateway at them
(:func:`gateway_environment`). Which sandboxes exist and how each is built is
:data:`gateway.vendors.VENDORS`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from gateway.sandbox_credentials import credentials_path, load_or_create, with_sandbox_credentials
from gateway.settings import load_settings
from gateway.vendors import VENDORS, Vendor, build_sandbox

if TYPE_CHECKING:
    from litestar import Litestar

    from gateway.settings import Settings


def embedded_vendors(settings: Settings) -> list[Vendor]:
    """The vendors this process simulates (their URL setting is empty; none in production), in mount order."""
    if settings.mode == "production":
        return []
    return [vendor for vendor in VENDORS if not vendor.url(settings)]


def sandbox_mounts(settings: Settings, sandbox_apps: dict[str, Any]) -> list[Any]:
    """Mount handlers for the embedded sandboxes; each app is registered in ``sandbox_apps``.

    The apps are built on first use unless ``build_sandboxes_at_start`` (see
    :class:`~sandboxes.mount.LazySandbox`); a connector is handed the same instance, so what a
    test sees under ``/sandbox/salesforce`` is the state the CRM API works on.
    """
    vendors = embedded_vendors(settings)
    if not vendors:
        return []
    from sandboxes.mount import LazySandbox, mount_handler

    handlers = []
    for vendor in vendors:
        app = LazySandbox(partial(build_sandbox, vendor, settings))
        if settings.build_sandboxes_at_start:
            _ = app.built
        sandbox_apps[vendor.name] = app
        handlers.append(mount_handler(vendor.name, app))
    return handlers


def build_sandboxes(settings: Settings) -> dict[str, Any]:
    """Every sandbox's app, each persisting under ``<state dir>/sandboxes/<vendor>``, with the
    credentials of the state's ``sandbox-credentials.json`` (drawn and written on the first start)."""
    load_or_create(credentials_path(settings))
    standalone = with_sandbox_credentials(_without_vendor_urls(settings))
    return {vendor.name: build_sandbox(vendor, standalone) for vendor in VENDORS}


def _without_vendor_urls(settings: Settings) -> Settings:
    """The settings of a sandboxes process: every vendor is its sandbox, whatever URL is set."""
    import msgspec

    sections = {vendor.section: getattr(settings, vendor.section) for vendor in VENDORS}
    cleared = {name: msgspec.structs.replace(section, url="") for name, section in sections.items()}
    return msgspec.structs.replace(settings, sandbox_credentials_file="", **cleared)


def gateway_environment(base_url: str, credentials_file: str = "") -> dict[str, str]:
    """``STRATA_*`` variables pointing every connector at the sandboxes served at ``base_url``
    (and, given the sandboxes' ``sandbox-credentials.json``, at their credentials)."""
    base = base_url.rstrip("/")
    environment = {f"STRATA_{vendor.section.upper()}_URL": f"{base}/sandbox/{vendor.name}" for vendor in VENDORS}
    if credentials_file:
        environment["STRATA_SANDBOX_CREDENTIALS_FILE"] = credentials_file
    return environment


def create_sandboxes_app_from_environment() -> Litestar:
    """Factory of the ``strata sandboxes serve`` process (settings from ``STRATA_*``)."""
    from sandboxes.server import create_sandboxes_app

    return create_sandboxes_app(build_sandboxes(load_settings()))
