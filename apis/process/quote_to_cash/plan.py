"""Quote-to-cash, first step: read the won deal and check everything **before any write**.

:func:`plan_order` reads the opportunity (with its lines and account) from the CRM and the
master data the order needs from the catalog, billing and the ERP, and either returns an
:class:`OrderPlan` — every id the writing steps need, already resolved — or raises
:class:`~core.errors.BusinessRuleViolation` naming the rule, the field and the system that
owns the fix. Checked:

* the opportunity is Closed Won, has lines, and its account exists;
* the account hierarchy resolves (every parent exists, no cycle, at most ``MAX_DEPTH`` levels);
* the billing address is complete enough for tax (the tax API's own address rules);
* every line's product is in the catalog, has a billing price in the deal's currency and an
  ERP item;
* a legal entity sells in the deal's currency — the customer's own, if the ERP already has the
  customer (the ERP owns that field), else the one whose base currency it is;
* the ERP accounting period of the order date is open.

An operator's corrected input (``overrides``, stored with the transaction by a replay) can
set ``order_date`` (e.g. into the open period) and ``product_codes`` (old code → catalog code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from apis.canonical import (
    Address,
    Customer,
    ErpCustomer,
    Item,
    LegalEntity,
    Money,
    Opportunity,
    TaxLineRequest,
    TaxQuoteRequest,
)
from apis.process.runtime import ProcessRuntime, runtime
from apis.process.transactions import About
from apis.system.tax.service import check_request
from core.errors import BusinessRuleViolation, InvalidInput, NotFound

MAX_DEPTH = 5


class PlannedLine(msgspec.Struct, frozen=True, kw_only=True):
    """One order line with its ids in every system."""

    product_code: str
    description: str | None
    quantity: str
    unit_price: str
    amount: str
    sku_id: str
    price_id: str
    price_kind: str
    """``recurring``, ``metered`` or ``one_time`` (one-time prices are not subscription items)."""
    erp_item_id: str


class OrderPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the writing steps of one order need, checked."""

    opportunity_id: str
    opportunity_name: str
    account_id: str
    account_name: str
    account_external_id: str | None
    domain: str | None
    tax_id: str | None
    billing_address: Address
    currency: str
    order_date: dt.date
    legal_entity_id: str
    tax_company: str
    erp_customer_id: str | None
    """The ERP customer, when the ERP already has this account."""
    lines: list[PlannedLine]
    total: str


async def plan_order(
    process: ProcessRuntime,
    opportunity_id: str,
    overrides: dict[str, Any] | None,
    *,
    described: Callable[[About], Awaitable[None]] | None = None,
) -> OrderPlan:
    """Read and check the order; see the module docstring.

    ``described`` is told the customer, the deal and its amount as soon as they are read, before
    any rule can stop the order (so an exception shows who and what it is about).

    Raises:
        BusinessRuleViolation: the first broken rule (its ``field_errors`` list every problem of that kind).
    """
    overrides = overrides or {}
    try:
        opportunity = await process.crm.get_opportunity(opportunity_id)
    except (NotFound, InvalidInput):
        detail = f"The CRM has no opportunity {opportunity_id}"
        raise _broken("opportunity_not_found", detail, process.crm.vendor, "/opportunity_id") from None
    if opportunity.stage != "closed_won":
        raise _broken(
            "opportunity_not_won",
            f"Opportunity {opportunity_id} is {opportunity.stage}, not closed won",
            process.crm.vendor,
            "/stage",
        )
    if not opportunity.lines:
        raise _broken(
            "opportunity_without_lines",
            f"Opportunity {opportunity_id} has no product lines",
            process.crm.vendor,
            "/lines",
        )
    if opportunity.account_id is None:
        raise _broken(
            "account_missing", f"Opportunity {opportunity_id} has no account", process.crm.vendor, "/account_id"
        )
    account = await _account(process, opportunity.account_id)
    if described is not None:
        amount = opportunity.amount
        await described(
            About(
                customer=account.name,
                deal=opportunity.name,
                amount=amount.amount if amount else None,
                currency=amount.currency if amount else account.currency,
            )
        )
    await _check_hierarchy(process, account)
    currency = (opportunity.amount.currency if opportunity.amount else None) or account.currency
    if not currency:
        raise _broken(
            "currency_missing",
            "Neither the opportunity nor its account has a currency",
            process.crm.vendor,
            "/currency",
        )
    address = _checked_address(account)
    order_date = _order_date(opportunity, overrides)

    lines = await _plan_lines(process, opportunity, currency, overrides.get("product_codes") or {})
    existing = await _erp_customer(process, account.id)
    entity = await _legal_entity(process, existing, currency)
    await check_period(process, order_date)
    total = sum((Decimal(line.amount) for line in lines), Decimal(0))
    plan = OrderPlan(
        opportunity_id=opportunity.id,
        opportunity_name=opportunity.name,
        account_id=account.id,
        account_name=account.name,
        account_external_id=account.external_id,
        domain=account.domain,
        tax_id=account.tax_id,
        billing_address=address,
        currency=currency,
        order_date=order_date,
        legal_entity_id=entity.id,
        tax_company=f"STRATA-{entity.country or 'US'}",
        erp_customer_id=existing.id if existing else None,
        lines=lines,
        total=format(total, "f"),
    )
    try:
        check_request(tax_request(plan, customer_id=account.id))
    except InvalidInput as error:
        raise BusinessRuleViolation(
            "tax_address_incomplete",
            f"Account {account.id}: {error.detail}",
            owner_system=process.crm.vendor,
            field_errors=[_crm_pointer(e) for e in error.field_errors],
        ) from None
    return plan


