"""Subscription changes, first step: read the change and check everything **before any write**.

:func:`plan_change` reads the request (or the CRM's amendment or renewal opportunity), the
billing subscription, the master data of the new products and the ERP's accounting period,
and returns a :class:`ChangePlan` — every id and quantity the writing steps need, and the
governance rule that decides when the change takes effect and how it is charged — or raises
:class:`~core.errors.BusinessRuleViolation` naming the rule, the field and the system that
owns the fix. Checked, in this order:

* an opportunity is Closed Won and of type amendment or renewal, and has an account;
* the CRM account exists, and the subscription belongs to it: its billing customer is the
  account's (the billing customer's CRM id, else the cross-reference) — a change naming another
  account's subscription is refused here, before anything is written anywhere;
* the subscription is not canceled and has no change scheduled already;
* every product of the change is mapped (catalog SKU, billing price in the subscription's
  currency, ERP item);
* the change is what it says: an upgrade raises the recurring amount, a downgrade lowers it, a
  quantity change keeps the products; a change that changes nothing is refused;
* the ERP accounting period of the change date is open.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import msgspec

from apis.process.quote_to_cash.plan import check_period, product_mapping
from apis.process.runtime import ProcessRuntime
from core.errors import BusinessRuleViolation, InvalidInput, NotFound

ChangeKind = Literal["upgrade", "downgrade", "quantity_change", "renewal", "cancel_at_period_end", "cancel_immediately"]
CHANGE_KINDS: tuple[str, ...] = (
    "upgrade",
    "downgrade",
    "quantity_change",
    "renewal",
    "cancel_at_period_end",
    "cancel_immediately",
)
CANCELLATIONS = ("cancel_at_period_end", "cancel_immediately")


class ChangeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What was asked (the transaction's input): an opportunity, or a direct change of a subscription."""

    opportunity_id: str | None = None
    account_id: str | None = None
    subscription_id: str | None = None
    kind: str | None = None
    items: list[dict[str, Any]] | None = None
    effective_date: str | None = None


class CurrentItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item of the subscription as it is before the change."""

    item_id: str
    price_id: str
    product_code: str
    quantity: int | None
    unit_amount: str


class TargetItem(msgspec.Struct, frozen=True, kw_only=True):
    """A product of the subscription after the change, with its ids in every system."""

    product_code: str
    quantity: int
    price_id: str
    metered: bool
    unit_amount: str
    erp_item_id: str


class ErpLine(msgspec.Struct, frozen=True, kw_only=True):
    """A line of the ERP change order: what the change adds."""

    item_id: str
    quantity: str
    unit_price: str
    description: str


class EntitlementBefore(msgspec.Struct, frozen=True, kw_only=True):
    """An active entitlement before the change (what compensation restores)."""

    id: str
    sku_code: str
    quantity: int
    ends_at: dt.datetime | None


class ChangePlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the writing steps of one change need, checked."""

    kind: str
    rule: str
    """The governance rule applied (``upgrade``, ``quantity_decrease``, ``renewal``, …)."""
    effective: Literal["immediately", "period_end"]
    proration: Literal["prorate", "prorate_and_invoice", "none"]
    credit_unused: bool
    """A cancellation at once credits the unused time (governance)."""
    account_id: str
    opportunity_id: str | None
    subscription_id: str
    billing_customer_id: str
    currency: str
    change_date: dt.date
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    cancel_at_period_end: bool
    current: list[CurrentItem]
    target: list[TargetItem]
    erp_customer_id: str | None
    erp_lines: list[ErpLine]
    product_customer_id: str | None
    entitlements: list[EntitlementBefore]
    recurring_before: str
    recurring_after: str


