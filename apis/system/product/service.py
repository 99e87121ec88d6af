"""The product system API's operations, in canonical objects only.

A list's position is the platform's page token (signed into the API's cursor at the HTTP
boundary, see :mod:`core.cursors`; a token the platform refuses, e.g. an expired one, comes back as
a 422 naming ``cursor``). Writes that the platform could apply twice
(grants, usage batches) carry an ``Idempotency-Key`` derived from the caller's own key and
client, so a retry — by the connector after a lost answer, or by the caller after a 503 —
is answered by the platform's replay instead of a second grant.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from apis.canonical import (
    Bundle,
    CatalogProduct,
    Entitlement,
    EntitlementChange,
    EntitlementGrant,
    EntitlementRevoke,
    Page,
    ProductCustomer,
    Sku,
    UsageBatchResult,
    UsageEventBatch,
)
from apis.system.kit.link import ApiKey, VendorLink
from apis.system.product import mapping as m
from apis.system.product.connectors.product_platform import (
    ProductPlatformConfig,
    ProductPlatformConnector,
    VendorRejected,
)
from core.errors import InvalidInput, UpstreamContractViolation

VENDOR_MAX_PAGE = 100


def vendor_idempotency_key(client_id: str | None, caller_key: str | None) -> str:
    """The key sent to the platform: stable for one caller's key, fresh (per call) without one."""
    if caller_key:
        digest = hashlib.sha256(f"{client_id or '-'}\n{caller_key}".encode()).hexdigest()[:48]
        return f"strata-{digest}"
    return f"strata-{uuid.uuid4().hex}"


def _segment(value: str) -> str:
    return quote(value, safe="")


