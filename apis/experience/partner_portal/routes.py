"""``/experience/partner-portal/v1``: a partner's customers, their subscriptions, and its deals.

``GET customers`` pages the CRM accounts attributed to the caller's partner, ``GET
customers/{customer_id}`` is one of them, ``GET customers/{customer_id}/subscriptions`` pages its
billing subscriptions. ``GET deals`` and ``GET deals/{deal_id}`` are the opportunities attributed
to the partner; ``POST deals`` registers one (:mod:`apis.experience.partner_portal.deals`).

Only partner-bound principals reach these handlers (the authorization policy refuses any other,
and refuses partner-bound ones everywhere else). Anything not attributed to the caller's
partner — another partner's customer or deal, a direct one, an unknown id — answers the same
404, so ids cannot be probed. GETs need ``experience:partner-portal:read``, ``POST deals``
``experience:partner-portal:write`` (and an Idempotency-Key, enforced by the idempotency policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from apis.canonical import Customer, Opportunity, Page
from apis.experience.customer_portal.compose import billing_customer_id
from apis.experience.partner_portal import views as v
from apis.experience.partner_portal.deals import (
    DealAlreadyRegistered,
    DealRegistration,
    RegistrationInProgress,
    register,
)
from apis.experience.systems import PortalSystems
from apis.system.http import Limit, caller_client_id, caller_idempotency_key, decode_body, json_response, page_response
from apis.system.paging import cursor_position
from core.errors import Conflict, NotFound, StrataError
from core.idempotency_store import IdempotencyStore
from core.problems import PROBLEM_MEDIA_TYPE, problem_body
from policies.context import principal_of, request_context

BASE = "/experience/partner-portal/v1"


class PartnerRequired(StrataError):
    """A handler was reached without a partner-bound principal (the authorization policy prevents it)."""

    status = 403
    problem = "audience-confined"
    title = "API not available to this client"


@dataclass(frozen=True, slots=True)
class PartnerPortal:
    """What the partner-portal routes read (their one dependency, built by the composition root)."""

    systems: PortalSystems
    idempotency_store: IdempotencyStore
    """Holds a deal registration in progress (see :mod:`apis.experience.partner_portal.deals`)."""
    problem_base_uri: str


def partner_of(request: Request[Any, Any, Any]) -> str:
    """The partner id the caller's token is bound to."""
    principal = principal_of(request)
    partner_id = principal.partner_id if principal is not None else None
    if not partner_id:
        raise PartnerRequired("the partner-portal API answers only clients bound to a partner (partner_id)")
    return partner_id


async def partner_customer(systems: PortalSystems, partner_id: str, customer_id: str) -> Customer:
    """The partner's customer ``customer_id``; 404 (the same as for an unknown id) for any other."""
    try:
        customer = await systems.crm.get_account(customer_id)
    except NotFound:
        customer = None
    if customer is None or customer.partner_id != partner_id:
        raise NotFound(f"No customer {customer_id}")
    return customer


async def _deal_views(systems: PortalSystems, partner_id: str, deals: list[Opportunity]) -> list[v.DealView]:
    """Deal views, each with its customer id when that customer is the partner's (one CRM query)."""
    account_ids = [d.account_id for d in deals if d.account_id]
    owned = {c.id for c in await systems.crm.accounts_by_ids(account_ids) if c.partner_id == partner_id}
    return [v.deal_view(d, customer_is_partners=d.account_id in owned) for d in deals]


@get("/customers", operation_id="listPartnerCustomers")
async def list_customers(
    request: Request[Any, Any, Any], partner_portal: NamedDependency[PartnerPortal], limit: Limit = 20
) -> Response[bytes]:
    """The customers attributed to the caller's partner, in CRM id order."""
    crm = partner_portal.systems.crm
    partner_id = partner_of(request)
    page = await crm.list_accounts(partner_id=partner_id, limit=limit, position=cursor_position(request, str))
    customers = Page(items=[v.customer_view(c) for c in page.items], next_position=page.next_position)
    return page_response(request, customers)