def tax_request(plan: OrderPlan, *, customer_id: str) -> TaxQuoteRequest:
    """The tax quote request of the order."""
    return TaxQuoteRequest(
        company=plan.tax_company,
        customer_id=customer_id,
        date=plan.order_date,
        currency=plan.currency,
        ship_to=plan.billing_address,
        buyer_tax_id=plan.tax_id,
        lines=[
            TaxLineRequest(
                amount=Money(amount=line.amount, currency=plan.currency),
                number=str(index),
                product_code=line.product_code,
                description=line.description,
                quantity=line.quantity,
            )
            for index, line in enumerate(plan.lines, start=1)
        ],
    )


async def _account(process: ProcessRuntime, account_id: str) -> Customer:
    try:
        return await process.crm.get_account(account_id)
    except (NotFound, InvalidInput):
        raise _broken(
            "account_missing", f"The CRM has no account {account_id}", process.crm.vendor, "/account_id"
        ) from None


async def _check_hierarchy(process: ProcessRuntime, account: Customer) -> None:
    seen = {account.id}
    current = account
    for _ in range(MAX_DEPTH):
        if current.parent_id is None:
            return
        if current.parent_id in seen:
            raise _broken(
                "account_hierarchy_cycle",
                f"Account {account.id}'s parents loop at {current.parent_id}",
                process.crm.vendor,
                "/parent_id",
            )
        seen.add(current.parent_id)
        try:
            current = await process.crm.get_account(current.parent_id)
        except NotFound:
            raise _broken(
                "account_parent_missing",
                f"Account {current.id} names parent {current.parent_id}, which the CRM does not have",
                process.crm.vendor,
                "/parent_id",
            ) from None
    raise _broken(
        "account_hierarchy_too_deep",
        f"Account {account.id} is more than {MAX_DEPTH} levels deep",
        process.crm.vendor,
        "/parent_id",
    )


def _checked_address(account: Customer) -> Address:
    if account.billing_address is None or not account.billing_address.country:
        raise BusinessRuleViolation(
            "tax_address_incomplete",
            f"Account {account.id} has no billing country, so the order cannot be taxed",
            owner_system=runtime().crm.vendor,
            field_errors=[{"pointer": "/billing_address/country", "detail": "required for tax"}],
        )
    return account.billing_address


def _order_date(opportunity: Opportunity, overrides: dict[str, Any]) -> dt.date:
    value = overrides.get("order_date")
    if isinstance(value, str):
        return dt.date.fromisoformat(value)  # checked when the override was accepted
    return opportunity.close_date


