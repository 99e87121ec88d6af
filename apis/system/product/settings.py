"""Settings of the product system API's vendor, the product platform (``STRATA_PRODUCT_PLATFORM_*``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import SettingsSection


class ProductPlatformSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The product platform behind ``/system/product/v1``."""

    SECTION: ClassVar[str] = "product_platform"
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)

    url: str = ""
    """Product platform base URL (its ``/v1`` API lives under it); empty = the embedded sandbox."""
    api_key: str = ""
    """API key sent as ``X-Api-Key`` to the product platform (a secret: never logged; empty with the
    embedded sandbox: its random one from ``sandbox-credentials.json``)."""
