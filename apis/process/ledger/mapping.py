"""Billing → ERP master-data mapping shared by the ledger workflows.

* customer: the xref store first (the canonical customer's ERP id, as quote-to-cash links it),
  else the ERP customer whose external id is the billing customer's CRM account id;
* lines: the billing price's product code (its lookup key ``<CODE>-<currency>``, else the
  product's code) → the ERP item with that code;
* period: the ERP accounting period of a posting date, and whether it is closed.

A missing mapping is a :class:`~core.errors.BusinessRuleViolation` naming what is missing
and the system that must fix it; a closed period is not an error here: the caller holds the
transaction (see :mod:`apis.process.ledger.hold`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

from apis.canonical import (
    BillingCustomer,
    BillingInvoice,
    BillingInvoiceLine,
    ErpCustomer,
    Item,
    LegalEntity,
    billed_service_period,
)
from apis.process.runtime import ProcessRuntime
from core.errors import BusinessRuleViolation

CENT = Decimal("0.01")


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    """One billing invoice line with its ERP item."""

    code: str
    """The product code (``STRATA-CORE``)."""
    item_id: str
    """The ERP item of the code."""
    description: str | None
    quantity: str
    unit_price: str
    amount: str
    """Line amount (quantity × unit price), decimal string in the invoice currency."""
    service_start: dt.date | None = None
    """First day of the service period the line bills (Stripe's ``period.start``), if it bills one."""
    service_end: dt.date | None = None
    """Last day of that period (the day before Stripe's exclusive ``period.end``)."""


def broken(code: str, detail: str, owner: str, pointer: str) -> BusinessRuleViolation:
    """A broken rule with one field error at ``pointer``."""
    return BusinessRuleViolation(
        code, detail, owner_system=owner, field_errors=[{"pointer": pointer, "detail": detail}]
    )


async def erp_customer_of(process: ProcessRuntime, customer: BillingCustomer) -> ErpCustomer:
    """The ERP customer of a billing customer.

    Raises:
        BusinessRuleViolation: ``customer_unmapped`` — neither the xref nor the ERP knows it.
    """
    canonical_id = await process.xref.canonical_id("customer", process.billing.vendor, customer.id)
    erp_id = await process.xref.vendor_id("customer", canonical_id, process.erp_system) if canonical_id else None
    if erp_id is not None:
        return await process.erp.get_customer(erp_id)
    if customer.crm_account_id:
        page = await process.erp.search_customers(external_id=customer.crm_account_id, limit=1)
        if page.items:
            return page.items[0]
        detail = (
            f"Billing customer {customer.id} (CRM account {customer.crm_account_id}) has no ERP customer; "
            "sync the customer to the ERP, then replay"
        )
        raise broken("customer_unmapped", detail, process.erp_system, "/customer")
    detail = (
        f"Billing customer {customer.id} has no cross-reference and no CRM account id, "
        "so its ERP customer cannot be found"
    )
    raise broken("customer_unmapped", detail, process.billing.vendor, "/customer")


async def ledger_lines(process: ProcessRuntime, invoice: BillingInvoice) -> list[LedgerLine]:
    """The invoice's lines, each mapped to its ERP item.

    Raises:
        BusinessRuleViolation: ``product_unmapped`` listing every line without a price, a product
            code or an ERP item.
    """
    currency = invoice.total.currency
    mapped: list[LedgerLine] = []
    unmapped: list[dict[str, str]] = []
    for index, line in enumerate(invoice.lines):
        pointer = f"/lines/{index}/price"
        if line.price_id is None:
            unmapped.append({"pointer": pointer, "detail": f"line {line.id} has no billing price"})
            continue
        code = await product_code(process, line.price_id, currency)
        if code is None:
            unmapped.append({"pointer": pointer, "detail": f"price {line.price_id} names no product code"})
            continue
        item = await _item(process, code)
        if item is None:
            unmapped.append({"pointer": pointer, "detail": f"{code}: no ERP item"})
            continue
        mapped.append(
            msgspec.structs.replace(
                _line(code, item.id, line.description, line.quantity, Decimal(line.amount.amount)),
                **service_days(line),
            )
        )
    if unmapped:
        raise BusinessRuleViolation(
            "product_unmapped",
            f"Invoice {invoice.id}: {unmapped[0]['detail']}",
            owner_system=process.erp_system,
            field_errors=unmapped,
        )
    return mapped


def service_days(line: BillingInvoiceLine) -> dict[str, dt.date]:
    """The line's service period as ``LedgerLine`` fields (none for a one-off charge)."""
    period = billed_service_period(line)
    return {} if period is None else {"service_start": period[0], "service_end": period[1]}


async def product_code(process: ProcessRuntime, price_id: str, currency: str) -> str | None:
    """The product code of a billing price: its lookup key ``<CODE>-<currency>``, else its product's code."""

    async def load() -> str | None:
        price = await process.billing.get_price(price_id)
        suffix = f"-{currency.lower()}"
        if price.lookup_key and price.lookup_key.lower().endswith(suffix):
            return price.lookup_key[: -len(suffix)]
        return (await process.billing.get_product(price.product_id)).code

    return await process.master_data.get(f"price-code:{price_id}:{currency}", load)


async def legal_entity(process: ProcessRuntime, entity_id: str | None) -> LegalEntity | None:
    """The ERP legal entity with this id (``None`` when the ERP names none)."""
    if entity_id is None:
        return None
    entities = await process.master_data.get("legal_entities", process.erp.list_legal_entities) or []
    return next((e for e in entities if e.id == entity_id), None)


async def closed_period(process: ProcessRuntime, day: dt.date, pointer: str) -> str | None:
    """Why ``day`` cannot be posted (its period is closed), or ``None`` when it can.

    Raises:
        BusinessRuleViolation: ``period_missing`` — the ERP has no period for the day.
    """

    async def periods() -> list[Any] | None:
        return list(await process.erp.list_accounting_periods(day.year)) or None

    found = await process.master_data.get(f"periods:{day.year}", periods) or []
    period = next((p for p in found if p.start_date <= day <= p.end_date), None)
    if period is None:
        raise broken("period_missing", f"The ERP has no accounting period for {day}", process.erp_system, pointer)
    if not period.closed:
        return None
    return (
        f"The ERP accounting period {period.name} ({day}) is closed; "
        "replay with a posting_date in an open period once finance agrees"
    )


async def _item(process: ProcessRuntime, code: str) -> Item | None:
    async def load() -> Item | None:
        page = await process.erp.list_items(code=code, limit=1)
        return page.items[0] if page.items else None

    return await process.master_data.get(f"item:{code}", load)


def _line(code: str, item_id: str, description: str | None, quantity: int | None, amount: Decimal) -> LedgerLine:
    units = quantity or 1
    unit_price = amount / units
    if unit_price != unit_price.quantize(CENT):
        # A price that does not divide into cents posts as one unit of the amount, so the total agrees.
        units, unit_price = 1, amount
    return LedgerLine(
        code=code,
        item_id=item_id,
        description=description,
        quantity=str(units),
        unit_price=format(unit_price.quantize(CENT), "f"),
        amount=format(amount, "f"),
    )