async def _plan_lines(
    process: ProcessRuntime, opportunity: Opportunity, currency: str, renames: dict[str, str]
) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    unmapped: list[dict[str, str]] = []
    for index, line in enumerate(opportunity.lines or []):
        code = renames.get(line.product_code or "", line.product_code)
        pointer = f"/lines/{index}/product_code"
        if not code:
            unmapped.append({"pointer": pointer, "detail": "the line has no product code"})
            continue
        sku, price, item = await product_mapping(process, code, currency)
        missing = [
            name for name, found in (("catalog SKU", sku), ("billing price", price), ("ERP item", item)) if not found
        ]
        if missing:
            unmapped.append({"pointer": pointer, "detail": f"{code}: no {', no '.join(missing)} in {currency}"})
            continue
        assert sku is not None and price is not None and item is not None
        try:
            quantity = Decimal(line.quantity)
        except InvalidOperation:
            unmapped.append({"pointer": f"/lines/{index}/quantity", "detail": "not a decimal number"})
            continue
        planned.append(
            PlannedLine(
                product_code=code,
                description=line.description,
                quantity=format(quantity.normalize(), "f"),
                unit_price=line.unit_price.amount,
                amount=line.total.amount,
                sku_id=sku,
                price_id=price[0],
                price_kind=price[1],
                erp_item_id=item.id,
            )
        )
    if unmapped:
        raise BusinessRuleViolation(
            "product_unmapped",
            f"Opportunity {opportunity.id}: {unmapped[0]['detail']}",
            owner_system=process.product.vendor,
            field_errors=unmapped,
        )
    return planned


async def product_mapping(
    process: ProcessRuntime, code: str, currency: str
) -> tuple[str | None, tuple[str, str] | None, Item | None]:
    """A product code's catalog SKU, billing price ``(id, kind)`` in ``currency`` and ERP item
    (``None`` where missing)."""
    cache = process.master_data

    async def sku() -> str | None:
        page = await process.product.list_skus(product_id=None, code=code, limit=1, position=None)
        return page.items[0].id if page.items and page.items[0].active else None

    async def price() -> tuple[str, str] | None:
        page = await process.billing.list_prices(lookup_key=f"{code}-{currency.lower()}", limit=1)
        found = next((p for p in page.items if p.active), None)
        return (found.id, found.kind) if found else None

    async def item() -> Item | None:
        page = await process.erp.list_items(code=code, limit=1)
        return page.items[0] if page.items else None

    return (
        await cache.get(f"sku:{code}", sku),
        await cache.get(f"price:{code}:{currency}", price),
        await cache.get(f"item:{code}", item),
    )


async def _erp_customer(process: ProcessRuntime, account_id: str) -> ErpCustomer | None:
    page = await process.erp.search_customers(external_id=account_id, limit=1)
    return page.items[0] if page.items else None


async def _legal_entity(process: ProcessRuntime, existing: ErpCustomer | None, currency: str) -> LegalEntity:
    entities = await process.master_data.get("legal_entities", process.erp.list_legal_entities) or []
    if existing is not None and existing.legal_entity_id:
        entity = next((e for e in entities if e.id == existing.legal_entity_id), None)
        if entity is not None and entity.currency != currency:
            raise _broken(
                "currency_not_allowed",
                f"{entity.name} (the ERP's legal entity of this customer) sells in {entity.currency}, not {currency}",
                process.erp_system,
                "/currency",
            )
        if entity is not None:
            return entity
    sellers = [e for e in entities if e.currency == currency and e.parent_id is not None] or [
        e for e in entities if e.currency == currency
    ]
    if not sellers:
        raise _broken(
            "currency_not_allowed", f"No legal entity of the ERP sells in {currency}", process.erp_system, "/currency"
        )
    return sellers[0]


async def check_period(process: ProcessRuntime, day: dt.date) -> None:
    """Raise ``period_missing`` / ``period_closed`` unless the ERP's accounting period of ``day`` is open."""

    async def periods() -> list[Any] | None:
        return list(await process.erp.list_accounting_periods(day.year)) or None

    found = await process.master_data.get(f"periods:{day.year}", periods) or []
    period = next((p for p in found if p.start_date <= day <= p.end_date), None)
    if period is None:
        raise _broken(
            "period_missing", f"The ERP has no accounting period for {day}", process.erp_system, "/order_date"
        )
    if period.closed:
        raise _broken(
            "period_closed",
            f"The ERP accounting period {period.name} ({day}) is closed; replay with an order_date in an open period",
            process.erp_system,
            "/order_date",
        )


def _broken(code: str, detail: str, owner: str, pointer: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(
        code, detail, owner_system=owner, field_errors=[{"pointer": pointer, "detail": detail}]
    )


def _crm_pointer(error: dict[str, str]) -> dict[str, str]:
    pointer = error.get("pointer", "").replace("/ship_to", "/billing_address", 1)
    return {"pointer": pointer, "detail": error.get("detail", "")}
