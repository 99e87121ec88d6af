"""``/system/product/v1``: catalog, customers, entitlements and usage over the product platform.

Authentication, scopes, request validation and problem+json belong to the governance
pipeline in front; handlers declare the :class:`ProductService` as the ``product`` dependency.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery

from apis.canonical import EntitlementChange, EntitlementGrant, EntitlementRevoke, UsageEventBatch
from apis.system.http import Limit, caller_client_id, decode_body, json_response, page_response
from apis.system.paging import cursor_position
from apis.system.product.service import ProductService, vendor_idempotency_key

PREFIX = "/system/product/v1"


def _vendor_key(request: Request[Any, Any, Any]) -> str:
    """The platform idempotency key for this call (see :func:`vendor_idempotency_key`)."""
    return vendor_idempotency_key(caller_client_id(request), request.headers.get("idempotency-key"))


# -- catalog ---------------------------------------------------------------------------------------
@get("/products", operation_id="listProducts")
async def list_products(
    request: Request[Any, Any, Any],
    product: NamedDependency[ProductService],
    limit: Limit = 50,
    family: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Products, optionally of one family."""
    return page_response(
        request, await product.list_products(family=family, limit=limit, position=cursor_position(request, str))
    )


@get("/products/{product_id:str}", operation_id="getProduct")
async def get_product(product: NamedDependency[ProductService], product_id: FromPath[str]) -> Response[bytes]:
    """One product."""
    return json_response(await product.get_product(product_id))


@get("/skus", operation_id="listSkus")
async def list_skus(
    request: Request[Any, Any, Any],
    product: NamedDependency[ProductService],
    limit: Limit = 50,
    product_id: FromQuery[str | None] = None,
    code: FromQuery[str | None] = None,
) -> Response[bytes]:
    """SKUs, optionally of one product or with one code."""
    page = await product.list_skus(
        product_id=product_id, code=code, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@get("/skus/{sku_id:str}", operation_id="getSku")
async def get_sku(product: NamedDependency[ProductService], sku_id: FromPath[str]) -> Response[bytes]:
    """One SKU."""
    return json_response(await product.get_sku(sku_id))


@get("/bundles", operation_id="listBundles")
async def list_bundles(
    request: Request[Any, Any, Any], product: NamedDependency[ProductService], limit: Limit = 50
) -> Response[bytes]:
    """Bundles."""
    return page_response(request, await product.list_bundles(limit=limit, position=cursor_position(request, str)))


@get("/bundles/{bundle_id:str}", operation_id="getBundle")
async def get_bundle(product: NamedDependency[ProductService], bundle_id: FromPath[str]) -> Response[bytes]:
    """One bundle."""
    return json_response(await product.get_bundle(bundle_id))


# -- customers and entitlements --------------------------------------------------------------------
@get("/customers", operation_id="listProductCustomers")
async def list_customers(
    request: Request[Any, Any, Any],
    product: NamedDependency[ProductService],
    limit: Limit = 50,
    crm_account_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Customers, optionally the one of a CRM account."""
    page = await product.list_customers(
        crm_account_id=crm_account_id, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@get("/customers/{customer_id:str}", operation_id="getProductCustomer")
async def get_customer(product: NamedDependency[ProductService], customer_id: FromPath[str]) -> Response[bytes]:
    """One customer."""
    return json_response(await product.get_customer(customer_id))


@get("/customers/{customer_id:str}/entitlements", operation_id="listEntitlements")
async def list_entitlements(
    request: Request[Any, Any, Any],
    product: NamedDependency[ProductService],
    customer_id: FromPath[str],
    limit: Limit = 50,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """A customer's entitlements, optionally of one status."""
    if status is not None and status not in ("active", "revoked"):
        raise ClientException(status_code=422, detail="status must be active or revoked")
    page = await product.list_entitlements(
        customer_id, status=status, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@post("/customers/{customer_id:str}/entitlements", operation_id="grantEntitlement", status_code=201)
async def grant_entitlement(
    request: Request[Any, Any, Any], product: NamedDependency[ProductService], customer_id: FromPath[str]
) -> Response[bytes]:
    """Grant a SKU to a customer: 201 with the entitlement and its ``Location``."""
    grant = await decode_body(request, EntitlementGrant)
    entitlement = await product.grant_entitlement(customer_id, grant, idempotency_key=_vendor_key(request))
    return json_response(entitlement, 201, {"Location": f"{PREFIX}/entitlements/{entitlement.id}"})


@get("/entitlements/{entitlement_id:str}", operation_id="getEntitlement")
async def get_entitlement(product: NamedDependency[ProductService], entitlement_id: FromPath[str]) -> Response[bytes]:
    """One entitlement."""
    return json_response(await product.get_entitlement(entitlement_id))


@patch("/entitlements/{entitlement_id:str}", operation_id="changeEntitlement")
async def change_entitlement(
    request: Request[Any, Any, Any], product: NamedDependency[ProductService], entitlement_id: FromPath[str]
) -> Response[bytes]:
    """Set a new quantity and/or end."""
    change = await decode_body(request, EntitlementChange)
    return json_response(await product.change_entitlement(entitlement_id, change))


@post("/entitlements/{entitlement_id:str}/revoke", operation_id="revokeEntitlement", status_code=200)
async def revoke_entitlement(
    request: Request[Any, Any, Any], product: NamedDependency[ProductService], entitlement_id: FromPath[str]
) -> Response[bytes]:
    """Revoke an entitlement (a revoked one is answered unchanged)."""
    revoke = await decode_body(request, EntitlementRevoke)
    service = product
    return json_response(await service.revoke_entitlement(entitlement_id, revoke, idempotency_key=_vendor_key(request)))


# -- usage -----------------------------------------------------------------------------------------
@post("/usage-events/batches", operation_id="ingestUsageEvents", status_code=200)
async def ingest_usage(request: Request[Any, Any, Any], product: NamedDependency[ProductService]) -> Response[bytes]:
    """Usage events; per-event results (duplicates are results, not errors)."""
    batch = await decode_body(request, UsageEventBatch)
    return json_response(await product.ingest_usage(batch, idempotency_key=_vendor_key(request)))


router = Router(
    path=PREFIX,
    route_handlers=[
        list_products,
        get_product,
        list_skus,
        get_sku,
        list_bundles,
        get_bundle,
        list_customers,
        get_customer,
        list_entitlements,
        grant_entitlement,
        get_entitlement,
        change_entitlement,
        revoke_entitlement,
        ingest_usage,
    ],
)
