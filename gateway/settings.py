"""The full settings of a gateway process: the core settings plus each system API's section.

The composition root assembles them here, so the core (and the policies) never see a vendor's
settings and each vendor's settings live next to its system API
(``apis/system/<domain>/settings.py``). Access is ``settings.port`` for a core setting and
``settings.netsuite.max_retries`` for a vendor's; the environment keeps one flat name per
setting (``STRATA_NETSUITE_MAX_RETRIES``), as do TOML keys and keyword overrides
(``load_settings({"netsuite_max_retries": 2})``) — see :mod:`core.settings`.

Adding a vendor: write its ``SettingsSection`` next to its system API and add one field below,
named as the section's ``SECTION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from apis.system.billing.settings import StripeSettings
from apis.system.crm.settings import SalesforceSettings
from apis.system.data.settings import DataPlatformSettings
from apis.system.erp.settings import (
    BusinessCentralSettings,
    ErpSettings,
    NetSuiteSettings,
    OracleFusionSettings,
    SapS4HanaSettings,
)
from apis.system.product.settings import ProductPlatformSettings
from apis.system.tax.settings import AvalaraSettings
from core.settings import CoreSettings, SettingsError, SettingsSection
from core.settings_loader import resolve_settings, settings_environment

__all__ = ["Settings", "SettingsError", "load_settings", "secret_keys", "settings_environment"]


class Settings(CoreSettings, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Everything a gateway process reads from its environment, resolved once."""

    salesforce: SalesforceSettings = msgspec.field(default_factory=SalesforceSettings)
    """Salesforce, behind the CRM API (``STRATA_SALESFORCE_*``)."""
    erp: ErpSettings = msgspec.field(default_factory=ErpSettings)
    """Which ERP serves the ERP API (``STRATA_ERP_VENDOR``)."""
    netsuite: NetSuiteSettings = msgspec.field(default_factory=NetSuiteSettings)
    """NetSuite, one of the ERPs (``STRATA_NETSUITE_*``)."""
    business_central: BusinessCentralSettings = msgspec.field(default_factory=BusinessCentralSettings)
    """Business Central, another ERP (``STRATA_BUSINESS_CENTRAL_*``)."""
    sap_s4hana: SapS4HanaSettings = msgspec.field(default_factory=SapS4HanaSettings)
    """SAP S/4HANA Cloud, another ERP (``STRATA_SAP_S4HANA_*``)."""
    oracle_fusion: OracleFusionSettings = msgspec.field(default_factory=OracleFusionSettings)
    """Oracle Fusion Cloud ERP, another ERP (``STRATA_ORACLE_FUSION_*``)."""
    product_platform: ProductPlatformSettings = msgspec.field(default_factory=ProductPlatformSettings)
    """The product platform, behind the product API (``STRATA_PRODUCT_PLATFORM_*``)."""
    data: DataPlatformSettings = msgspec.field(default_factory=DataPlatformSettings)
    """The data platform's lake, behind the data API (``STRATA_DATA_*``)."""
    avalara: AvalaraSettings = msgspec.field(default_factory=AvalaraSettings)
    """Avalara AvaTax, behind the tax API (``STRATA_AVALARA_*``)."""
    stripe: StripeSettings = msgspec.field(default_factory=StripeSettings)
    """Stripe, behind the billing and payments APIs (``STRATA_STRIPE_*``)."""


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve the settings from flags (``overrides``, by flat key), environment and TOML file.

    Raises:
        SettingsError: a value is of the wrong type or out of its allowed set, or a key is unknown.
    """
    return resolve_settings(Settings, overrides, environ)


def secret_keys(settings: Settings) -> tuple[str, ...]:
    """The flat keys of every secret setting (``master_key``, ``stripe_secret_key``, …)."""
    keys = list(settings.SECRETS)
    for name in Settings.__struct_fields__:
        section = getattr(settings, name)
        if isinstance(section, SettingsSection):
            keys.extend(section.key(field) for field in section.SECRETS)
    return tuple(keys)
