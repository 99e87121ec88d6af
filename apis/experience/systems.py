"""What the portals read of the layers below: the system services and the cross-reference store.

The composition root hands them over inside each portal's façade (:class:`PortalSystems`), so a
portal's routes declare one dependency and never reach into the app's state.
"""

from __future__ import annotations

from typing import NamedTuple

from apis.process.xref import XrefStore
from apis.system.billing.service import BillingService
from apis.system.crm.service import CrmService
from apis.system.payments.service import PaymentsService
from apis.system.product.service import ProductService


class PortalSystems(NamedTuple):
    """The system services a portal composes its views from, and the xref store linking their ids."""

    crm: CrmService
    billing: BillingService
    payments: PaymentsService
    product: ProductService
    xref: XrefStore
