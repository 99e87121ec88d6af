"""Avalara AvaTax sandbox: a local simulator of a faithful subset of the AvaTax REST API v2.

Simulated (answers in AvaTax's own formats; never problem+json from us):

* Auth: HTTP Basic ``<accountId>:<licenseKey>`` on every ``/api/v2`` call; otherwise 401
  ``AuthenticationException`` (target ``HttpRequestHeaders``). ``X-Avalara-Client`` is accepted
  (and counted in ``/_control/counts`` → ``clients_seen``), not required.
* ``GET /api/v2/utilities/ping`` — works without credentials, as AvaTax's does:
  ``{version, authenticated, authenticationType, authenticatedAccountId?}``.
* ``GET /api/v2/companies`` — QueryCompanies: ``{"@recordsetCount", "value": [CompanyModel]}``
  with ``$filter=companyCode eq '<code>'`` (the only filter served), ``$top``, ``$skip``.
* ``POST /api/v2/transactions/create`` — CreateTransactionModel (``type``, ``code``,
  ``companyCode``, ``date``, ``customerCode``, ``commit``, ``currencyCode``, ``addresses``
  (``singleLocation`` or ``shipFrom``/``shipTo``), ``lines[{number, quantity, amount, taxCode,
  itemCode, description}]``, ``businessIdentificationNo`` = the buyer's VAT id) → 201 and a
  TransactionModel (``id, code, companyId, date, status, type, customerCode, currencyCode,
  totalAmount, totalTax, totalTaxable, totalExempt, version, adjustmentReason, lines[{…,
  details[…]}], addresses, summary, messages``). ``SalesOrder``/``ReturnOrder`` are estimates:
  status ``Temporary``, id 0, never saved. ``SalesInvoice``/``ReturnInvoice`` are saved:
  ``Committed`` with ``commit: true``, else ``Saved``. Creating again with the code of a saved,
  uncommitted document replaces it (AvaTax's documented behaviour); with the code of a
  committed or voided one → 400 ``DocumentCodeConflict``.
* ``POST /api/v2/transactions/createoradjust`` — ``{adjustmentReason?, adjustmentDescription?,
  createTransactionModel}``: the idempotent write, keyed by company + type + document code:
  creates, replaces a ``Saved`` document, or adjusts a ``Committed`` one (new ``version``, the
  old one kept as ``Adjusted``; reason defaults to ``Other``).
* ``GET /api/v2/companies/<cc>/transactions/<code>`` (``?documentType=``), and ``POST …/commit``
  (``{"commit": bool}``), ``…/void`` (``{"code": <VoidReasonCode>}`` → status ``Cancelled``),
  ``…/adjust`` (``{adjustmentReason, adjustmentDescription, newTransaction}``; ``Other`` needs
  a description). Codes in these URLs use AvaTax's escape form for ``/ + ? % #``
  (``_-ava2f-_``, ``_-ava2b-_``, ``_-ava3f-_``, ``_-ava25-_``, ``_-ava23-_``; a space is
  ``%20``); one of those characters arriving percent-encoded names nothing (404). Several
  types sharing a code without ``documentType`` → 400
  ``DocumentCodeConflict`` "Please specify DocumentType parameter" (AvaTax's documented text).
* Tax comes from the documented rate table of :mod:`sandboxes.avalara.rates` (US states with
  state + local rates, EU/GB VAT, reverse charge for cross-border B2B with a VAT id).
* Companies (:mod:`sandboxes.avalara.seed`): ``STRATA-US``, ``STRATA-DE``, ``STRATA-GB`` — the
  NetSuite subsidiaries; ``DEFAULT`` (or no ``companyCode``) is ``STRATA-US``.
* Faults (:mod:`sandboxes.faults`, rendered in AvaTax's error format) and a control API under
  ``/_control``: ``faults``, ``reset``, ``companies/<code>`` (DELETE: the account loses it),
  ``counts`` (requests, faults, documents by status and
  type, writes applied by kind — ``create``, ``replace``, ``adjust``, ``commit``, ``void``).
* State (companies, documents with their versions, write counters) is ``avalara.json`` under
  ``state_dir``, loaded or seeded on first use.

Every answer carries ``X-Correlation-Id`` (a UUID), as AvaTax's do: the official Python SDK reads
it from each answer and fails without it.

Errors are ``{"error": {"code", "message", "target", "details": [{"code", "number", "message",
"description", "faultCode", "helpLink", "severity", "refersTo"?}]}}``. Codes and statuses:

* ``AuthenticationException`` (401), ``EntityNotFoundError`` (404: unknown company or
  document), ``ValueRequiredError`` (400: a required field missing), ``InvalidParameterValue``
  (400: a wrong value or type), ``MissingLine`` (400), ``AddressIncomplete`` (400: no country;
  a US address without region or postal code), ``DocumentCodeConflict`` (400),
  ``ValidationException`` (400: no body, malformed JSON) — names from AvaTax's error list.
* ``InvalidDocumentStatus`` (400: commit/adjust of a voided document) — our name; AvaTax's
  exact code for this case is not documented.
* Injected faults: 401 ``AuthenticationException``, 404 ``EntityNotFoundError``, 429
  ``RequestLimitExceeded``, 5xx ``ServerUnreachable`` (faultCode ``Server``).

Other choices where AvaTax's documentation is silent or could not be checked:

* ``details[].number`` values are from AvaTax's published list where known (4, 5, 30, 32, 300,
  303, 309, 311, 1310); the others are unverified. ``refersTo`` names the offending field in
  the model's own spelling (``addresses.shipTo.postalCode``, ``lines[0].amount``).
* A ``createoradjust`` whose model equals the current version's (everything but ``commit``)
  applies nothing and answers the current version: the idempotent repeat. The real service's
  handling of an identical repeat is not documented.
* Voiding a voided document answers it unchanged (no error). Void with any reason code sets
  ``Cancelled`` (``DocDeleted`` does not delete).
* No ``shipFrom`` → the company's origin address. US regions are accepted as codes or full
  names (AvaTax resolves both); addresses are not validated beyond completeness.
* Amounts are used as sent (a return carries negative amounts, as AvaTax expects); currencies
  are not converted (``exchangeRate`` 1).
* The status code of a create/createoradjust is 201 (AvaTax documents 200/201 loosely; its
  SDKs accept both).
"""

from sandboxes.avalara.app import AvalaraSandbox, create_avalara_sandbox

__all__ = ["AvalaraSandbox", "create_avalara_sandbox"]
