"""Which ERP stands behind ``/system/erp/v1``: one builder per vendor, chosen by configuration.

``STRATA_ERP_VENDOR`` (:attr:`apis.system.erp.settings.ErpSettings.vendor`) names the key.
Each builder takes the :class:`~apis.system.kit.link.VendorLink` the composition root made
for that vendor (its name is the key: the sandbox ``/sandbox/<key>``, the real vendor while
its URL is set) and the settings, and returns an :class:`~apis.system.erp.connector.ErpConnector`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from apis.system.erp.connector import ErpConnector
    from apis.system.erp.settings import (
        BusinessCentralSettings,
        ErpSettings,
        NetSuiteSettings,
        OracleFusionSettings,
        SapS4HanaSettings,
    )
    from apis.system.kit.link import VendorLink


class ErpVendorSettings(Protocol):
    """The settings an ERP builder reads (the full settings of the composition root fit)."""

    @property
    def erp(self) -> ErpSettings:
        """Which ERP serves the API."""

    @property
    def netsuite(self) -> NetSuiteSettings:
        """NetSuite's settings."""

    @property
    def business_central(self) -> BusinessCentralSettings:
        """Business Central's settings."""

    @property
    def sap_s4hana(self) -> SapS4HanaSettings:
        """SAP S/4HANA Cloud's settings."""

    @property
    def oracle_fusion(self) -> OracleFusionSettings:
        """Oracle Fusion Cloud ERP's settings."""


def _netsuite(link: VendorLink[Any], settings: ErpVendorSettings) -> ErpConnector:
    from apis.system.erp.connectors.netsuite import build_netsuite_connector

    connector: ErpConnector = build_netsuite_connector(link, settings.netsuite)
    return connector


def _business_central(link: VendorLink[Any], settings: ErpVendorSettings) -> ErpConnector:
    from apis.system.erp.connectors.business_central import build_business_central_connector

    connector: ErpConnector = build_business_central_connector(link, settings.business_central)
    return connector


def _sap_s4hana(link: VendorLink[Any], settings: ErpVendorSettings) -> ErpConnector:
    from apis.system.erp.connectors.sap_s4hana import build_sap_s4hana_connector

    connector: ErpConnector = build_sap_s4hana_connector(link, settings.sap_s4hana)
    return connector


def _oracle_fusion(link: VendorLink[Any], settings: ErpVendorSettings) -> ErpConnector:
    from apis.system.erp.connectors.oracle_fusion import build_oracle_fusion_connector

    connector: ErpConnector = build_oracle_fusion_connector(link, settings.oracle_fusion)
    return connector


ERP_VENDORS: dict[str, Callable[[VendorLink[Any], ErpVendorSettings], ErpConnector]] = {
    "netsuite": _netsuite,
    "business-central": _business_central,
    "sap-s4hana": _sap_s4hana,
    "oracle-fusion": _oracle_fusion,
}
"""Builder of each ERP connector, by the value of ``STRATA_ERP_VENDOR`` (also its vendor link's name)."""