async def plan_change(process: ProcessRuntime, request: ChangeRequest) -> ChangePlan:
    """Read and check the change; see the module docstring.

    Raises:
        BusinessRuleViolation: the first broken rule.
    """
    crm = process.crm.vendor
    account_id, wanted, kind, change_date = await _asked(process, request)
    if account_id is None:
        raise _broken("account_missing", "The change names no CRM account", crm, "/account_id")
    try:
        await process.crm.get_account(account_id)
    except (NotFound, InvalidInput):
        raise _broken("account_missing", f"The CRM has no account {account_id}", crm, "/account_id") from None
    subscription_id = request.subscription_id or await _only_subscription(process, account_id)
    subscription = await _subscription_of_account(process, subscription_id, account_id)
    current = [await _current_item(process, item) for item in subscription.items]
    target = await _targets(
        process, wanted or [(c.product_code, c.quantity or 0) for c in current], subscription.currency
    )
    before, after = _recurring(current), _recurring_target(target)
    kind = kind or _derived_kind(current, target, before, after)
    named = request.items is not None or request.opportunity_id is not None
    _check_kind(kind, current, target, before, after, named, owner=crm)
    day = change_date or dt.datetime.now(dt.UTC).date()
    await check_period(process, day)
    rule, effective, proration = _rule(process, kind, before, after)
    erp_lines = _erp_lines(kind, current, target)
    erp_customer = await process.erp.search_customers(external_id=account_id, limit=1)
    if erp_lines and not erp_customer.items:
        detail = f"The ERP has no customer for account {account_id}, so the change order has nobody to bill"
        raise _broken("erp_customer_missing", detail, process.erp_system, "/account_id")
    product_customer = await process.product.list_customers(crm_account_id=account_id, limit=1, position=None)
    tenant = product_customer.items[0].id if product_customer.items else None
    entitlements = await _entitlements(process, tenant)
    period = [i for i in subscription.items if i.current_period_end is not None]
    return ChangePlan(
        kind=kind,
        rule=rule,
        effective=effective,
        proration=proration,
        credit_unused=process.change_rules().credit_immediate_cancellation,
        account_id=account_id,
        opportunity_id=request.opportunity_id,
        subscription_id=subscription.id,
        billing_customer_id=subscription.customer_id,
        currency=subscription.currency,
        change_date=day,
        period_start=period[0].current_period_start if period else None,
        period_end=period[0].current_period_end if period else None,
        cancel_at_period_end=subscription.cancel_at_period_end,
        current=current,
        target=[] if kind in CANCELLATIONS else target,
        erp_customer_id=erp_customer.items[0].id if erp_customer.items else None,
        erp_lines=erp_lines,
        product_customer_id=tenant,
        entitlements=entitlements,
        recurring_before=format(before, "f"),
        recurring_after=format(Decimal(0) if kind in CANCELLATIONS else after, "f"),
    )


async def _asked(
    process: ProcessRuntime, request: ChangeRequest
) -> tuple[str | None, list[tuple[str, int]], str | None, dt.date | None]:
    """(account, products and units after the change, kind, change date): the request's, or its opportunity's."""
    change_date = dt.date.fromisoformat(request.effective_date) if request.effective_date else None
    if request.opportunity_id is None:
        wanted = [(str(i["product_code"]), int(i["quantity"])) for i in request.items or []]
        return request.account_id, wanted, request.kind, change_date
    opportunity = await _opportunity(process, request.opportunity_id)
    wanted = [(line.product_code or "", _units(line.quantity)) for line in opportunity.lines or []]
    kind = "renewal" if opportunity.deal_type == "renewal" else None  # an amendment's kind is what it does
    return opportunity.account_id, wanted, kind, change_date or opportunity.close_date


async def _opportunity(process: ProcessRuntime, opportunity_id: str) -> Any:
    crm = process.crm.vendor
    try:
        opportunity = await process.crm.get_opportunity(opportunity_id)
    except (NotFound, InvalidInput):
        raise _broken(
            "opportunity_not_found", f"The CRM has no opportunity {opportunity_id}", crm, "/opportunity_id"
        ) from None
    if opportunity.stage != "closed_won":
        detail = f"Opportunity {opportunity_id} is {opportunity.stage}, not closed won"
        raise _broken("opportunity_not_won", detail, crm, "/stage")
    if opportunity.deal_type not in ("amendment", "renewal"):
        detail = f"Opportunity {opportunity_id} is not an amendment or a renewal (its type is {opportunity.deal_type})"
        raise _broken("opportunity_not_a_change", detail, crm, "/deal_type")
    if opportunity.account_id is None:
        raise _broken("account_missing", f"Opportunity {opportunity_id} has no account", crm, "/account_id")
    if opportunity.deal_type == "amendment" and not opportunity.lines:
        detail = f"Opportunity {opportunity_id} has no product lines (the subscription after the change)"
        raise _broken("opportunity_without_lines", detail, crm, "/lines")
    return opportunity


