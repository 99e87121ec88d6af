"""The product platform's objects (``/system/product``): catalog, SKUs, bundles, entitlements, usage."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Money

ChargeModel = Literal["flat", "per_unit", "metered"]
"""How a SKU is charged: a flat fee, per unit (seat, instance), or by metered usage."""

BillingInterval = Literal["month", "year", "one_time"]
"""How often a SKU is charged."""

EntitlementStatus = Literal["active", "revoked"]
"""Whether an entitlement is in force."""

UsageEventStatus = Literal["accepted", "duplicate", "rejected"]
"""What became of one ingested usage event."""


class CatalogProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A product of the product platform's catalog (what is sold, not how it is priced)."""

    id: str
    """Opaque id of the product."""
    code: str
    """Product code shared with CRM and ERP, e.g. ``STRATA-CORE``."""
    name: str
    """Display name."""
    family: str | None
    """Product family, e.g. ``Connectors``."""
    description: str | None
    """Longer description."""
    active: bool
    """Whether it can be sold."""
    created_at: dt.datetime
    """When the product was created (UTC)."""
    updated_at: dt.datetime
    """When the product last changed (UTC)."""


class Sku(msgspec.Struct, frozen=True, kw_only=True):
    """A sellable variant of a product, with its price."""

    id: str
    """Opaque id of the SKU."""
    code: str
    """SKU code; the primary SKU of a product carries the product code."""
    product_id: str
    """Id of the product."""
    name: str
    """Display name."""
    charge_model: ChargeModel
    """How it is charged."""
    billing_interval: BillingInterval | None
    """How often it is charged."""
    unit: str | None
    """What one unit is, e.g. ``instance`` or ``million_api_calls``."""
    unit_price: Money
    """List price of one unit."""
    active: bool
    """Whether it can be sold."""


class BundleComponent(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU in a bundle."""

    sku_id: str
    """Id of the SKU."""
    sku_code: str
    """Code of the SKU."""
    quantity: int
    """Units of the SKU in the bundle."""


class Bundle(msgspec.Struct, frozen=True, kw_only=True):
    """SKUs sold together under one code."""

    id: str
    """Opaque id of the bundle."""
    code: str
    """Bundle code, e.g. ``STRATA-STARTER``."""
    name: str
    """Display name."""
    description: str | None
    """Longer description."""
    components: list[BundleComponent]
    """The SKUs it contains."""
    active: bool
    """Whether it can be sold."""


class ProductCustomer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as the product platform knows it (the tenant that uses the product)."""

    id: str
    """Opaque id of the customer in the product platform."""
    crm_account_id: str | None
    """Id of the same customer in the CRM."""
    name: str
    """Name of the customer."""
    domain: str | None
    """Primary web domain."""
    status: str
    """The platform's status of the tenant, e.g. ``active`` or ``trial``."""
    created_at: dt.datetime
    """When the tenant was created (UTC)."""


class Entitlement(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's right to use a SKU, in a quantity, for a time."""

    id: str
    """Opaque id of the entitlement."""
    customer_id: str
    """Id of the customer (in the product platform)."""
    sku_id: str
    """Id of the SKU."""
    sku_code: str
    """Code of the SKU."""
    quantity: int
    """Units granted (seats, instances, ...)."""
    status: EntitlementStatus
    """Whether it is in force."""
    starts_at: dt.datetime
    """When it starts (UTC)."""
    ends_at: dt.datetime | None
    """When it ends (UTC); ``None`` = open-ended."""
    revoked_at: dt.datetime | None
    """When it was revoked (UTC)."""
    revoke_reason: str | None
    """Why it was revoked."""
    source_ref: str | None
    """What it was granted for (e.g. an order or opportunity id), when known."""
    created_at: dt.datetime
    """When it was granted (UTC)."""
    updated_at: dt.datetime
    """When it last changed (UTC)."""


class EntitlementGrant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Grant a SKU to a customer."""

    sku_code: str
    """Code of the SKU granted."""
    quantity: int = 1
    """Units granted."""
    starts_at: dt.datetime | None = None
    """Start (UTC); ``None`` = now."""
    ends_at: dt.datetime | None = None
    """End (UTC); ``None`` = open-ended."""
    source_ref: str | None = None
    """What it is granted for (an order or opportunity id)."""


class EntitlementChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """New absolute values for an entitlement (repeating a change changes nothing)."""

    quantity: int | None = None
    """New quantity."""
    ends_at: dt.datetime | None = None
    """New end (UTC)."""


class EntitlementRevoke(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Revoke an entitlement."""

    reason: str | None = None
    """Why."""


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One metered usage event; its ``id`` de-duplicates it across batches and retries."""

    id: str
    """Event id chosen by the sender (unique per event, stable across retries)."""
    customer_id: str
    """Id of the customer (in the product platform)."""
    sku_code: str
    """Code of the metered SKU."""
    quantity: str
    """Quantity as a decimal string."""
    occurred_at: dt.datetime
    """When the usage happened (UTC)."""


class UsageEventBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Usage events sent together."""

    events: list[UsageEvent]
    """The events, at most 1,000."""


class UsageEventResult(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one usage event."""

    id: str
    """The event's id."""
    status: UsageEventStatus
    """``accepted``, ``duplicate`` (seen before; nothing changed) or ``rejected``."""
    reason: str | None = None
    """Why it was rejected."""


class UsageBatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """Per-event results of a usage batch, in request order, with totals."""

    results: list[UsageEventResult]
    """One result per event."""
    accepted: int
    """Events accepted now."""
    duplicates: int
    """Events seen before."""
    rejected: int
    """Events refused."""
