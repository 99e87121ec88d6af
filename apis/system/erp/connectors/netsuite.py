"""NetSuite SuiteTalk REST connector: M2M OAuth, records, SuiteQL, async postings.

Speaks NetSuite's own dialect (``docs/vendors.md``):

* **Auth** — OAuth 2.0 client credentials (RFC 6749 §4.4) with a JWT client assertion
  (RFC 7523 §2.2): ``kid`` = the certificate id, ``iss`` = the integration's client id,
  ``scope=rest_webservices``, ``aud`` = the token URL, signed PS256/384/512 or ES256/384/512
  (joserfc). The token is cached until shortly before ``expires_in`` (a number or a numeric string:
  which one Oracle sends is unverified); a 401 ``INVALID_LOGIN`` refreshes it
  once and repeats the call.
* **Records** — ``/record/v1/<type>``; a create answers 204 and the new id is read from its
  ``Location``; customers are upserted with ``PUT /customer/eid:<externalId>``.
* **SuiteQL** — ``POST /query/v1/suiteql`` with ``Prefer: transient``; pages of ``{links,
  hasMore, offset, items}``: a list's position is the offset of its next page (signed into the
  API's cursor at the HTTP boundary, :mod:`core.cursors`); internal lookups follow the ``next``
  link to the end.
* **Postings are exactly-once by an async idempotency key.** Every document create (sales
  order, invoice, payment, credit memo, journal entry) is sent with ``Prefer: respond-async``
  and ``X-NetSuite-Idempotency-Key`` = a UUIDv5 of (record type, target path, external id,
  payload), and carries ``externalId``. A retry after a lost answer gets ``IDEMPOTENCY_ERROR``
  naming the original job, whose result is read instead: one write, whatever the retries.
  The payload is part of the key so that a *corrected* repeat of a refused posting is a new
  job; if the first one had succeeded, the new job fails with ``DUP_RCRD`` (``externalId`` is
  unique per type) and the existing document is read by ``eid:``. Why not ``eid:`` upsert for
  postings: a repeat would be an update of a posted transaction (a second write, and a repeat
  with other amounts would silently change the books), which "return the existing document"
  must not do. Customers are master data, where upsert *is* the meaning.
* **Concurrency** — at most ``max_concurrency`` exchanges in flight (an ``asyncio.Semaphore``
  around each exchange, not around backoff sleeps), below the account's limit (5 on a
  developer account); a 429 anyway is retried like any throttling. The cap is per process:
  with several gateway processes, give each its share of the account's limit.

Limits of the exactly-once scheme, on purpose: a posting whose job failed keeps its key, so
the same payload repeated gets the same refusal (fix the input and it is a new job); a job
whose stored result is a 5xx is read again until the retries run out (503). Whether NetSuite
accepts ``respond-async`` on ``!transform`` is not documented; the sandbox does.

Errors (``o:errorDetails[0]``) onto :mod:`core.errors`:

=====================================================  =====================================
NetSuite                                               Strata
=====================================================  =====================================
429 (``CONCURRENCY_LIMIT_EXCEEDED`` …)                 UpstreamRateLimited (retryable, 503)
5xx, connection errors / no answer in time             UpstreamUnavailable 503 / UpstreamTimeout 504
``CLOSED_TRAN_PRD``                                    PeriodClosed (409)
404 / ``NONEXISTENT_ID``                               NotFound
``DUP_RCRD``                                           Conflict (resolved by an ``eid:`` read)
``INVALID_CONTENT``, ``USER_ERROR``, ``INVALID_VALUE`` UpstreamRejected naming our field
other 4xx, token refusals                              UpstreamRejected (vendor_code set)
unreadable bodies, missing fields                      UpstreamContractViolation (502)
=====================================================  =====================================

Retries (``apis.system.kit.vendor_http``): reads, ``eid:`` upserts and idempotency-keyed postings only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from apis.canonical import (
    AccountingPeriod,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    ErpCustomer,
    ErpCustomerUpsert,
    Invoice,
    InvoiceCreate,
    Item,
    JournalEntry,
    JournalEntryCreate,
    LegalEntity,
    Page,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import netsuite_mapping as m
from apis.system.erp.connectors.netsuite_http import (
    SUITEQL_PAGE,
    AlreadySubmitted,
    NetSuiteConfig,
    NetSuiteCredentials,
    NetSuiteHttp,
    account_cap,
    config_from_settings,
    load_private_key,
    parse_location,
    record_body,
)
from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.concurrency_cap import ConcurrencyCap
from apis.system.kit.connector import mark
from core.cursors import InvalidCursor, as_position
from core.errors import Conflict, InvalidInput, NotFound, UpstreamContractViolation, UpstreamTimeout

if TYPE_CHECKING:
    from apis.system.erp.settings import NetSuiteSettings
    from apis.system.kit.link import VendorLink

__all__ = [
    "NetSuiteConfig",
    "NetSuiteConnector",
    "NetSuiteCredentials",
    "build_netsuite_connector",
    "config_from_settings",
    "idempotency_key",
    "load_private_key",
]

VENDOR = "netsuite"
IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"
KEY_NAMESPACE = uuid.UUID("6f1f9d0e-2b8a-5c61-9a57-3f7d6c0e4b21")
"""Namespace of the UUIDv5 idempotency keys (any fixed UUID: keys must be stable across processes)."""
SUITEQL_RESULT_CAP = 100_000
"""SuiteQL returns at most this many rows of one query; an offset at or past it is refused."""


class SuiteQLPosition(msgspec.Struct, frozen=True, array_like=True):
    """Where the next SuiteQL page starts: its offset, and the limit every page of this list uses."""

    offset: int
    limit: int


RECORD_LINK = re.compile(r"/record/v1/([A-Za-z]+)/(\d+)/?$")
FIRST_POLL_SECONDS = 0.02
"""The first pause before polling a pending job again (then doubling up to ``job_poll_seconds``)."""
ITEM_SELECT = "SELECT id, itemid, displayname, description, baseprice FROM item"


def idempotency_key(record_type: str, path: str, external_id: str, body: Any) -> str:
    """The ``X-NetSuite-Idempotency-Key`` of a posting: stable for the same document and payload."""
    digest = hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()
    return str(uuid.uuid5(KEY_NAMESPACE, f"{record_type}|{path}|{external_id}|{digest}"))


class NetSuiteConnector(NetSuiteHttp):
    """One NetSuite account in canonical objects (an :class:`~apis.system.erp.connector.ErpConnector`)."""

    vendor = VENDOR

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: NetSuiteCredentials,
        config: NetSuiteConfig | None = None,
        breaker: CircuitBreaker | None = None,
        cap: ConcurrencyCap | None = None,
    ) -> None:
        super().__init__(client, base_url, credentials, config, breaker, cap)
        self.lists = self.config.lists
        self._cache: dict[str, tuple[float, Any]] = {}

    # -- master data -----------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every active subsidiary, in id order."""
        rows = await self.suiteql_all("SELECT * FROM subsidiary ORDER BY id")
        entities = [m.to_legal_entity(row, self.lists) for row in rows if row.get("isinactive") != "T"]
        self._cache["subsidiaries"] = (time.monotonic(), entities)
        return entities

    async def list_accounting_periods(self, *, year: int | None = None) -> list[AccountingPeriod]:
        """Monthly periods (not quarters, not years), by start date."""
        rows = await self.suiteql_all(
            "SELECT id, periodname, startdate, enddate, closed FROM accountingperiod "
            "WHERE isquarter = 'F' AND isyear = 'F' ORDER BY startdate"
        )
        periods = sorted((m.to_period(row) for row in rows), key=lambda p: p.start_date)
        self._cache["periods"] = (time.monotonic(), periods)
        return [p for p in periods if year is None or p.start_date.year == year]

    async def period_for(self, day: dt.date) -> AccountingPeriod | None:
        """The monthly period containing ``day`` (periods kept ``lookup_cache_seconds``)."""
        periods = self._cached("periods")
        if periods is None:
            await self.list_accounting_periods()
            periods = self._cached("periods")
        return next((p for p in periods or [] if p.start_date <= day <= p.end_date), None)

    async def list_items(self, *, code: str | None, limit: int, position: Any) -> Page[Item]:
        """Items in id order, optionally the one with item id (code) ``code``."""
        where = f" WHERE itemid = {_literal(code)}" if code else ""
        query = f"{ITEM_SELECT}{where} ORDER BY id"
        rows, next_position = await self._page(query, limit, position)
        return Page(items=[m.to_item(row, self.lists) for row in rows], next_position=next_position)

    async def get_item(self, item_id: str) -> Item:
        """One item of any item type (found through SuiteQL's ``item`` table)."""
        query = f"{ITEM_SELECT} WHERE id = {_literal(_checked_id(item_id))}"
        rows, _ = await self.suiteql_page(query, 1, 0)
        if not rows:
            raise NotFound(f"No item {item_id}")
        return m.to_item(rows[0], self.lists)

    # -- customers -------------------------------------------------------------------------------
    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """``PUT /customer/eid:<externalId>``; an ``eid:`` read first tells create from update."""
        path = f"/record/v1/customer/eid:{quote(external_id, safe='')}"
        existing = await self._get_optional(path)
        subsidiary = upsert.legal_entity_id
        if subsidiary is None and existing is None:
            subsidiary = await self._default_subsidiary(upsert.currency)
        body = m.from_customer_upsert(upsert, self.lists, subsidiary)
        response = await self._call("PUT", path, json=body, idempotent=True)
        _, record_id = self._location(response)
        record = await self.get_record("customer", record_id, expand=False)
        return m.to_customer(record, self.lists), existing is None

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One customer by internal id."""
        return m.to_customer(await self.get_record("customer", _checked_id(customer_id), expand=False), self.lists)

    async def search_customers(
        self,
        *,
        name_prefix: str | None,
        tax_id: str | None,
        external_id: str | None,
        limit: int,
        position: Any,
    ) -> Page[ErpCustomer]:
        """Customers matching every filter, in id order (one SuiteQL page per call)."""
        where = []
        if name_prefix:
            where.append(f"companyname LIKE {_literal(name_prefix + '%')}")
        if tax_id:
            where.append(f"vatregnumber = {_literal(tax_id)}")
        if external_id:
            where.append(f"externalid = {_literal(external_id)}")
        query = "SELECT * FROM customer" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"  # noqa: S608
        rows, next_position = await self._page(query, limit, position)
        customers = [m.to_customer(m.customer_row_to_record(row), self.lists) for row in rows]
        if name_prefix and ("%" in name_prefix or "_" in name_prefix):
            # LIKE has no ESCAPE in every dialect we speak to: wildcards in the prefix are filtered here.
            customers = [c for c in customers if c.name.startswith(name_prefix)]
        return Page(items=customers, next_position=next_position)

    # -- documents -------------------------------------------------------------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Create the order exactly once by its external id."""
        body = m.from_sales_order(order, self.lists)
        record, created = await self._post_once("salesOrder", "/record/v1/salesOrder", body, order.external_id)
        return m.to_sales_order(record, self.lists), created

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One sales order."""
        return m.to_sales_order(await self.get_record("salesOrder", _checked_id(order_id)), self.lists)

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Close every item line (``isClosed`` by PATCH of the ``salesOrder``); NetSuite then shows the
        order Closed (canonical ``closed``). Read first, so a repeat or a retry after a lost answer
        writes nothing more; a billed order is refused (409). NetSuite keeps no reason for it."""
        del reason
        record_id = _checked_id(order_id)

        async def procedure() -> m.Record:
            record = await self.get_record("salesOrder", record_id)
            body = m.close_lines(record)
            if body is None:
                return record
            await self._call("PATCH", f"/record/v1/salesOrder/{record_id}", json=body, idempotent=False)
            return await self.get_record("salesOrder", record_id)

        # Not through the breaker as a whole: each of the procedure's calls goes through it already.
        return m.to_sales_order(await self._retrying(procedure, idempotent=True, guarded=False), self.lists)

    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """Post the invoice: ``!transform`` of the sales order when one is given, else a plain create."""
        body = m.from_invoice(invoice, self.lists)
        path = "/record/v1/invoice"
        if invoice.sales_order_id is not None:
            path = f"/record/v1/salesOrder/{_checked_ref(invoice.sales_order_id, '/sales_order_id')}/!transform/invoice"
        record, created = await self._post_once("invoice", path, body, invoice.external_id)
        return m.to_invoice(record, self.lists), created

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice."""
        return m.to_invoice(await self.get_record("invoice", _checked_id(invoice_id)), self.lists)

    async def list_invoices(self, *, customer_id: str | None, limit: int, position: Any) -> Page[Invoice]:
        """Invoices in id order: one SuiteQL page of ids, then each record (lines need the record)."""
        where = "type = 'CustInvc'"
        if customer_id:
            where += f" AND entity = {_literal(customer_id)}"
        query = f"SELECT id FROM transaction WHERE {where} ORDER BY id"  # noqa: S608 - SuiteQL, literals escaped
        rows, next_position = await self._page(query, limit, position)
        records = await asyncio.gather(*(self.get_record("invoice", str(row["id"])) for row in rows))
        return Page(items=[m.to_invoice(r, self.lists) for r in records], next_position=next_position)

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """What NetSuite's revenue recognition schedules recognise in ``period`` (``YYYY-MM``).

        NetSuite recognises revenue itself: an invoice line carrying ``revRecStartDate`` and
        ``revRecEndDate`` gets a revenue recognition schedule from its item's template (Revenue
        Recognition feature), one amount per posting period. The schedules are found through
        SuiteQL (``revrecschedule``), then read with their ``recurrence`` lines.
        """
        accounting_period = await self.period_for(dt.date.fromisoformat(f"{period}-01"))
        if accounting_period is None:
            return []
        found: list[RecognizedRevenue] = []
        currencies: dict[str, str] = {}
        position: Any = None
        while True:
            rows, position = await self._page("SELECT id FROM revrecschedule ORDER BY id", SUITEQL_PAGE, position)
            schedules = await asyncio.gather(*(self.get_record("revRecSchedule", str(row["id"])) for row in rows))
            for schedule in schedules:
                source = m.source_transaction(schedule)
                currencies[source] = currencies.get(source) or m.currency_of(
                    await self.get_record("invoice", source, expand=False), self.lists
                )
                found.extend(m.to_recognized_revenue(schedule, accounting_period, currencies[source]))
            if position is None:
                return found

    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """Record the payment with its ``apply`` lines, exactly once."""
        body = m.from_payment(payment, self.lists)
        path = "/record/v1/customerPayment"
        record, created = await self._post_once("customerPayment", path, body, payment.external_id)
        return m.to_payment(record, self.lists), created

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One customer payment."""
        return m.to_payment(await self.get_record("customerPayment", _checked_id(payment_id)), self.lists)

    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """Post the credit memo (``!transform`` of the invoice when one is given), exactly once."""
        body = m.from_credit_memo(memo, self.lists)
        path = "/record/v1/creditMemo"
        if memo.invoice_id is not None:
            path = f"/record/v1/invoice/{_checked_ref(memo.invoice_id, '/invoice_id')}/!transform/creditMemo"
        record, created = await self._post_once("creditMemo", path, body, memo.external_id)
        return m.to_credit_memo(record, self.lists), created

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo."""
        return m.to_credit_memo(await self.get_record("creditMemo", _checked_id(memo_id)), self.lists)

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """Post the journal entry, exactly once."""
        body = m.from_journal_entry(entry, self.lists)
        path = "/record/v1/journalEntry"
        record, created = await self._post_once("journalEntry", path, body, entry.external_id)
        return m.to_journal_entry(record, self.lists), created

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry."""
        return m.to_journal_entry(await self.get_record("journalEntry", _checked_id(entry_id)), self.lists)

    # -- lookups ---------------------------------------------------------------------------------
    async def _page(self, query: str, limit: int, position: Any) -> tuple[list[m.Record], SuiteQLPosition | None]:
        """One SuiteQL page from ``position`` (``None``: the first) and the next page's position.

        NetSuite wants every offset a multiple of the page's limit, so the position keeps the
        limit it was made with and the next page is read with it, whatever limit the caller asks
        for then; no position is handed out past SuiteQL's result cap (``SUITEQL_RESULT_CAP``).
        """
        if position is None:
            at = SuiteQLPosition(0, limit)
        else:
            at = as_position(position, SuiteQLPosition)
            if not 1 <= at.limit <= SUITEQL_PAGE or at.offset % at.limit or not 0 <= at.offset < SUITEQL_RESULT_CAP:
                raise InvalidCursor()
        rows, has_more = await self.suiteql_page(query, at.limit, at.offset)
        following = at.offset + at.limit
        if not has_more or following >= SUITEQL_RESULT_CAP:
            return rows, None
        return rows, SuiteQLPosition(following, at.limit)

    async def _get_optional(self, path: str) -> m.Record | None:
        try:
            return record_body(self._decode(await self._call("GET", path, idempotent=True)))
        except NotFound:
            return None

    def _cached(self, name: str) -> Any:
        entry = self._cache.get(name)
        if entry is None or time.monotonic() - entry[0] > self.config.lookup_cache_seconds:
            return None
        return entry[1]

    async def _default_subsidiary(self, currency: str | None) -> str:
        """The subsidiary a new customer is sold by: the first whose currency is the customer's."""
        entities: list[LegalEntity] = self._cached("subsidiaries") or await self.list_legal_entities()
        selling = [e for e in entities if e.parent_id is not None] or entities
        match = next((e for e in selling if currency is not None and e.currency == currency), None)
        if match is None and len(entities) > 1:
            match = next(
                (
                    e
                    for e in entities
                    if e.currency == (currency or self.lists.base_currency) and e.id != entities[0].id
                ),
                None,
            )
        chosen = match or (selling[0] if selling else None)
        if chosen is None:
            raise UpstreamContractViolation("NetSuite account has no subsidiary")
        return chosen.id

    # -- postings: async + idempotency key -------------------------------------------------------
    async def _post_once(self, record_type: str, path: str, body: m.Record, external_id: str) -> tuple[m.Record, bool]:
        """Submit a posting as an async job under its idempotency key; read the created record."""
        key = idempotency_key(record_type, path, external_id, body)
        headers = {"Prefer": "respond-async", IDEMPOTENCY_HEADER: key}
        attempts = 0

        async def submit() -> tuple[str, bool]:
            nonlocal attempts
            attempts += 1
            try:
                response = await self._attempt("POST", path, json=body, params=None, headers=headers)
            except AlreadySubmitted as submitted:
                # On a retry the original job is most likely ours (its answer was lost).
                return submitted.job_url, attempts > 1
            if response.status_code != 202 or not response.headers.get("location"):
                raise UpstreamContractViolation(f"NetSuite answered {response.status_code} to an async request")
            return response.headers["location"], True

        job_url, created = await self._retrying(submit, idempotent=True)
        status, location, result = await self._job_result(job_url)
        if status >= 400:
            error = self._error_for(status, result, None)
            if isinstance(error, Conflict) and error.vendor_code == "DUP_RCRD":
                existing = await self.get_record(record_type, f"eid:{quote(external_id, safe='')}")
                return existing, False
            raise mark(error, self.system)
        record_id = record_named(location, result)
        if record_id is None:
            # The result names no record (NetSuite documents none for a write): the posting
            # carries its externalId, unique per record type, so that finds it.
            return await self.get_record(record_type, f"eid:{quote(external_id, safe='')}"), created
        return await self.get_record(record_type, record_id), created

    async def _job_result(self, job_url: str) -> tuple[int, str | None, Any]:
        """Wait for an async job, then read its task's result: (status, ``Location`` if any, body).

        The documented walk: the job (``completed``, ``task.links``) → its tasks → the task
        (``links`` ``related`` → the result) → the result. Polls start quick and slow down to
        ``job_poll_seconds``; a job still pending after ``job_wait_seconds`` is a 504.
        """
        job_path = self._own_path(job_url)
        deadline = time.monotonic() + self.config.job_wait_seconds
        pause = min(FIRST_POLL_SECONDS, self.config.job_poll_seconds)
        while True:
            job = self._decode(await self._call("GET", job_path, idempotent=True))
            if not isinstance(job, dict) or not isinstance(job.get("completed"), bool):
                raise UpstreamContractViolation("NetSuite async job lacks 'completed'")
            if job["completed"]:
                break
            if time.monotonic() > deadline:
                raise UpstreamTimeout(
                    f"NetSuite job {job_path} did not complete within {self.config.job_wait_seconds}s"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.config.job_poll_seconds)
        task_links = job["task"].get("links") if isinstance(job.get("task"), dict) else None
        tasks_href = _link(task_links, "self")
        tasks_path = self._own_path(tasks_href) if tasks_href else f"{job_path}/task"
        task_path = await self._first_task(tasks_path, job_path)
        task = self._decode(await self._call("GET", task_path, idempotent=True))
        result_href = _link(task.get("links") if isinstance(task, dict) else None, "related")
        result_path = self._own_path(result_href) if result_href else f"{task_path}/result"
        response = await self._call("GET", result_path, idempotent=True, raw=True)
        body = self._decode(response, strict=False) if response.content else None
        return response.status_code, response.headers.get("location"), body

    async def _first_task(self, tasks_path: str, job_path: str) -> str:
        """The path of the job's (only) task, from the collection of its tasks."""
        tasks = self._decode(await self._call("GET", tasks_path, idempotent=True))
        items = tasks.get("items") if isinstance(tasks, dict) else None
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
        href = _link(first.get("links") if first else None, "self")
        if href is None:
            raise UpstreamContractViolation(f"NetSuite job {job_path} names no task")
        return self._own_path(href)


