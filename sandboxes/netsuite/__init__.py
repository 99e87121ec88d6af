"""NetSuite sandbox: a local simulator of a faithful subset of NetSuite SuiteTalk REST web services.

Simulated (answers in NetSuite's own formats; never problem+json from us):

* ``POST /services/rest/auth/oauth2/v1/token`` — OAuth 2.0 client credentials (M2M) with a JWT
  client assertion signed PS256/384/512 or ES256/384/512 (Oracle's list; RS256 refused); see
  :mod:`sandboxes.netsuite.auth`. Answers ``{access_token, token_type: "bearer", expires_in}``
  with ``expires_in`` the string ``"3600"`` (**unverified**: no public capture shows its JSON type;
  ``expires_in_as_string=False`` sends the number); errors ``{"error", "error_description"}``
  with 400/401.
* Every other ``/services/rest/`` call needs ``Authorization: Bearer <token>``; otherwise 401
  ``INVALID_LOGIN`` (NetSuite's documented text).
* Records ``/services/rest/record/v1/<type>`` for ``customer, salesOrder, invoice,
  customerPayment, creditMemo, journalEntry, serviceSaleItem, subsidiary, accountingPeriod``
  (:mod:`sandboxes.netsuite.schema` lists their fields): ``POST`` → 204 + ``Location``; ``GET
  /<type>/<id>`` (``?expandSubResources=true`` inlines sublists ``item``, ``apply``, ``line``);
  ``PATCH`` → 204; ``DELETE`` → 204; ``PUT /<type>/eid:<externalId>`` upsert → 204 + ``Location``;
  ``eid:`` also works for GET/PATCH/DELETE; ``GET /<type>?limit=&offset=`` lists references;
  ``POST /salesOrder/<id>/!transform/invoice`` (also invoice → creditMemo, invoice →
  customerPayment) → 204 + ``Location`` of the new record. References are ``{"id": "..."}`` (or
  ``{"externalId": "..."}``) and come back with ``links`` and ``refName``; empty fields are left
  out of a record, as NetSuite does.
* ``POST /services/rest/query/v1/suiteql`` (``Prefer: transient``) — the subset in
  :mod:`sandboxes.netsuite.suiteql`; pages ``{links, count, hasMore, items, offset,
  totalResults}`` with ``limit`` (1..1,000, default 1,000) and ``offset``, which must be a multiple
  of ``limit`` (else 400 ``INVALID_PARAMETER``); a query returns at most 100,000 rows (an offset at
  or past that → 400 ``INVALID_PARAMETER``).
* Async (Oracle's documented walk): ``Prefer: respond-async`` on a record write → 202,
  ``Preference-Applied: respond-async``, ``Location: <base>/services/rest/async/v1/job/<id>``;
  ``GET`` the job → ``{links: [self], completed, id, progress, task: {links: [self → …/task]}}``,
  ``completed: false, progress: "pending"`` for the first ``job_pending_polls`` reads (1 by
  default; counted in polls, not seconds, to keep tests fast); ``GET …/job/<id>/task`` → a
  collection of the job's task (its shape is **guessed**: Oracle shows only the link to it);
  ``GET …/task/<id>`` → ``{links: [related → result, self], completed, endTime, id, progress,
  startTime}``; ``GET …/task/<id>/result`` → the synchronous answer's body and status when it had
  one (an error), else ``{links: [self]}`` — **guessed**: what the result of a create names is not
  documented, so the sandbox names no record and a client finds it by ``eid:<externalId>``.
  ``X-NetSuite-Idempotency-Key`` with respond-async: a repeated key creates nothing and answers an
  error naming the original job.
* Business rules: a posting transaction (invoice, credit memo, customer payment, journal entry)
  dated in a closed accounting period → 400 ``CLOSED_TRAN_PRD``; an unbalanced journal entry →
  400 ``USER_ERROR``; a payment's ``apply`` lines lower the invoices' ``amountRemaining``;
  deleting a record another record references → 400 ``USER_ERROR``.
* At most ``concurrency_limit`` (5, a developer account's) REST requests in flight; more → 429.
* Faults (:mod:`sandboxes.faults`, rendered in NetSuite's error format) and a control API under
  ``/_control``: ``faults``, ``reset``, ``counts`` (``records`` of each type, ``writes`` applied by
  type since start or reset — the seed not counted —, requests, faults injected, concurrency
  refusals), ``expire-tokens``, ``certificates`` (upload a client's public key, as an administrator
  does on the integration record).
* State (records, async jobs, idempotency keys) is a JSON file under ``state_dir``; uploaded
  certificates are kept in ``netsuite-certificates.json`` beside it (NetSuite keeps a certificate
  mapping until it is revoked or expires: Help Center, "OAuth 2.0 Client Credentials (M2M)
  Setup"); issued tokens are not persisted (a restart expires them, as a revocation would). The
  state is loaded (or seeded) on first use, not at construction, so mounting the sandbox adds
  next to nothing to a gateway's start.

Errors are ``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorPath"?,
"o:errorCode"}]}``. Codes used, and why:

* ``INVALID_LOGIN`` (401, documented) — missing, unknown or expired bearer token.
* ``NONEXISTENT_ID`` (404, documented) — unknown record id, ``eid:`` value, record type, job.
* ``INVALID_CONTENT`` (400, documented for a reference to a missing record, with
  ``o:errorPath`` like ``item.items[0].item``) — also used for unknown and read-only fields,
  malformed JSON and malformed sublists (NetSuite's exact code for those is not documented).
* ``INVALID_VALUE`` (400) — a value of the wrong type, or a date not ``YYYY-MM-DD``.
* ``USER_ERROR`` (400, documented as NetSuite's generic business-rule code) — missing required
  field, unbalanced journal, delete of a referenced record.
* ``INVALID_PARAMETER`` (400) — malformed SuiteQL (detail "Invalid search query ...") and bad
  ``limit``/``offset``; ``INVALID_HEADER`` (``o:errorHeader``) — SuiteQL without ``Prefer:
  transient``.
* ``CLOSED_TRAN_PRD`` (400) — the SOAP web services status code for a closed period, reused
  here; REST's exact code for this is not documented.
* ``IDEMPOTENCY_ERROR`` (400, ``o:errorHeader: X-NetSuite-Idempotency-Key``) — not a documented
  literal; the status (400) and the original job's URL in ``detail`` (and in ``Location``) are our
  choice.
* ``CONCURRENCY_LIMIT_EXCEEDED`` (429) — unverified: third parties report a 429 for REST over the
  concurrency limit, NetSuite documents no code. Injected 429s use it too.
* Injected faults: 401 ``INVALID_LOGIN``, 403 ``INSUFFICIENT_PERMISSION``, 404 ``NONEXISTENT_ID``,
  503 ``SERVICE_UNAVAILABLE``, other 5xx ``UNEXPECTED_ERROR``, other 4xx ``USER_ERROR``.

Other choices where NetSuite's documentation is silent or could not be checked:

* An async write is applied before the 202 is answered; the job only *reports* pending for its
  first polls (``progress`` then ``succeeded`` or ``failed``); only record writes can be async;
  a job has one task, whose id is the job's.
* Internal ids come from one sequence shared by all record types and jobs.
* ``externalId`` is unique per record type (a second POST with it → 400 ``DUP_RCRD``).
* ``tranDate`` defaults to today; ``tranId`` is ``SO``/``INV``/``CM``/``PYMT``/``JE`` + id; the
  subsidiary of a sale defaults to the customer's; line ``amount`` = ``quantity × rate``.
* Currencies, payment terms and the chart of accounts are fixed lists referenced by id
  (``currency``, ``terms`` → ``term``, ``account``), not served as records.
* Error ``type`` URLs point at RFC 9110 sections (newer NetSuite releases; older ones cite
  RFC 2616).
* A sales order's ``item`` sublist is keyed by ``line`` (numbered 1, 2, … on insert): a PATCH
  whose lines all carry ``line`` updates those lines and keeps the others ("Updating a
  Sublist"); a ``line`` matching none is refused (NetSuite would add the line). A PATCH without
  keys still replaces the sublist (a simplification; NetSuite appends unless ``?replace=item``).
  A line with ``isClosed: true`` is closed ("Use Case For Updating Your Sales Order" writes the
  field ``isclosed``; the camel case is GUESSED); once every line is closed the order's status
  is ``Closed``. Invoicing a closed order is not refused here (NetSuite would).
* Revenue recognition (classic): an invoice item line with ``revRecStartDate``/``revRecEndDate`` gets a
  system-generated ``revRecSchedule`` record (read and SuiteQL ``revrecschedule`` only; a create or change
  is refused), straight line by exact days over those dates, one ``recurrence`` line per posting period.
  The record type and its ``recurrence`` sublist exist (Schema Browser); the field names ``sourceTran``,
  ``entity``, ``totalAmount``, ``jdate`` and the rounding (the last period takes the rest) are GUESSED.
"""

from sandboxes.netsuite.app import NetSuiteSandbox, create_netsuite_sandbox
from sandboxes.netsuite.auth import KeyPair, generate_key_pair, make_assertion

__all__ = ["KeyPair", "NetSuiteSandbox", "create_netsuite_sandbox", "generate_key_pair", "make_assertion"]
