"""``/system/crm/v1``: canonical customers, contacts and opportunities over the CRM.

Authentication, scopes, request validation and problem+json belong to the governance
pipeline in front; handlers declare the :class:`CrmService` as the ``crm`` dependency (the
composition root provides it) and raise :mod:`core.errors` exceptions (or Litestar client
errors for input the contract check would already have refused).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, Router, get, patch, put
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery

from apis.canonical import OPPORTUNITY_STAGES, BillingStatusPatch, CustomerUpsert
from apis.system.crm.service import CrmService
from apis.system.http import Limit, decode_body, json_response, page_response
from apis.system.paging import cursor_position


@get("/accounts", operation_id="listAccounts")
async def list_accounts(
    request: Request[Any, Any, Any],
    crm: NamedDependency[CrmService],
    limit: Limit = 50,
    name_prefix: FromQuery[str | None] = None,
    parent_id: FromQuery[str | None] = None,
    updated_since: FromQuery[dt.datetime | None] = None,
) -> Response[bytes]:
    """Customers, filtered by name prefix, parent and last change."""
    page = await crm.list_accounts(
        name_prefix=name_prefix,
        parent_id=parent_id,
        updated_since=updated_since,
        limit=limit,
        position=cursor_position(request, str),
    )
    return page_response(request, page)


@get("/accounts/{account_id:str}", operation_id="getAccount")
async def get_account(crm: NamedDependency[CrmService], account_id: FromPath[str]) -> Response[bytes]:
    """One customer."""
    return json_response(await crm.get_account(account_id))


@put("/accounts/by-external-id/{external_id:str}", operation_id="upsertAccountByExternalId")
async def upsert_account(
    request: Request[Any, Any, Any], crm: NamedDependency[CrmService], external_id: FromPath[str]
) -> Response[bytes]:
    """Create or update the customer carrying this external (Strata) id: 201 created, 200 updated."""
    upsert = await decode_body(request, CustomerUpsert)
    customer, created = await crm.upsert_account_by_external_id(external_id, upsert)
    headers = {"Location": f"{request.url.path.rsplit('/accounts/', 1)[0]}/accounts/{customer.id}"}
    return json_response(customer, 201 if created else 200, headers)


@get("/contacts", operation_id="listContacts")
async def list_contacts(
    request: Request[Any, Any, Any],
    crm: NamedDependency[CrmService],
    limit: Limit = 50,
    account_id: FromQuery[str | None] = None,
    updated_since: FromQuery[dt.datetime | None] = None,
) -> Response[bytes]:
    """Contacts, optionally of one customer."""
    page = await crm.list_contacts(
        account_id=account_id, updated_since=updated_since, limit=limit, position=cursor_position(request, str)
    )
    return page_response(request, page)


@get("/contacts/{contact_id:str}", operation_id="getContact")
async def get_contact(crm: NamedDependency[CrmService], contact_id: FromPath[str]) -> Response[bytes]:
    """One contact."""
    return json_response(await crm.get_contact(contact_id))


@get("/opportunities", operation_id="listOpportunities")
async def list_opportunities(
    request: Request[Any, Any, Any],
    crm: NamedDependency[CrmService],
    limit: Limit = 50,
    stage: FromQuery[str | None] = None,
    modified_since: FromQuery[dt.datetime | None] = None,
    account_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Opportunities without lines, filtered by stage, last change and customer."""
    if stage is not None and stage not in OPPORTUNITY_STAGES:
        raise ClientException(status_code=422, detail=f"stage must be one of {', '.join(OPPORTUNITY_STAGES)}")
    page = await crm.list_opportunities(
        stage=stage,
        modified_since=modified_since,
        account_id=account_id,
        limit=limit,
        position=cursor_position(request, str),
    )
    return page_response(request, page)


@get("/opportunities/{opportunity_id:str}", operation_id="getOpportunity")
async def get_opportunity(crm: NamedDependency[CrmService], opportunity_id: FromPath[str]) -> Response[bytes]:
    """One opportunity with its product lines."""
    return json_response(await crm.get_opportunity(opportunity_id))


@patch("/opportunities/{opportunity_id:str}/billing-status", operation_id="patchOpportunityBillingStatus")
async def patch_billing_status(
    request: Request[Any, Any, Any], crm: NamedDependency[CrmService], opportunity_id: FromPath[str]
) -> Response[bytes]:
    """Billing's write-back: status and invoice number; returns the updated opportunity."""
    body = await decode_body(request, BillingStatusPatch)
    return json_response(await crm.patch_opportunity_billing_status(opportunity_id, body))


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
