"""Product platform records ↔ canonical objects: the only place their field names meet ours.

Anything a canonical object requires but the record lacks raises UpstreamContractViolation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from apis.canonical import (
    Bundle,
    BundleComponent,
    CatalogProduct,
    Entitlement,
    EntitlementChange,
    EntitlementGrant,
    Money,
    ProductCustomer,
    Sku,
    UsageEvent,
    UsageEventResult,
)
from core.errors import InvalidInput, UpstreamContractViolation

# ISO 4217 minor units of the currencies the platform prices in; anything else has 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
BILLING_INTERVALS = {"month": "month", "year": "year", "once": "one_time"}
CHARGE_MODELS = ("flat", "per_unit", "metered")
USAGE_STATUSES = ("accepted", "duplicate", "rejected")


def _required(record: dict[str, Any], name: str, kind: type | tuple[type, ...] = str) -> Any:
    value = record.get(name)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UpstreamContractViolation(f"Product platform record lacks '{name}'")
    return value


def _timestamp(record: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    raw = record.get(name)
    if raw is None and optional:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(_required(record, name)).replace("Z", "+00:00"))
    except ValueError:
        raise UpstreamContractViolation(f"Product platform {name} is not a timestamp: {raw!r}") from None
    if moment.tzinfo is None:
        raise UpstreamContractViolation(f"Product platform {name} has no offset: {raw!r}")
    return moment.astimezone(dt.UTC)


def wire_time(moment: dt.datetime, pointer: str) -> str:
    """A canonical datetime in the platform's format (UTC, milliseconds, ``Z``).

    Raises:
        InvalidInput: the instant has no UTC equivalent within years 1..9999 (names ``pointer``).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        detail = "timestamp is out of range once converted to UTC"
        raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}]) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def money(price: Any) -> Money:
    """``{"currency", "unitAmountMinor"}`` → Money."""
    if not isinstance(price, dict):
        raise UpstreamContractViolation("Product platform SKU lacks 'price'")
    currency = _required(price, "currency")
    minor = _required(price, "unitAmountMinor", int)
    exponent = MINOR_UNITS.get(currency, 2)
    return Money.of(Decimal(minor).scaleb(-exponent), currency)


def to_product(record: dict[str, Any]) -> CatalogProduct:
    """Platform product → CatalogProduct."""
    return CatalogProduct(
        id=_required(record, "id"),
        code=_required(record, "code"),
        name=_required(record, "name"),
        family=record.get("family"),
        description=record.get("description"),
        active=bool(record.get("active", True)),
        created_at=_timestamp(record, "createdAt"),
        updated_at=_timestamp(record, "updatedAt"),
    )


def to_sku(record: dict[str, Any]) -> Sku:
    """Platform SKU → Sku."""
    model = _required(record, "chargeModel")
    if model not in CHARGE_MODELS:
        raise UpstreamContractViolation(f"Product platform chargeModel {model!r} is unknown")
    interval = record.get("billingInterval")
    return Sku(
        id=_required(record, "id"),
        code=_required(record, "code"),
        product_id=_required(record, "productId"),
        name=_required(record, "name"),
        charge_model=model,
        billing_interval=BILLING_INTERVALS.get(interval) if isinstance(interval, str) else None,  # type: ignore[arg-type]
        unit=record.get("unit"),
        unit_price=money(record.get("price")),
        active=bool(record.get("active", True)),
    )


def to_bundle(record: dict[str, Any]) -> Bundle:
    """Platform bundle → Bundle."""
    items = _required(record, "items", list)
    return Bundle(
        id=_required(record, "id"),
        code=_required(record, "code"),
        name=_required(record, "name"),
        description=record.get("description"),
        components=[
            BundleComponent(
                sku_id=_required(item, "skuId"),
                sku_code=_required(item, "skuCode"),
                quantity=_required(item, "quantity", int),
            )
            for item in items
            if isinstance(item, dict)
        ],
        active=bool(record.get("active", True)),
    )


def to_customer(record: dict[str, Any]) -> ProductCustomer:
    """Platform account → ProductCustomer."""
    return ProductCustomer(
        id=_required(record, "id"),
        crm_account_id=record.get("externalRef"),
        name=_required(record, "name"),
        domain=record.get("domain"),
        status=_required(record, "status"),
        created_at=_timestamp(record, "createdAt"),
    )


def to_entitlement(record: dict[str, Any]) -> Entitlement:
    """Platform entitlement → Entitlement."""
    status = _required(record, "status")
    if status not in ("active", "revoked"):
        raise UpstreamContractViolation(f"Product platform entitlement status {status!r} is unknown")
    return Entitlement(
        id=_required(record, "id"),
        customer_id=_required(record, "accountId"),
        sku_id=_required(record, "skuId"),
        sku_code=_required(record, "skuCode"),
        quantity=_required(record, "quantity", int),
        status=status,
        starts_at=_timestamp(record, "startsAt"),
        ends_at=_timestamp(record, "endsAt", optional=True),
        revoked_at=_timestamp(record, "revokedAt", optional=True),
        revoke_reason=record.get("revokeReason"),
        source_ref=record.get("externalRef"),
        created_at=_timestamp(record, "createdAt"),
        updated_at=_timestamp(record, "updatedAt"),
    )


def from_grant(grant: EntitlementGrant) -> dict[str, Any]:
    """EntitlementGrant → the platform's grant body."""
    body: dict[str, Any] = {"skuCode": grant.sku_code, "quantity": grant.quantity}
    if grant.starts_at is not None:
        body["startsAt"] = wire_time(grant.starts_at, "/starts_at")
    if grant.ends_at is not None:
        body["endsAt"] = wire_time(grant.ends_at, "/ends_at")
    if grant.source_ref is not None:
        body["externalRef"] = grant.source_ref
    return body


def from_change(change: EntitlementChange) -> dict[str, Any]:
    """EntitlementChange → the platform's PATCH body (only the fields given)."""
    body: dict[str, Any] = {}
    if change.quantity is not None:
        body["quantity"] = change.quantity
    if change.ends_at is not None:
        body["endsAt"] = wire_time(change.ends_at, "/ends_at")
    return body


def from_usage_event(event: UsageEvent, index: int) -> dict[str, Any]:
    """UsageEvent → the platform's event (quantity as a JSON number: integral when it is)."""
    quantity = Decimal(event.quantity)
    number: int | float = int(quantity) if quantity == quantity.to_integral_value() else float(quantity)
    return {
        "id": event.id,
        "accountId": event.customer_id,
        "skuCode": event.sku_code,
        "quantity": number,
        "timestamp": wire_time(event.occurred_at, f"/events/{index}/occurred_at"),
    }


def to_usage_result(record: dict[str, Any]) -> UsageEventResult:
    """One per-event result of a usage batch."""
    status = _required(record, "status")
    if status not in USAGE_STATUSES:
        raise UpstreamContractViolation(f"Product platform usage status {status!r} is unknown")
    error = record.get("error")
    reason = None
    if status == "rejected":
        reason = str(error.get("message") or error.get("code")) if isinstance(error, dict) else "rejected"
    return UsageEventResult(id=_required(record, "id"), status=status, reason=reason)