async def _only_subscription(process: ProcessRuntime, account_id: str) -> str:
    """The account's one live subscription (an opportunity names none)."""
    canonical = await process.xref.canonical_id("customer", process.crm.vendor, account_id)
    billing_id = await process.xref.vendor_id("customer", canonical, process.billing.vendor) if canonical else None
    if billing_id is None:
        found = await process.billing.find_existing_customer(account_id)
        billing_id = found.id if found else None
    subscriptions = (
        (await process.billing.list_subscriptions(customer_id=billing_id, limit=2)).items if billing_id else []
    )
    if len(subscriptions) != 1:
        detail = (
            f"Account {account_id} has {len(subscriptions) or 'no'} live subscriptions; "
            "name the one to change (subscription_id)"
        )
        raise _broken("subscription_ambiguous", detail, process.billing.vendor, "/subscription_id")
    return subscriptions[0].id


async def _subscription_of_account(process: ProcessRuntime, subscription_id: str, account_id: str) -> Any:
    billing = process.billing.vendor
    try:
        subscription = await process.billing.get_subscription(subscription_id)
    except NotFound:
        raise _broken(
            "subscription_not_found", f"Billing has no subscription {subscription_id}", billing, "/subscription_id"
        ) from None
    if not await _belongs_to(process, subscription.customer_id, account_id):
        # The same words as a missing subscription would give nothing away; the code tells the operator.
        raise _broken(
            "subscription_not_of_account",
            f"Subscription {subscription_id} is not a subscription of account {account_id}",
            process.crm.vendor,
            "/subscription_id",
        )
    if subscription.status == "canceled":
        detail = f"Subscription {subscription_id} is canceled; a canceled subscription cannot change"
        raise _broken("subscription_canceled", detail, billing, "/subscription_id")
    if subscription.schedule_id is not None:
        detail = f"Subscription {subscription_id} has a change scheduled already ({subscription.schedule_id})"
        raise _broken("subscription_change_pending", detail, billing, "/subscription_id")
    return subscription


async def _belongs_to(process: ProcessRuntime, billing_customer_id: str, account_id: str) -> bool:
    customer = await process.billing.get_customer(billing_customer_id)
    if customer.crm_account_id is not None:
        return customer.crm_account_id == account_id
    canonical = await process.xref.canonical_id("customer", process.billing.vendor, billing_customer_id)
    return canonical is not None and canonical == await process.xref.canonical_id(
        "customer", process.crm.vendor, account_id
    )


async def _current_item(process: ProcessRuntime, item: Any) -> CurrentItem:
    price = await process.master_data.get(f"price-id:{item.price_id}", lambda: process.billing.get_price(item.price_id))
    assert price is not None
    code = (price.lookup_key or "").rsplit("-", 1)[0] or item.product_id
    return CurrentItem(
        item_id=item.id,
        price_id=item.price_id,
        product_code=code,
        quantity=item.quantity,
        unit_amount=price.unit_amount.amount if price.unit_amount else "0",
    )


async def _targets(process: ProcessRuntime, wanted: list[tuple[str, int]], currency: str) -> list[TargetItem]:
    targets: list[TargetItem] = []
    unmapped: list[dict[str, str]] = []
    for index, (code, quantity) in enumerate(wanted):
        sku, price, item = await product_mapping(process, code, currency)
        missing = [n for n, found in (("catalog SKU", sku), ("billing price", price), ("ERP item", item)) if not found]
        if missing or price is None or item is None:
            unmapped.append(
                {"pointer": f"/items/{index}/product_code", "detail": f"{code}: no {', no '.join(missing)}"}
            )
            continue
        if price[1] == "one_time":
            unmapped.append({"pointer": f"/items/{index}/product_code", "detail": f"{code} is not a recurring product"})
            continue
        billing_price = await process.billing.get_price(price[0])
        targets.append(
            TargetItem(
                product_code=code,
                quantity=quantity,
                price_id=price[0],
                metered=price[1] == "metered",
                unit_amount=billing_price.unit_amount.amount if billing_price.unit_amount else "0",
                erp_item_id=item.id,
            )
        )
    if unmapped:
        raise BusinessRuleViolation(
            "product_unmapped",
            f"The change names a product that is not set up: {unmapped[0]['detail']} in {currency}",
            owner_system=process.product.vendor,
            field_errors=unmapped,
        )
    return targets


