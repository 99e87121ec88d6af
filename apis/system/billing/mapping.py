"""Stripe objects ↔ canonical billing objects: the only place their field names meet ours.

Stripe amounts are integers in the currency's minor unit (cents; none for JPY; three
decimals for KWD …); canonical :class:`~apis.canonical.Money` is a decimal string with an
upper-case ISO code. Anything a canonical object requires but the Stripe object lacks
raises UpstreamContractViolation (502).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from apis.canonical import (
    Address,
    BillingCreditNote,
    BillingCustomer,
    BillingInvoice,
    BillingInvoiceLine,
    BillingPrice,
    BillingProduct,
    Meter,
    Money,
    SchedulePhase,
    Subscription,
    SubscriptionItem,
    SubscriptionItemInput,
    SubscriptionSchedule,
)
from core.errors import InvalidInput, UpstreamContractViolation

ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
EXTERNAL_ID_KEY = "strata_id"
"""Metadata key holding Strata's canonical id on Stripe objects."""
CRM_ACCOUNT_KEY = "crm_account_id"
PRODUCT_CODE_KEY = "product_code"
PRORATION = {"prorate": "create_prorations", "prorate_and_invoice": "always_invoice", "none": "none"}
_ADDRESS = {
    "line1": "line1",
    "line2": "line2",
    "city": "city",
    "region": "state",
    "postal_code": "postal_code",
    "country": "country",
}


def exponent(currency: str) -> int:
    """Digits after the decimal point of a currency's minor unit."""
    code = currency.lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_money(minor: Any, currency: Any) -> Money:
    """Stripe minor units → Money."""
    if not isinstance(minor, int) or not isinstance(currency, str):
        raise UpstreamContractViolation(f"Stripe amount {minor!r} {currency!r} is not an integer with a currency")
    places = exponent(currency)
    return Money.of(Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)), currency.upper())


def to_minor(money: Money, pointer: str) -> tuple[int, str]:
    """Money → (minor units, lower-case currency); 422 naming ``pointer`` when it does not fit."""
    try:
        amount = Decimal(money.amount)
    except InvalidOperation:
        raise _invalid(pointer + "/amount", "amount is not a decimal number") from None
    places = exponent(money.currency)
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        raise _invalid(pointer + "/amount", f"{money.currency} amounts have at most {places} decimals")
    return int(minor), money.currency.lower()


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


def required_field(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]``, which must be present (else 502)."""
    value = obj.get(name)
    if value is None:
        raise UpstreamContractViolation(f"Stripe {obj.get('object', 'object')} lacks {name}")
    return value


def unix_time(value: Any) -> dt.datetime | None:
    """A Stripe Unix timestamp as a UTC datetime (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, int):
        raise UpstreamContractViolation(f"Stripe timestamp {value!r} is not an integer")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def created_time(obj: dict[str, Any]) -> dt.datetime:
    """The object's ``created`` time (required)."""
    created = unix_time(required_field(obj, "created"))
    assert created is not None
    return created


def _ref(obj: dict[str, Any], name: str) -> str:
    """A required reference (an id, or an expanded object's id)."""
    value = id_of(obj.get(name))
    if value is None:
        raise UpstreamContractViolation(f"Stripe {obj.get('object', 'object')} lacks {name}")
    return value


