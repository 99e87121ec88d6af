"""The CRM system API's operations, in canonical objects only.

Lists use keyset pagination on the CRM id (ids sort in creation order): a page's position is the
last id it holds (``Page.next_position``; the HTTP boundary signs it into the API's cursor, see
:mod:`core.cursors`). Each page asks for ``limit + 1`` rows to learn whether another page exists,
so no count query and no OFFSET (capped at 2,000 by SOQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from apis.canonical import (
    BillingStatusPatch,
    Contact,
    ContactUpsert,
    Customer,
    CustomerUpsert,
    Opportunity,
    OpportunityCreate,
    Page,
)
from apis.system.crm import mapping as m
from apis.system.crm.connectors.salesforce import SalesforceConfig, SalesforceConnector
from apis.system.kit.link import ClientSecret, VendorLink
from core.cursors import InvalidCursor
from core.errors import NotFound

MAX_LIMIT = 200
DOMAIN_MATCHES_MAX = 200
"""Accounts read when looking a company up by its web domain (more is a data-quality problem)."""


class CrmService:
    """Canonical CRM operations over one connector."""

    def __init__(self, connector: SalesforceConnector, client: httpx.AsyncClient | None = None) -> None:
        self.connector = connector
        self._client = client

    @property
    def vendor(self) -> str:
        """The vendor behind this API, as lineage and cross-references name it (``"salesforce"``): what the
        process layer records instead of naming a vendor itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close the HTTP client this service owns, if any."""
        if self._client is not None:
            await self._client.aclose()

    # -- accounts --------------------------------------------------------------------------------
    async def list_accounts(
        self,
        *,
        name_prefix: str | None = None,
        parent_id: str | None = None,
        updated_since: dt.datetime | None = None,
        partner_id: str | None = None,
        limit: int = 50,
        position: str | None = None,
    ) -> Page[Customer]:
        """Customers, in id order, filtered by name prefix, parent, last change and partner."""
        where = []
        if name_prefix:
            where.append(f"Name LIKE {m.soql_like_prefix(name_prefix)}")
        if parent_id:
            where.append(f"ParentId = {m.soql_string(parent_id)}")
        if updated_since:
            where.append(f"LastModifiedDate >= {m.soql_datetime(updated_since)}")
        if partner_id:
            where.append(f"{m.PARTNER_FIELD} = {m.soql_string(partner_id)}")
        records, next_position = await self._page(m.ACCOUNT, m.ACCOUNT_FIELDS, where, limit, position)
        return Page(items=[m.to_customer(r) for r in records], next_position=next_position)

    async def get_account(self, account_id: str) -> Customer:
        """One customer by CRM id."""
        return m.to_customer(await self.connector.get(m.ACCOUNT, _checked_id(account_id), m.ACCOUNT_FIELDS))

    async def upsert_account_by_external_id(self, external_id: str, upsert: CustomerUpsert) -> tuple[Customer, bool]:
        """Create or update the customer carrying ``external_id``; returns (customer, created).

        Upsert and read-back travel in one composite call (one round trip, one API call).
        """
        path = self.connector.sobject_url(m.ACCOUNT, m.EXTERNAL_ID_FIELD, external_id)
        fields = ",".join(m.ACCOUNT_FIELDS)
        upserted, record = await self.connector.composite(
            [
                {"method": "PATCH", "url": path, "referenceId": "upsert", "body": m.from_customer_upsert(upsert)},
                {"method": "GET", "url": f"{path}?fields={fields}", "referenceId": "account"},
            ],
            all_or_none=True,
            idempotent=True,
        )
        created = isinstance(upserted, dict) and bool(upserted.get("created", False))
        return m.to_customer(self.connector.require_record(record)), created

    async def accounts_by_ids(self, account_ids: list[str]) -> list[Customer]:
        """The customers of ``account_ids`` that exist, in id order (at most MAX_LIMIT ids)."""
        wanted = sorted({_checked_id(i) for i in account_ids if _valid_id(i)})[:MAX_LIMIT]
        if not wanted:
            return []
        ids = ", ".join(m.soql_string(i) for i in wanted)
        soql = f"SELECT {', '.join(m.ACCOUNT_FIELDS)} FROM {m.ACCOUNT} WHERE Id IN ({ids}) ORDER BY Id"  # noqa: S608
        return [m.to_customer(r) for r in await self.connector.query(soql)]

    async def accounts_by_domain(self, domain: str) -> list[Customer]:
        """Customers whose web domain is exactly ``domain`` (case-insensitive), in id order.

        SOQL cannot compare a normalised domain, so the query narrows by ``Website LIKE
        '%<domain>%'`` and the exact comparison is made on the mapped ``domain``.
        """
        wanted = domain.lower().removeprefix("www.")
        soql = (
            f"SELECT {', '.join(m.ACCOUNT_FIELDS)} FROM {m.ACCOUNT} "  # noqa: S608 - SOQL; values escaped
            f"WHERE Website LIKE {m.soql_like_contains(wanted)} ORDER BY Id LIMIT {DOMAIN_MATCHES_MAX}"
        )
        records = await self.connector.query(soql)
        return [c for c in (m.to_customer(r) for r in records) if c.domain == wanted]

    async def open_opportunities_by_domain(self, domain: str) -> tuple[list[Customer], list[Opportunity]]:
        """The customers with web domain ``domain`` and their open (not closed) opportunities."""
        accounts = await self.accounts_by_domain(domain)
        if not accounts:
            return [], []
        ids = ", ".join(m.soql_string(a.id) for a in accounts)
        soql = (
            f"SELECT {', '.join(m.OPPORTUNITY_FIELDS)} FROM {m.OPPORTUNITY} "  # noqa: S608 - SOQL; values escaped
            f"WHERE AccountId IN ({ids}) AND IsClosed = false ORDER BY Id"
        )
        records = await self.connector.query(soql)
        return accounts, [m.to_opportunity(r, with_lines=False) for r in records]

    # -- contacts --------------------------------------------------------------------------------
    async def list_contacts(
        self,
        *,
        account_id: str | None = None,
        updated_since: dt.datetime | None = None,
        limit: int = 50,
        position: str | None = None,
    ) -> Page[Contact]:
        """Contacts, in id order, optionally of one customer."""
        where = []
        if account_id:
            where.append(f"AccountId = {m.soql_string(account_id)}")
        if updated_since:
            where.append(f"LastModifiedDate >= {m.soql_datetime(updated_since)}")
        records, next_position = await self._page(m.CONTACT, m.CONTACT_FIELDS, where, limit, position)
        return Page(items=[m.to_contact(r) for r in records], next_position=next_position)

    async def get_contact(self, contact_id: str) -> Contact:
        """One contact by CRM id."""
        return m.to_contact(await self.connector.get(m.CONTACT, _checked_id(contact_id), m.CONTACT_FIELDS))

    async def upsert_contact_by_external_id(self, external_id: str, upsert: ContactUpsert) -> tuple[Contact, bool]:
        """Create or update the contact carrying ``external_id``; returns (contact, created)."""
        upserted, record = await self._upsert_and_read(
            m.CONTACT, external_id, m.from_contact_upsert(upsert), m.CONTACT_FIELDS
        )
        return m.to_contact(record), upserted

    # -- opportunities ---------------------------------------------------------------------------
    async def list_opportunities(
        self,
        *,
        stage: str | None = None,
        modified_since: dt.datetime | None = None,
        account_id: str | None = None,
        partner_id: str | None = None,
        limit: int = 50,
        position: str | None = None,
    ) -> Page[Opportunity]:
        """Opportunities (without lines), in id order, optionally of one customer or partner."""
        where = []
        if stage == "other":
            known = ", ".join(m.soql_string(s) for s in m.STAGES)
            where.append(f"StageName NOT IN ({known})")
        elif stage:
            where.append(f"StageName = {m.soql_string(m.STAGES_BACK[stage])}")
        if modified_since:
            where.append(f"LastModifiedDate >= {m.soql_datetime(modified_since)}")
        if account_id:
            where.append(f"AccountId = {m.soql_string(account_id)}")
        if partner_id:
            where.append(f"{m.PARTNER_FIELD} = {m.soql_string(partner_id)}")
        records, next_position = await self._page(m.OPPORTUNITY, m.OPPORTUNITY_FIELDS, where, limit, position)
        return Page(items=[m.to_opportunity(r, with_lines=False) for r in records], next_position=next_position)

    async def get_opportunity(self, opportunity_id: str) -> Opportunity:
        """One opportunity with its product lines (one SOQL call with a subquery)."""
        records = await self.connector.query(self._opportunity_soql(_checked_id(opportunity_id)))
        if not records:
            raise NotFound(f"No opportunity {opportunity_id}")
        return m.to_opportunity(records[0], with_lines=True)

    async def patch_opportunity_billing_status(self, opportunity_id: str, patch: BillingStatusPatch) -> Opportunity:
        """Write billing's status (and invoice number) onto an opportunity; returns it updated.

        Update and read-back travel in one composite call.
        """
        opportunity_id = _checked_id(opportunity_id)
        values = {"Billing_Status__c": m.OPPORTUNITY_BILLING_BACK[patch.billing_status]}
        if patch.invoice_number is not None:
            values["Invoice_Number__c"] = patch.invoice_number
        soql = self._opportunity_soql(opportunity_id)
        _, result = await self.connector.composite(
            [
                {
                    "method": "PATCH",
                    "url": self.connector.sobject_url(m.OPPORTUNITY, opportunity_id),
                    "referenceId": "patch",
                    "body": values,
                },
                {"method": "GET", "url": f"{self.connector.data_path}/query?{_q(soql)}", "referenceId": "read"},
            ],
            all_or_none=True,
            idempotent=False,
        )
        records = result.get("records") if isinstance(result, dict) else None
        if not records:
            raise NotFound(f"No opportunity {opportunity_id}")
        return m.to_opportunity(records[0], with_lines=True)

    async def create_opportunity(self, external_id: str, create: OpportunityCreate) -> tuple[Opportunity, bool]:
        """Create the opportunity carrying ``external_id`` (an upsert: a retry makes no second one).

        Returns the opportunity (without lines) and whether this call created it. Upsert and
        read-back travel in one composite call.
        """
        created, record = await self._upsert_and_read(
            m.OPPORTUNITY, external_id, m.from_opportunity_create(create), m.OPPORTUNITY_FIELDS
        )
        return m.to_opportunity(record, with_lines=False), created

    # -- helpers ---------------------------------------------------------------------------------
    async def _upsert_and_read(
        self, sobject: str, external_id: str, values: dict[str, Any], fields: list[str]
    ) -> tuple[bool, dict[str, Any]]:
        path = self.connector.sobject_url(sobject, m.EXTERNAL_ID_FIELD, external_id)
        upserted, record = await self.connector.composite(
            [
                {"method": "PATCH", "url": path, "referenceId": "upsert", "body": values},
                {"method": "GET", "url": f"{path}?fields={','.join(fields)}", "referenceId": "read"},
            ],
            all_or_none=True,
            idempotent=True,
        )
        created = isinstance(upserted, dict) and bool(upserted.get("created", False))
        return created, self.connector.require_record(record)

    @staticmethod
    def _opportunity_soql(opportunity_id: str) -> str:
        # SOQL, not SQL: every value in it went through mapping.soql_* escaping.
        lines = f"(SELECT {', '.join(m.LINE_FIELDS)} FROM {m.LINES_RELATIONSHIP} ORDER BY Id)"  # noqa: S608
        select = f"SELECT {', '.join(m.OPPORTUNITY_FIELDS)}, {lines} FROM {m.OPPORTUNITY}"  # noqa: S608
        return f"{select} WHERE Id = {m.soql_string(opportunity_id)}"

    async def _page(
        self, sobject: str, fields: list[str], where: list[str], limit: int, after: str | None
    ) -> tuple[list[dict[str, object]], str | None]:
        limit = max(1, min(MAX_LIMIT, limit))
        conditions = list(where)
        if after is not None:
            if not _valid_id(after):
                raise InvalidCursor()  # a position is an id this API listed; anything else was made up
            conditions.append(f"Id > {m.soql_string(after)}")
        soql = f"SELECT {', '.join(fields)} FROM {sobject}"  # noqa: S608 - SOQL; values escaped by mapping
        if conditions:
            soql += " WHERE " + " AND ".join(conditions)
        soql += f" ORDER BY Id LIMIT {limit + 1}"
        records = await self.connector.query(soql)
        if len(records) > limit:
            return records[:limit], str(records[limit - 1]["Id"])
        return records, None


def _q(soql: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": soql})


def _valid_id(value: str) -> bool:
    return value.isascii() and value.isalnum() and len(value) in (15, 18)


def _checked_id(value: str) -> str:
    """Salesforce ids are 15 or 18 letters and digits; anything else cannot exist."""
    if not _valid_id(value):
        raise NotFound(f"No object with id {value}")
    return value


def build_crm_service(link: VendorLink[ClientSecret], *, config: SalesforceConfig | None = None) -> CrmService:
    """The CRM service over the Salesforce org ``link`` reaches (the real org, or its sandbox).

    Args:
        link: client, base URL, connected-app credentials and breaker, from the composition root.
        config: connector timeouts and retries (defaults: :class:`SalesforceConfig`).
    """
    credentials = link.credentials
    connector = SalesforceConnector(
        link.client,
        link.base_url,
        credentials.client_id,
        credentials.client_secret,
        config=config or SalesforceConfig(),
        breaker=link.breaker,
    )
    return CrmService(connector, link.client)
