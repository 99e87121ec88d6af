"""Cancelling a Business Central sales order: BC has no cancel, an unposted order is deleted.

What the APIV2 pages allow (``/work/shared/vendor-specs/business-central/apiv2-pages.extract.json``,
microsoft/BCApps ``APIV2SalesOrders.Page.al``): the ``salesOrders`` page sets no
``DeleteAllowed = false`` and handles ``OnDeleteRecord``, so ``DELETE salesOrders(<id>)`` (with
``If-Match``) deletes an unposted order. Its only bound action is ``Microsoft.NAV.shipAndInvoice``:
there is no cancel on an order. ``Microsoft.NAV.cancel`` is a bound action of ``salesInvoices``
(with ``cancelAndSend`` and ``makeCorrectiveCreditMemo``): it undoes a *posted invoice*, which
is not what cancelling an order means here, so an order BC has invoiced is refused (409) with a
pointer to that action instead of being undone behind the caller's back.

BC keeps nothing of a deleted order: it reads back 404. A repeat of the cancel answers the order
as it was before the delete while this connector remembers it (bounded, per process); after a
restart a repeat answers 404, as any read of the order does. The durable exactly-once of a
compensation is the workflow's (one step, run once).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import msgspec

from apis.system.erp.connectors import business_central_mapping as bc
from core.errors import Conflict, NotFound, UpstreamContractViolation

if TYPE_CHECKING:
    from apis.canonical import SalesOrder
    from apis.system.erp.connectors.business_central_http import BusinessCentralHttp

REMEMBERED = 1024
"""Cancelled orders remembered per process, so that a repeat answers the same."""


class CancelledOrders:
    """The orders this process deleted, newest last (BC itself keeps nothing of them)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._orders: OrderedDict[str, SalesOrder] = OrderedDict()
        self._size = size

    def get(self, order_id: str) -> SalesOrder | None:
        """The order as it was answered when this process cancelled it."""
        return self._orders.get(order_id)

    def add(self, order: SalesOrder) -> None:
        """Remember ``order`` (forgetting the oldest beyond the bound)."""
        self._orders[order.id] = order
        self._orders.move_to_end(order.id)
        while len(self._orders) > self._size:
            self._orders.popitem(last=False)


def invoiced(number: str, invoice: dict[str, Any]) -> Conflict:
    """The refusal of an order BC has invoiced."""
    return Conflict(
        f"Sales order {number} is invoiced (posted invoice {invoice.get('number')}); Business Central cannot cancel "
        "an invoiced order. Undo the posted invoice instead (Microsoft.NAV.cancel on the sales invoice, which posts "
        "a corrective credit memo).",
        vendor_code="order_invoiced",
    )


async def delete_order(
    http: BusinessCentralHttp,
    company: str,
    number: str,
    currency: str,
    read_order: Any,
    read_invoice: Any,
) -> SalesOrder:
    """``DELETE salesOrders(<id>)`` of the unposted order numbered ``number``, exactly once.

    ``read_order`` / ``read_invoice`` read the order and its posted invoice (BC's ``orderNumber``).
    Runs under :meth:`BusinessCentralHttp.retried`: a retry after a lost answer finds the order
    gone and answers what the lost DELETE deleted.
    """
    deleted: list[SalesOrder] = []  # the order as it was when our DELETE went out

    async def procedure() -> SalesOrder:
        order = await read_order(company, number)
        invoice = await read_invoice(company, number)
        if invoice is not None:
            raise invoiced(number, invoice)
        if order is None:
            if deleted:
                return deleted[0]
            raise NotFound(f"No sales order {number}")
        etag = order.get("@odata.etag")
        if not isinstance(etag, str):
            raise UpstreamContractViolation("Business Central sales order lacks @odata.etag")
        snapshot = msgspec.structs.replace(bc.sales_order(company, order, currency, invoiced=False), status="void")
        deleted[:] = [snapshot]
        path = f"/companies({company})/salesOrders({bc.required(order, 'id')})"
        await http.call("DELETE", path, headers={"If-Match": etag}, idempotent=False)
        return snapshot

    result: SalesOrder = await http.retried(procedure, writes=1)
    return result