def _recurring(current: list[CurrentItem]) -> Decimal:
    return sum((Decimal(c.unit_amount) * (c.quantity or 0) for c in current), Decimal(0))


def _recurring_target(target: list[TargetItem]) -> Decimal:
    return sum((Decimal(t.unit_amount) * (0 if t.metered else t.quantity) for t in target), Decimal(0))


def _derived_kind(current: list[CurrentItem], target: list[TargetItem], before: Decimal, after: Decimal) -> str:
    if {c.product_code for c in current} == {t.product_code for t in target}:
        return "quantity_change"
    return "upgrade" if after >= before else "downgrade"


def _check_kind(
    kind: str,
    current: list[CurrentItem],
    target: list[TargetItem],
    before: Decimal,
    after: Decimal,
    named: bool,
    *,
    owner: str,
) -> None:
    """The change is what its kind says (the request's, or the CRM's: ``owner`` owns the fix)."""
    same_products = {c.product_code for c in current} == {t.product_code for t in target}
    unchanged = same_products and all(
        next((c.quantity for c in current if c.product_code == t.product_code), None)
        == (None if t.metered else t.quantity)
        for t in target
    )
    problem = None
    if kind in ("upgrade", "downgrade", "quantity_change") and not named:
        problem = ("change_without_items", f"An {kind} needs items (the subscription after the change)")
    elif kind in ("upgrade", "downgrade", "quantity_change") and unchanged:
        problem = ("change_changes_nothing", "The items are the subscription as it is")
    elif kind == "quantity_change" and not same_products:
        problem = ("change_not_a_quantity_change", "A quantity change keeps the same products; this one changes them")
    elif kind == "upgrade" and after <= before:
        problem = ("change_not_an_upgrade", f"The recurring amount would go from {before} to {after}, not up")
    elif kind == "downgrade" and after >= before:
        problem = ("change_not_a_downgrade", f"The recurring amount would go from {before} to {after}, not down")
    if problem is not None:
        raise BusinessRuleViolation(
            problem[0], problem[1], owner_system=owner, field_errors=[{"pointer": "/items", "detail": problem[1]}]
        )


def _rule(process: ProcessRuntime, kind: str, before: Decimal, after: Decimal) -> tuple[str, Any, Any]:
    """The governance rule of the change: (its name, effective, proration)."""
    if kind == "renewal" or kind == "cancel_at_period_end":
        return kind, "period_end", "none"
    if kind == "cancel_immediately":
        return kind, "immediately", "none"
    rules = process.change_rules()
    name = (
        kind if kind in ("upgrade", "downgrade") else ("quantity_increase" if after >= before else "quantity_decrease")
    )
    rule = getattr(rules, name)
    return name, rule.effective, rule.proration


def _erp_lines(kind: str, current: list[CurrentItem], target: list[TargetItem]) -> list[ErpLine]:
    """What the change order sells: a renewal its whole next term, a change what it adds (none for less)."""
    lines: list[ErpLine] = []
    if kind in CANCELLATIONS:
        return lines
    for item in target:
        had = 0 if kind == "renewal" else sum((c.quantity or 0) for c in current if c.product_code == item.product_code)
        added = (1 if item.metered else item.quantity) - had
        if added > 0:
            lines.append(
                ErpLine(
                    item_id=item.erp_item_id,
                    quantity=str(added),
                    unit_price=item.unit_amount,
                    description=f"{'Renewal' if kind == 'renewal' else 'Change'}: {item.product_code}",
                )
            )
    return lines


async def _entitlements(process: ProcessRuntime, tenant: str | None) -> list[EntitlementBefore]:
    if tenant is None:
        return []
    page = await process.product.list_entitlements(tenant, status="active", limit=100, position=None)
    return [EntitlementBefore(id=e.id, sku_code=e.sku_code, quantity=e.quantity, ends_at=e.ends_at) for e in page.items]


def _units(quantity: str) -> int:
    value = Decimal(quantity)
    whole = int(value)
    return whole if whole == value else whole + 1


def _broken(code: str, detail: str, owner: str, pointer: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(
        code, detail, owner_system=owner, field_errors=[{"pointer": pointer, "detail": detail}]
    )
