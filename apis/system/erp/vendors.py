"""Which ERP stands behind ``/system/erp/v1``: one builder per vendor, chosen by configuration.

``STRATA_ERP_VENDOR`` (:attr:`core.settings.Settings.erp_vendor`) names the key. Each
builder returns an :class:`~apis.system.erp.connector.ErpConnector` wired to the vendor's URL
from the settings, or to its embedded sandbox (in process) while that URL is empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apis.system.erp.connector import ErpConnector
    from gateway.components import Components


async def _netsuite(components: Components) -> ErpConnector:
    from apis.system.erp.connectors.netsuite import build_netsuite_connector

    connector: ErpConnector = await build_netsuite_connector(components)
    return connector


async def _business_central(components: Components) -> ErpConnector:
    from apis.system.erp.connectors.business_central import build_business_central_connector

    connector: ErpConnector = await build_business_central_connector(components)
    return connector


ERP_VENDORS: dict[str, Callable[[Components], Awaitable[ErpConnector]]] = {
    "netsuite": _netsuite,
    "business-central": _business_central,
}
"""Builder of each ERP connector, by the value of ``STRATA_ERP_VENDOR``."""