@get("/customers/{customer_id:str}", operation_id="getPartnerCustomer")
async def get_customer(
    request: Request[Any, Any, Any], partner_portal: NamedDependency[PartnerPortal], customer_id: FromPath[str]
) -> Response[bytes]:
    """One of the caller's customers."""
    customer = await partner_customer(partner_portal.systems, partner_of(request), customer_id)
    return json_response(v.customer_view(customer))


@get("/customers/{customer_id:str}/subscriptions", operation_id="listPartnerCustomerSubscriptions")
async def list_subscriptions(
    request: Request[Any, Any, Any],
    partner_portal: NamedDependency[PartnerPortal],
    customer_id: FromPath[str],
    limit: Limit = 20,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The customer's billing subscriptions, newest first."""
    systems = partner_portal.systems
    customer = await partner_customer(systems, partner_of(request), customer_id)
    billing_id = await billing_customer_id(systems, customer.id)
    if billing_id is None:
        return page_response(request, Page(items=[], next_position=None))
    page = await systems.billing.list_subscriptions(
        customer_id=billing_id, status=status, limit=limit, position=cursor_position(request, str)
    )
    subscriptions = Page(items=[v.subscription_view(s) for s in page.items], next_position=page.next_position)
    return page_response(request, subscriptions)


@get("/deals", operation_id="listPartnerDeals")
async def list_deals(
    request: Request[Any, Any, Any], partner_portal: NamedDependency[PartnerPortal], limit: Limit = 20
) -> Response[bytes]:
    """The deals attributed to the caller's partner, in CRM id order."""
    systems = partner_portal.systems
    partner_id = partner_of(request)
    page = await systems.crm.list_opportunities(
        partner_id=partner_id, limit=limit, position=cursor_position(request, str)
    )
    deals = Page(items=await _deal_views(systems, partner_id, page.items), next_position=page.next_position)
    return page_response(request, deals)


@get("/deals/{deal_id:str}", operation_id="getPartnerDeal")
async def get_deal(
    request: Request[Any, Any, Any], partner_portal: NamedDependency[PartnerPortal], deal_id: FromPath[str]
) -> Response[bytes]:
    """One of the caller's deals."""
    systems = partner_portal.systems
    try:
        deal = await systems.crm.get_opportunity(deal_id)
    except NotFound:
        deal = None
    if deal is None or deal.partner_id != partner_of(request):
        raise NotFound(f"No deal {deal_id}")
    (view,) = await _deal_views(systems, partner_of(request), [deal])
    return json_response(view)


def _conflict(request: Request[Any, Any, Any], portal: PartnerPortal, error: Conflict) -> Response[bytes]:
    """A 409 problem; ``existing_deal_id`` only for the caller's own deal, Retry-After while in progress."""
    extensions = {"existing_deal_id": error.deal_id} if isinstance(error, DealAlreadyRegistered) else None
    headers = {"Retry-After": "1"} if isinstance(error, RegistrationInProgress) else None
    body = problem_body(
        status=409,
        problem=error.problem,
        title=error.title,
        detail=error.detail,
        instance=request.url.path,
        request_id=context.request_id if (context := request_context(request)) is not None else None,
        extensions=extensions,
        base_uri=portal.problem_base_uri,
    )
    return Response(content=body, status_code=409, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


@post("/deals", operation_id="registerPartnerDeal", status_code=201)
async def register_deal(
    request: Request[Any, Any, Any], partner_portal: NamedDependency[PartnerPortal]
) -> Response[bytes]:
    """Register a deal for the caller's partner: 201 with the deal, or 409 for a registered company."""
    partner_id = partner_of(request)
    body = await decode_body(request, DealRegistration)
    seed = (partner_id, caller_client_id(request) or "", caller_idempotency_key(request) or "")
    try:
        registered = await register(
            partner_portal.systems.crm,
            partner_portal.idempotency_store,
            body,
            partner_id=partner_id,
            seed=seed,
        )
    except Conflict as error:
        return _conflict(request, partner_portal, error)
    view = v.deal_view(registered.deal, customer_is_partners=registered.customer.partner_id == partner_id)
    return json_response(view, 201, {"Location": f"{BASE}/deals/{view.id}"})


router = Router(
    path=BASE, route_handlers=[list_customers, get_customer, list_subscriptions, list_deals, get_deal, register_deal]
)