def id_of(value: Any) -> str | None:
    """An id field that may be expanded into an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


# -- customers -------------------------------------------------------------------------------
def to_customer(obj: dict[str, Any]) -> BillingCustomer:
    """Stripe customer → BillingCustomer."""
    metadata = obj.get("metadata") or {}
    raw = obj.get("address")
    address = (
        Address(**{ours: raw.get(theirs) for ours, theirs in _ADDRESS.items()})
        if isinstance(raw, dict) and any(raw.values())
        else None
    )
    currency = obj.get("currency")
    return BillingCustomer(
        id=required_field(obj, "id"),
        external_id=metadata.get(EXTERNAL_ID_KEY),
        crm_account_id=metadata.get(CRM_ACCOUNT_KEY),
        name=obj.get("name"),
        email=obj.get("email"),
        billing_address=address,
        currency=currency.upper() if isinstance(currency, str) else None,
        created_at=created_time(obj),
    )


def from_address(address: Address | None) -> dict[str, Any] | None:
    """Address → Stripe ``address[...]`` (``None`` fields left out)."""
    if address is None:
        return None
    return {theirs: getattr(address, ours) for ours, theirs in _ADDRESS.items() if getattr(address, ours) is not None}


# -- catalogue ------------------------------------------------------------------------------
def to_product(obj: dict[str, Any]) -> BillingProduct:
    """Stripe product → BillingProduct."""
    return BillingProduct(
        id=required_field(obj, "id"),
        code=(obj.get("metadata") or {}).get(PRODUCT_CODE_KEY),
        name=required_field(obj, "name"),
        description=obj.get("description"),
        active=bool(obj.get("active", True)),
        created_at=created_time(obj),
    )


def to_price(obj: dict[str, Any]) -> BillingPrice:
    """Stripe price → BillingPrice."""
    recurring = obj.get("recurring") or None
    unit = obj.get("unit_amount")
    kind = "one_time"
    if isinstance(recurring, dict):
        kind = "metered" if recurring.get("usage_type") == "metered" else "recurring"
    return BillingPrice(
        id=required_field(obj, "id"),
        product_id=_ref(obj, "product"),
        lookup_key=obj.get("lookup_key"),
        unit_amount=to_money(unit, required_field(obj, "currency")) if unit is not None else None,
        kind=kind,  # type: ignore[arg-type]
        interval=recurring.get("interval") if recurring else None,
        interval_count=recurring.get("interval_count") if recurring else None,
        meter_id=recurring.get("meter") if recurring else None,
        active=bool(obj.get("active", True)),
    )


# -- subscriptions --------------------------------------------------------------------------
def _external_id(obj: dict[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    value = metadata.get(EXTERNAL_ID_KEY) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None


def to_subscription(obj: dict[str, Any]) -> Subscription:
    """Stripe subscription → Subscription."""
    items = required_field(obj, "items")
    if not isinstance(items, dict) or not isinstance(items.get("data"), list):
        raise UpstreamContractViolation("Stripe subscription items is not a list")
    return Subscription(
        id=required_field(obj, "id"),
        customer_id=_ref(obj, "customer"),
        status=required_field(obj, "status"),
        currency=str(required_field(obj, "currency")).upper(),
        collection_method=required_field(obj, "collection_method"),
        days_until_due=obj.get("days_until_due"),
        items=[_item(item) for item in items["data"]],
        cancel_at_period_end=bool(obj.get("cancel_at_period_end", False)),
        latest_invoice_id=id_of(obj.get("latest_invoice")),
        canceled_at=unix_time(obj.get("canceled_at")),
        created_at=created_time(obj),
        external_id=_external_id(obj),
        schedule_id=id_of(obj.get("schedule")),
    )


def to_schedule(obj: dict[str, Any]) -> SubscriptionSchedule:
    """Stripe subscription schedule → SubscriptionSchedule."""
    phases = required_field(obj, "phases")
    if not isinstance(phases, list):
        raise UpstreamContractViolation("Stripe subscription schedule phases is not a list")
    return SubscriptionSchedule(
        id=required_field(obj, "id"),
        subscription_id=id_of(obj.get("subscription")),
        status=required_field(obj, "status"),
        phases=[
            SchedulePhase(
                start=_required_time(phase, "start_date"),
                end=unix_time(phase.get("end_date")),
                items=[
                    SubscriptionItemInput(price_id=id_of(item.get("price")) or "", quantity=item.get("quantity"))
                    for item in phase.get("items") or []
                ],
            )
            for phase in phases
        ],
        external_id=_external_id(obj),
    )


def _required_time(obj: dict[str, Any], name: str) -> dt.datetime:
    value = unix_time(required_field(obj, name))
    assert value is not None  # required_field refuses a missing value
    return value


def _item(obj: dict[str, Any]) -> SubscriptionItem:
    price = required_field(obj, "price")
    if not isinstance(price, dict):
        raise UpstreamContractViolation("Stripe subscription item lacks its price")
    return SubscriptionItem(
        id=required_field(obj, "id"),
        price_id=required_field(price, "id"),
        product_id=_ref(price, "product"),
        quantity=obj.get("quantity"),
        current_period_start=unix_time(obj.get("current_period_start")),
        current_period_end=unix_time(obj.get("current_period_end")),
    )


# -- invoices -------------------------------------------------------------------------------
def to_invoice(obj: dict[str, Any]) -> BillingInvoice:
    """Stripe invoice → BillingInvoice (subscription read from ``parent``, as the current API has it)."""
    currency = required_field(obj, "currency")
    lines = obj.get("lines") or {"data": []}
    if not isinstance(lines, dict) or not isinstance(lines.get("data"), list):
        raise UpstreamContractViolation("Stripe invoice lines is not a list")
    parent = obj.get("parent") or {}
    subscription = (parent.get("subscription_details") or {}).get("subscription") if isinstance(parent, dict) else None
    transitions = obj.get("status_transitions") or {}
    due = unix_time(obj.get("due_date"))
    return BillingInvoice(
        id=required_field(obj, "id"),
        number=obj.get("number"),
        customer_id=_ref(obj, "customer"),
        subscription_id=id_of(subscription) or id_of(obj.get("subscription")),
        status=required_field(obj, "status"),
        collection_method=obj.get("collection_method") or "charge_automatically",
        total=to_money(required_field(obj, "total"), currency),
        amount_due=to_money(required_field(obj, "amount_due"), currency),
        amount_paid=to_money(required_field(obj, "amount_paid"), currency),
        amount_remaining=to_money(_remaining(obj), currency),
        due_date=due.date() if due else None,
        hosted_url=obj.get("hosted_invoice_url"),
        lines=[_line(line, currency) for line in lines["data"]],
        created_at=created_time(obj),
        finalized_at=unix_time(transitions.get("finalized_at")),
        paid_at=unix_time(transitions.get("paid_at")),
        voided_at=unix_time(transitions.get("voided_at")),
    )


def _remaining(invoice: dict[str, Any]) -> Any:
    """``amount_remaining``, or ``amount_due - amount_paid`` from older API shapes that lack it."""
    remaining = invoice.get("amount_remaining")
    if remaining is None:
        due, paid = required_field(invoice, "amount_due"), required_field(invoice, "amount_paid")
        remaining = due - paid if isinstance(due, int) and isinstance(paid, int) else None
    return remaining


def _line(obj: dict[str, Any], currency: str) -> BillingInvoiceLine:
    pricing = obj.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price") if isinstance(pricing, dict) else None
    period = obj.get("period") or {}
    return BillingInvoiceLine(
        id=required_field(obj, "id"),
        description=obj.get("description"),
        quantity=obj.get("quantity"),
        amount=to_money(required_field(obj, "amount"), obj.get("currency") or currency),
        price_id=id_of(price) or id_of(obj.get("price")),
        proration=_proration(obj),
        period_start=unix_time(period.get("start")),
        period_end=unix_time(period.get("end")),
    )


def _proration(line: dict[str, Any]) -> bool:
    """Whether an invoice line is a proration: ``parent.<type>.proration`` in the current API (the
    line's own ``proration`` is gone since the ``parent`` shape came in), else the older top-level field."""
    parent = line.get("parent")
    details = parent.get(str(parent.get("type"))) if isinstance(parent, dict) else None
    if isinstance(details, dict) and "proration" in details:
        return bool(details["proration"])
    return bool(line.get("proration", False))


def to_credit_note(obj: dict[str, Any]) -> BillingCreditNote:
    """Stripe credit note → BillingCreditNote."""
    return BillingCreditNote(
        id=required_field(obj, "id"),
        number=required_field(obj, "number"),
        invoice_id=_ref(obj, "invoice"),
        customer_id=_ref(obj, "customer"),
        amount=to_money(required_field(obj, "amount"), required_field(obj, "currency")),
        reason=obj.get("reason"),
        memo=obj.get("memo"),
        status=required_field(obj, "status"),
        applies_before_payment=obj.get("type") == "pre_payment",
        created_at=created_time(obj),
    )


def to_meter(obj: dict[str, Any]) -> Meter:
    """Stripe billing meter → Meter."""
    aggregation = required_field(obj, "default_aggregation")
    return Meter(
        id=required_field(obj, "id"),
        event_name=required_field(obj, "event_name"),
        display_name=obj.get("display_name") or obj["event_name"],
        aggregation=required_field(aggregation, "formula"),
        active=obj.get("status") == "active",
    )


# -- Stripe params → our fields (for 422s naming the field) ----------------------------------
_ITEM_PARAM = re.compile(r"^items\[(\d+)\]\[(price|quantity|id)\]$")


def subscription_pointer(param: str) -> str | None:
    """``items[0][price]`` → ``/items/0/price_id`` …"""
    match = _ITEM_PARAM.match(param)
    if match:
        field = {"price": "price_id", "quantity": "quantity", "id": "item_id"}[match[2]]
        return f"/items/{match[1]}/{field}"
    return {"customer": "/customer_id", "days_until_due": "/days_until_due", "items": "/items"}.get(param)


def customer_pointer(param: str) -> str | None:
    """``email`` → ``/email``, ``address[country]`` → ``/billing_address/country`` …"""
    if param.startswith("address["):
        theirs = param[8:-1]
        ours = {v: k for k, v in _ADDRESS.items()}.get(theirs, theirs)
        return f"/billing_address/{ours}"
    return {"email": "/email", "name": "/name", "metadata[strata_id]": "/external_id"}.get(param)


def credit_note_pointer(param: str) -> str | None:
    """``amount`` → ``/amount/amount`` …"""
    return {"amount": "/amount/amount", "invoice": "/invoice_id", "reason": "/reason", "memo": "/memo"}.get(param)


def usage_pointer(param: str) -> str | None:
    """``payload[stripe_customer_id]`` → ``/customer_id`` …"""
    return {
        "event_name": "/event_name",
        "payload[stripe_customer_id]": "/customer_id",
        "payload[value]": "/value",
        "timestamp": "/timestamp",
        "identifier": "/identifier",
    }.get(param)