class ProductService:
    """Canonical product-platform operations over one connector."""

    def __init__(self, connector: ProductPlatformConnector, client: httpx.AsyncClient | None = None) -> None:
        self.connector = connector
        self._client = client

    @property
    def vendor(self) -> str:
        """The vendor behind this API, as lineage and cross-references name it (``"product-platform"``): what the
        process layer records instead of naming a vendor itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close the HTTP client this service owns, if any."""
        if self._client is not None:
            await self._client.aclose()

    async def _list(self, path: str, params: dict[str, str], limit: int, position: str | None) -> Page[Any]:
        data, token = await self.connector.page(path, params, min(limit, VENDOR_MAX_PAGE), position)
        return Page(items=data, next_position=token)

    # -- catalog ---------------------------------------------------------------------------------
    async def list_products(self, *, family: str | None, limit: int, position: str | None) -> Page[CatalogProduct]:
        """Products in id order, optionally of one family."""
        page = await self._list("/v1/products", {"family": family} if family else {}, limit, position)
        return Page(items=[m.to_product(r) for r in page.items], next_position=page.next_position)

    async def get_product(self, product_id: str) -> CatalogProduct:
        """One product."""
        return m.to_product(await self.connector.get(f"/v1/products/{_segment(product_id)}"))

    async def list_skus(
        self, *, product_id: str | None, code: str | None, limit: int, position: str | None
    ) -> Page[Sku]:
        """SKUs in id order, optionally of one product or with one code."""
        params = {k: v for k, v in (("productId", product_id), ("code", code)) if v}
        page = await self._list("/v1/skus", params, limit, position)
        return Page(items=[m.to_sku(r) for r in page.items], next_position=page.next_position)

    async def get_sku(self, sku_id: str) -> Sku:
        """One SKU."""
        return m.to_sku(await self.connector.get(f"/v1/skus/{_segment(sku_id)}"))

    async def list_bundles(self, *, limit: int, position: str | None) -> Page[Bundle]:
        """Bundles in id order."""
        page = await self._list("/v1/bundles", {}, limit, position)
        return Page(items=[m.to_bundle(r) for r in page.items], next_position=page.next_position)

    async def get_bundle(self, bundle_id: str) -> Bundle:
        """One bundle."""
        return m.to_bundle(await self.connector.get(f"/v1/bundles/{_segment(bundle_id)}"))

    # -- customers and entitlements --------------------------------------------------------------
    async def list_customers(
        self, *, crm_account_id: str | None, limit: int, position: str | None
    ) -> Page[ProductCustomer]:
        """Customers in id order, optionally the one of a CRM account."""
        params = {"externalRef": crm_account_id} if crm_account_id else {}
        page = await self._list("/v1/accounts", params, limit, position)
        return Page(items=[m.to_customer(r) for r in page.items], next_position=page.next_position)

    async def get_customer(self, customer_id: str) -> ProductCustomer:
        """One customer."""
        return m.to_customer(await self.connector.get(f"/v1/accounts/{_segment(customer_id)}"))

    async def list_entitlements(
        self, customer_id: str, *, status: str | None, limit: int, position: str | None
    ) -> Page[Entitlement]:
        """A customer's entitlements in id order, optionally of one status."""
        path = f"/v1/accounts/{_segment(customer_id)}/entitlements"
        page = await self._list(path, {"status": status} if status else {}, limit, position)
        return Page(items=[m.to_entitlement(r) for r in page.items], next_position=page.next_position)

    async def get_entitlement(self, entitlement_id: str) -> Entitlement:
        """One entitlement."""
        return m.to_entitlement(await self.connector.get(f"/v1/entitlements/{_segment(entitlement_id)}"))

    async def grant_entitlement(
        self, customer_id: str, grant: EntitlementGrant, *, idempotency_key: str
    ) -> Entitlement:
        """Grant a SKU to a customer (exactly once per ``idempotency_key``)."""
        body = m.from_grant(grant)
        if grant.ends_at is not None and grant.starts_at is not None and grant.ends_at <= grant.starts_at:
            raise _invalid("/ends_at", "ends_at must be after starts_at")
        path = f"/v1/accounts/{_segment(customer_id)}/entitlements"
        try:
            record = await self.connector.post(path, body, idempotency_key=idempotency_key)
        except VendorRejected as error:
            raise _field_error(error, _GRANT_FIELDS) from None
        return m.to_entitlement(record)

    async def change_entitlement(self, entitlement_id: str, change: EntitlementChange) -> Entitlement:
        """Set new absolute values (quantity, end)."""
        body = m.from_change(change)
        if not body:
            raise _invalid("", "give quantity, ends_at or both")
        try:
            record = await self.connector.patch(f"/v1/entitlements/{_segment(entitlement_id)}", body)
        except VendorRejected as error:
            raise _field_error(error, {"quantity": "/quantity", "endsAt": "/ends_at"}) from None
        return m.to_entitlement(record)

    async def revoke_entitlement(
        self, entitlement_id: str, revoke: EntitlementRevoke, *, idempotency_key: str
    ) -> Entitlement:
        """Revoke an entitlement (revoking a revoked one answers it unchanged)."""
        body = {"reason": revoke.reason} if revoke.reason is not None else {}
        path = f"/v1/entitlements/{_segment(entitlement_id)}/revoke"
        return m.to_entitlement(await self.connector.post(path, body, idempotency_key=idempotency_key))

    # -- usage -----------------------------------------------------------------------------------
    async def ingest_usage(self, batch: UsageEventBatch, *, idempotency_key: str) -> UsageBatchResult:
        """Send usage events; each comes back accepted, duplicate (seen before) or rejected."""
        events = [m.from_usage_event(event, index) for index, event in enumerate(batch.events)]
        body = await self.connector.post("/v1/usage-events/batch", {"events": events}, idempotency_key=idempotency_key)
        raw = body.get("results")
        if not isinstance(raw, list) or len(raw) != len(events):
            raise UpstreamContractViolation("Product platform usage answer lacks one result per event")
        results = [m.to_usage_result(item if isinstance(item, dict) else {}) for item in raw]
        return UsageBatchResult(
            results=results,
            accepted=sum(r.status == "accepted" for r in results),
            duplicates=sum(r.status == "duplicate" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
        )


_GRANT_FIELDS = {
    "skuCode": "/sku_code",
    "skuId": "/sku_code",
    "quantity": "/quantity",
    "startsAt": "/starts_at",
    "endsAt": "/ends_at",
    "externalRef": "/source_ref",
}


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


def _field_error(error: VendorRejected, pointers: dict[str, str]) -> Exception:
    """A platform 400 naming a field we sent → a 422 naming the caller's field; else as it was."""
    for item in error.details:
        pointer = pointers.get(str(item.get("field")))
        if pointer is not None:
            return _invalid(pointer, str(item.get("issue") or error.detail))
    return error


def build_product_service(link: VendorLink[ApiKey], *, config: ProductPlatformConfig | None = None) -> ProductService:
    """The product service over the platform ``link`` reaches (the real one, or its sandbox).

    Args:
        link: client, base URL, API key (sent as ``X-Api-Key``) and breaker, from the composition root.
        config: connector timeouts and retries (defaults: :class:`ProductPlatformConfig`).
    """
    connector = ProductPlatformConnector(
        link.client, link.base_url, link.credentials.key, config=config or ProductPlatformConfig(), breaker=link.breaker
    )
    return ProductService(connector, link.client)
