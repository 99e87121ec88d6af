"""Business Central sandbox: a local simulator of a faithful subset of Dynamics 365 Business Central API v2.0.

Simulated (answers in BC's and Entra's own formats; never problem+json from us):

* ``POST /<tenant>/oauth2/v2.0/token`` — Entra ID client credentials with
  ``scope=https://api.businesscentral.dynamics.com/.default`` (:mod:`.auth`); errors
  ``{"error", "error_description", "error_codes", ...}``.
* ``/v2.0/<tenant>/<environment>/api/v2.0/`` — service document; ``companies``,
  ``companies(<id>)``; under a company the entity sets of :mod:`.schema`: ``customers``, ``items``,
  ``salesOrders`` (+ ``salesOrderLines``; ``Microsoft.NAV.shipAndInvoice``), ``salesInvoices`` (+
  ``salesInvoiceLines``; bound actions ``Microsoft.NAV.post`` and ``Microsoft.NAV.cancel``),
  ``salesCreditMemos`` (+ ``salesCreditMemoLines``; ``Microsoft.NAV.post``),
  ``customerPaymentJournals`` (+ ``customerPayments``; no action, as the page defines none),
  ``journals`` (+ ``journalLines``; ``Microsoft.NAV.post``), and read-only
  ``generalLedgerEntries``, ``accountingPeriods``, ``accounts``, ``paymentTerms``,
  ``companyInformation``. Every API call needs ``Authorization: Bearer <token>`` (else 401
  ``Authentication_InvalidCredentials`` with ``WWW-Authenticate``).
* ``POST`` → 201 with the entity, its ``@odata.etag``, ``ETag`` and ``Location`` headers; a deep
  insert (lines in the document's body) creates document and lines at once. ``PATCH`` → 200 with
  the entity and ``DELETE`` → 204 need ``If-Match`` (``*`` or the current etag; a stale one → 412
  ``Request_EntityChanged``; none → 400). Lines are reachable as ``<document>(<id>)/<lines>`` and
  ``<lines>(<id>)`` for GET/POST/PATCH/DELETE. Bound actions answer 204.
* OData query options (:mod:`.odata`): ``$filter`` (eq ne gt ge lt le, and or not, startswith
  endswith contains), ``$select``, ``$expand`` of lines, ``$top``, ``$skip``, ``$orderby=id``.
  Collections are ``{"@odata.context", "value", "@odata.nextLink"?}``; the server pages at
  ``page_size`` (``Prefer: odata.maxpagesize=<n>`` lowers it, echoed in ``Preference-Applied``).
* Business rules (:mod:`.writes`, :mod:`.posting`): numbers from number series, customer names and
  currency copied onto documents, line amounts and totals, due dates from payment terms; posting
  dated in a closed accounting period → 400 ``Application_DialogException`` "Posting Date ... is not
  within your range of allowed posting dates."; an unbalanced journal → the same code; posting
  writes G/L entries; payments lower the applied invoice's ``remainingAmount`` (``Paid`` at 0);
  posted documents cannot be changed; a customer with documents cannot be deleted.
* Per-principal throttling: more than ``rate_limit`` requests within ``rate_window_seconds`` (BC's
  documented 6,000 per 5 minutes) → 429 ``Application_TooManyRequests`` with ``Retry-After``.
* Faults (:mod:`sandboxes.faults`, rendered in BC's error format) and the control API under
  ``/_control``: ``faults``, ``reset``, ``counts`` (records of each entity set over all companies,
  ``writes`` applied by entity set — actions as ``<set>/Microsoft.NAV.<action>`` —, requests, faults,
  throttled calls), ``expire-tokens``.
* State (companies and records, number series, posted payments) is a JSON file under
  ``state_dir``; tokens are not persisted. The store is loaded (or seeded) on first use.

Errors are ``{"error": {"code", "message"}}``. Codes used, and why:

* ``BadRequest_NotFound`` (404, documented) — unknown company, entity set, key, navigation.
* ``BadRequest_PropertyNotFound`` (400) — unknown property in a body, ``$filter``, ``$select``,
  ``$expand``; ``BadRequest`` (400) — malformed JSON, a value of the wrong type, a read-only
  property, a missing required property or ``If-Match``, a malformed ``$filter``/``$top``/skip token.
* ``Internal_EntityWithSameKeyExists`` (400) — a second customer/item with the same ``number`` or a
  second journal with the same ``code`` (BC's duplicate primary key); ``Internal_RecordNotFound``
  (400) — a body refers to a customer, item, account, invoice or currency that does not exist.
* ``Application_StringExceededLength`` (400) — text longer than the field (BC's field lengths).
* ``Request_EntityChanged`` (412) — ``If-Match`` does not match the current etag.
* ``Application_DialogException`` (400) — errors raised by business logic (closed period,
  unbalanced journal, nothing to post, posted document changed); BC surfaces AL ``Error()`` so.
* ``Application_TooManyRequests`` (429), ``BadRequest_MethodNotAllowed`` (405),
  ``BadRequest_MethodNotFound`` (400, unknown bound action), ``Internal_ServerError`` (500).
  Injected faults: 503 ``ServiceUnavailable``, 504 ``RequestTimeout``, other 5xx
  ``Internal_ServerError``, 403 ``Authorization_InsufficientPermissions``.

Other choices where BC's documentation is silent, or where the sandbox simplifies:

* ids are GUIDs (seeded deterministically); every collection is in ``id`` order (BC orders by
  primary key) and the skip token is the last id of the page (keyset paging).
* Code fields (``number``, ``externalDocumentNumber``, ``code``, ...) are upper-cased on write and
  compare case-insensitively, as BC stores them (AL ``Code`` fields are upper-case by definition).
* No sales tax is computed: amounts with and without tax are equal (tax is the tax API's job).
  Amounts are not converted between currencies.
* A closed accounting period is one with ``closed`` or ``dateLocked`` set (the months of 2024);
  real BC restricts postings by "Allow Posting From/To" in the G/L setup, with the same message.
* Entity sets, fields, navigation and bound actions are those of Microsoft's API v2.0 page
  definitions (and, for sets those do not cover, BC's ``$metadata``): a test derives them from the
  published files (``tests/sandboxes/business_central/vendor``) and fails on anything extra.
* Deferrals (not in API v2.0): an item's *Default Deferral Template Code* (Item Card field, kept in the
  store, served only by the ``ItemCard`` OData V4 web service, ``/ODataV4/Company('<name>')/ItemCard``,
  whose service name and field names are GUESSED) defers a posted invoice line with its template
  (``SUB-12M``: Days per Period, from the posting date, 12 periods): the line moved from revenue to
  deferred revenue ``2200`` on posting, then one G/L entry pair per period (dated the period's first day),
  the last period taking the rounding, under the invoice's document number.
* ``journals(<id>)/Microsoft.NAV.post`` with the id of a payment journal batch posts its unposted
  payment lines (**unverified**: the journals page looks a batch up by id alone, so BC should post
  a cash-receipt batch so; ``post_payment_batches = False`` answers 404 instead, to test a vendor
  that refuses). Posted payment lines stay readable in the journal (BC moves them to customer
  ledger entries, which API v2.0 does not serve), are never posted twice, and cannot be changed.
* ``salesOrders(<id>)/Microsoft.NAV.shipAndInvoice`` posts the order's invoice (``orderId`` and
  ``orderNumber`` naming it; ``orderId`` is read-only on insert) and deletes the fully invoiced
  order; only service and non-inventory items ship (the sandbox keeps no inventory).
* A customer has no parent in BC's API; tokens are opaque strings, not JWTs.
"""

from sandboxes.business_central.app import BusinessCentralSandbox, create_business_central_sandbox

__all__ = ["BusinessCentralSandbox", "create_business_central_sandbox"]