def _link(links: Any, rel: str) -> str | None:
    """The ``href`` of the first link of relation ``rel`` in a NetSuite ``links`` list."""
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def record_named(location: str | None, result: Any) -> str | None:
    """The internal id of the record an async result names: its ``Location``, a link to a record,
    or the ``id`` of a record body; None when it names none."""
    if location:
        return parse_location(location)[1]
    if not isinstance(result, dict):
        return None
    links = result.get("links")
    for link in links if isinstance(links, list) else []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and (found := RECORD_LINK.search(urlsplit(href).path)):
            return found[2]
    record_id = result.get("id")
    return record_id if isinstance(record_id, str) and record_id.isdigit() else None


def _literal(value: str) -> str:
    """A SuiteQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _checked_id(value: str) -> str:
    """NetSuite internal ids are digits; anything else cannot exist (and must not reach a URL)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound(f"No object with id {value}")
    return value


def _checked_ref(value: str, pointer: str) -> str:
    """An id referenced by a request body: digits, else a 422 naming the field."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        detail = f"{value!r} is not an id of the ERP"
        raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])
    return value


def build_netsuite_connector(link: VendorLink[NetSuiteCredentials], settings: NetSuiteSettings) -> NetSuiteConnector:
    """The connector to the NetSuite account ``link`` reaches (a real account, or the sandbox).

    The credentials are the composition root's: the configured certificate and key of a real
    account, or a key whose certificate it uploaded to the sandbox (as an administrator
    uploads one to the integration record). Timeouts, retries, the concurrency cap and the
    account's list ids come from ``settings``; the cap holds across the gateway's processes when
    the link names the Redis they share.
    """
    cap = account_cap(link.base_url, settings, link.redis_url)
    return NetSuiteConnector(
        link.client, link.base_url, link.credentials, config_from_settings(settings), link.breaker, cap
    )
