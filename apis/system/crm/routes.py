"""``/system/crm/v1``: canonical customers, contacts and opportunities over the CRM.

Authentication, scopes, request validation and problem+json belong to the governance
pipeline in front; handlers read ``request.app.state.crm`` (a :class:`CrmService`) and raise
:mod:`gateway.errors` exceptions (or Litestar client errors for input the contract check
would already have refused).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, Router, get, patch, put
from litestar.exceptions import ClientException, ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.canonical import OPPORTUNITY_STAGES, BillingStatusPatch, CustomerUpsert, Page
from apis.system.crm.service import CrmService

T = TypeVar("T")
JSON = "application/json"
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size.")]


def _service(request: Request[Any, Any, Any]) -> CrmService:
    service: CrmService = request.app.state.crm
    return service


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=headers)


async def _decode(request: Request[Any, Any, Any], kind: type[T]) -> T:
    body = await request.body()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        raise ClientException(status_code=422, detail=f"Request body violates the contract: {error}") from None
    except msgspec.DecodeError:
        raise ValidationException(detail="Request body is not valid JSON") from None


def _page(request: Request[Any, Any, Any], page: Page[Any]) -> Response[bytes]:
    headers = None
    if page.next_cursor:
        query = {k: v for k, v in request.query_params.items() if k != "cursor"}
        query["cursor"] = page.next_cursor
        headers = {"Link": f'<{request.url.path}?{urlencode(query)}>; rel="next"'}
    return _json({"items": page.items, "next_cursor": page.next_cursor}, headers=headers)


@get("/accounts", operation_id="listAccounts")
async def list_accounts(
    request: Request[Any, Any, Any],
    limit: Limit = 50,
    cursor: FromQuery[str | None] = None,
    name_prefix: FromQuery[str | None] = None,
    parent_id: FromQuery[str | None] = None,
    updated_since: FromQuery[dt.datetime | None] = None,
) -> Response[bytes]:
    """Customers, filtered by name prefix, parent and last change."""
    page = await _service(request).list_accounts(
        name_prefix=name_prefix, parent_id=parent_id, updated_since=updated_since, limit=limit, cursor=cursor
    )
    return _page(request, page)


@get("/accounts/{account_id:str}", operation_id="getAccount")
async def get_account(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Response[bytes]:
    """One customer."""
    return _json(await _service(request).get_account(account_id))


@put("/accounts/by-external-id/{external_id:str}", operation_id="upsertAccountByExternalId")
async def upsert_account(request: Request[Any, Any, Any], external_id: FromPath[str]) -> Response[bytes]:
    """Create or update the customer carrying this external (Strata) id: 201 created, 200 updated."""
    upsert = await _decode(request, CustomerUpsert)
    customer, created = await _service(request).upsert_account_by_external_id(external_id, upsert)
    headers = {"Location": f"{request.url.path.rsplit('/accounts/', 1)[0]}/accounts/{customer.id}"}
    return _json(customer, 201 if created else 200, headers)


@get("/contacts", operation_id="listContacts")
async def list_contacts(
    request: Request[Any, Any, Any],
    limit: Limit = 50,
    cursor: FromQuery[str | None] = None,
    account_id: FromQuery[str | None] = None,
    updated_since: FromQuery[dt.datetime | None] = None,
) -> Response[bytes]:
    """Contacts, optionally of one customer."""
    page = await _service(request).list_contacts(
        account_id=account_id, updated_since=updated_since, limit=limit, cursor=cursor
    )
    return _page(request, page)


@get("/contacts/{contact_id:str}", operation_id="getContact")
async def get_contact(request: Request[Any, Any, Any], contact_id: FromPath[str]) -> Response[bytes]:
    """One contact."""
    return _json(await _service(request).get_contact(contact_id))


@get("/opportunities", operation_id="listOpportunities")
async def list_opportunities(
    request: Request[Any, Any, Any],
    limit: Limit = 50,
    cursor: FromQuery[str | None] = None,
    stage: FromQuery[str | None] = None,
    modified_since: FromQuery[dt.datetime | None] = None,
    account_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Opportunities without lines, filtered by stage, last change and customer."""
    if stage is not None and stage not in OPPORTUNITY_STAGES:
        raise ClientException(status_code=422, detail=f"stage must be one of {', '.join(OPPORTUNITY_STAGES)}")
    page = await _service(request).list_opportunities(
        stage=stage, modified_since=modified_since, account_id=account_id, limit=limit, cursor=cursor
    )
    return _page(request, page)


@get("/opportunities/{opportunity_id:str}", operation_id="getOpportunity")
async def get_opportunity(request: Request[Any, Any, Any], opportunity_id: FromPath[str]) -> Response[bytes]:
    """One opportunity with its product lines."""
    return _json(await _service(request).get_opportunity(opportunity_id))


@patch("/opportunities/{opportunity_id:str}/billing-status", operation_id="patchOpportunityBillingStatus")
async def patch_billing_status(request: Request[Any, Any, Any], opportunity_id: FromPath[str]) -> Response[bytes]:
    """Billing's write-back: status and invoice number; returns the updated opportunity."""
    body = await _decode(request, BillingStatusPatch)
    return _json(await _service(request).patch_opportunity_billing_status(opportunity_id, body))


router = Router(
    path="/system/crm/v1",
    route_handlers=[
        list_accounts,
        get_account,
        upsert_account,
        list_contacts,
        get_contact,
        list_opportunities,
        get_opportunity,
        patch_billing_status,
    ],
)
