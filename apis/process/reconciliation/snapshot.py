"""What reconciliation reads: every side's records, fetched page by page through the system services.

Each ``fetch_*`` function is one workflow step (its result is checkpointed, so a run resumed
after a crash compares what it read before, not a newer mix). They read whole lists, not one
period: an invoice of the period is paired with its twin wherever that is dated, and the
customer cross-references are checked as they stand at the run.

The cross-reference store is ours (:mod:`apis.process.xref`): it is read in a step of its own, so
the comparison is a pure function of the checkpointed snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import select

from apis.canonical import (
    BillingCustomer,
    BillingInvoice,
    BillingPrice,
    BillingProduct,
    CatalogProduct,
    Customer,
    CustomerPayment,
    ErpCustomer,
    Invoice,
    Item,
    Page,
    PaymentIntent,
    RecognizedRevenue,
    Sku,
)
from apis.process.runtime import runtime
from core.db import xrefs
from core.errors import NotFound

T = TypeVar("T")

PAGE_SIZE = 100
"""Records asked for per call (the billing system's own maximum page)."""
MAX_PAGES = 1_000
"""Pages of one list read at most: a list that never ends is a defect, not a reason to loop forever."""
XREF_KINDS = ("customer", "invoice", "payment")
"""Kinds of cross-reference reconciliation uses."""


class XrefLink(msgspec.Struct, frozen=True, array_like=True):
    """One row of the cross-reference store."""

    kind: str
    canonical_id: str
    system: str
    vendor_id: str


class CrmSide(msgspec.Struct, frozen=True, kw_only=True):
    """The CRM's accounts."""

    accounts: list[Customer]


class ErpSide(msgspec.Struct, frozen=True, kw_only=True):
    """The ERP's customers, invoices, items, and the customer payments the xref store names."""

    system: str
    """The ERP's name in the xref store (``netsuite``, ``business-central``)."""
    customers: list[ErpCustomer]
    invoices: list[Invoice]
    items: list[Item]
    payments: list[CustomerPayment]
    missing_payment_ids: list[str]
    """ERP payment ids the xref store names that the ERP does not have."""
    revenue: list[RecognizedRevenue] = []
    """Revenue the ERP recognised in the run's period over service periods (:func:`fetch_revenue`)."""


class BillingSide(msgspec.Struct, frozen=True, kw_only=True):
    """The billing system's customers, invoices, catalogue and payments."""

    customers: list[BillingCustomer]
    invoices: list[BillingInvoice]
    products: list[BillingProduct]
    prices: list[BillingPrice]
    payments: list[PaymentIntent]


class CatalogSide(msgspec.Struct, frozen=True, kw_only=True):
    """The product platform's catalog."""

    products: list[CatalogProduct]
    skus: list[Sku]


async def every_page(fetch: Callable[[Any], Awaitable[Page[T]]]) -> list[T]:
    """All items of a paged list: ``fetch(position)`` from the first page until ``next_position`` is ``None``."""
    items: list[T] = []
    position: Any = None
    for _ in range(MAX_PAGES):
        page = await fetch(position)
        items.extend(page.items)
        position = page.next_position
        if position is None:
            return items
    raise RuntimeError(f"a list did not end after {MAX_PAGES} pages")


async def read_xrefs() -> list[XrefLink]:
    """Every cross-reference of the kinds reconciliation uses."""
    query = (
        select(xrefs.c.kind, xrefs.c.canonical_id, xrefs.c.system, xrefs.c.vendor_id)
        .where(xrefs.c.kind.in_(XREF_KINDS))
        .order_by(xrefs.c.kind, xrefs.c.canonical_id, xrefs.c.system)
    )
    async with runtime().database.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [XrefLink(row.kind, row.canonical_id, row.system, row.vendor_id) for row in rows]


async def fetch_crm() -> CrmSide:
    """Every CRM account."""
    crm = runtime().crm
    return CrmSide(accounts=await every_page(lambda p: crm.list_accounts(limit=PAGE_SIZE, position=p)))


async def fetch_erp(links: list[XrefLink]) -> ErpSide:
    """Every ERP customer, invoice and item, and each customer payment linked in the xref store.

    The ERP system API lists no payments; the payments Strata posted are the ones it linked.
    """
    process = runtime()
    erp = process.erp
    customers = await every_page(lambda p: erp.search_customers(limit=PAGE_SIZE, position=p))
    invoices = await every_page(lambda p: erp.list_invoices(limit=PAGE_SIZE, position=p))
    items = await every_page(lambda p: erp.list_items(limit=PAGE_SIZE, position=p))
    payments: list[CustomerPayment] = []
    missing: list[str] = []
    for link in links:
        if link.kind == "payment" and link.system == process.erp_system:
            try:
                payments.append(await erp.get_customer_payment(link.vendor_id))
            except NotFound:
                missing.append(link.vendor_id)
    return ErpSide(
        system=process.erp_system,
        customers=customers,
        invoices=invoices,
        items=items,
        payments=payments,
        missing_payment_ids=missing,
    )


async def fetch_revenue(period: str) -> list[RecognizedRevenue]:
    """What the ERP recognised in ``period`` over service periods (deferred revenue released)."""
    return await runtime().erp.list_recognized_revenue(period)


async def fetch_billing() -> BillingSide:
    """Every billing customer, invoice, product, price and payment."""
    process = runtime()
    billing, payments = process.billing, process.payments
    return BillingSide(
        customers=await every_page(lambda p: billing.list_customers(limit=PAGE_SIZE, position=p)),
        invoices=await every_page(lambda p: billing.list_invoices(limit=PAGE_SIZE, position=p)),
        products=await every_page(lambda p: billing.list_products(limit=PAGE_SIZE, position=p)),
        prices=await every_page(lambda p: billing.list_prices(limit=PAGE_SIZE, position=p)),
        payments=await every_page(lambda p: payments.list_intents(limit=PAGE_SIZE, position=p)),
    )


async def fetch_catalog() -> CatalogSide:
    """The product platform's products and SKUs."""
    product = runtime().product
    return CatalogSide(
        products=await every_page(lambda p: product.list_products(family=None, limit=PAGE_SIZE, position=p)),
        skus=await every_page(lambda p: product.list_skus(product_id=None, code=None, limit=PAGE_SIZE, position=p)),
    )
