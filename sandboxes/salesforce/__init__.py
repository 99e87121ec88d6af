"""Salesforce sandbox: a local simulator of a faithful subset of the Salesforce REST API.

Simulated (answers in Salesforce's own formats, never problem+json):

* ``POST /services/oauth2/token`` — ``grant_type=client_credentials`` with the client id and
  secret in the form or in HTTP Basic; answers ``access_token, signature, scope, instance_url,
  id, token_type, issued_at``; errors are ``{"error", "error_description"}`` with 400
  (``unsupported_grant_type``, ``invalid_client_id``, ``invalid_client``).
* ``GET /services/data/`` (versions 58.0–62.0) and ``GET /services/data/vXX.X`` (resources).
* Data calls need ``Authorization: Bearer <token>``; otherwise 401
  ``[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]``. Tokens
  expire after ``token_ttl_seconds`` (Salesforce's session timeout) or when the control API
  expires them.
* sObjects Account, Contact, Opportunity, OpportunityLineItem, Product2:
  ``GET/PATCH/DELETE /sobjects/<Type>/<id>`` (``?fields=``), ``POST /sobjects/<Type>`` →
  201 ``{"id","success":true,"errors":[]}``, upsert ``PATCH /sobjects/<Type>/<ExtId__c>/<value>``
  → 201 created / 204 updated / 300 with the matching records' URLs, ``GET`` by external id.
  Ids are 18-character ids with a correct case-safety suffix; 15-character ids are accepted.
* ``GET /sobjects/<Type>/describe`` — fields with types, external ids and picklist values
  (:mod:`sandboxes.salesforce.describe`).
* ``GET /query?q=`` — see :mod:`sandboxes.salesforce.soql` for the SOQL subset; batches of at
  most 2,000 records (``Sforce-Query-Options: batchSize=N`` for 200..2,000) and a root-relative
  ``nextRecordsUrl`` ``/services/data/vXX.X/query/01g…-<position>``.
* ``POST /composite`` — up to 25 subrequests, ``@{ref.path}`` references, ``allOrNone``.
* Errors: ``[{"message","errorCode","fields"}]`` with 400 (INVALID_FIELD, MALFORMED_QUERY,
  REQUIRED_FIELD_MISSING, ...), 404 NOT_FOUND, 403 REQUEST_LIMIT_EXCEEDED once the API usage
  passes ``api_limit``. Every response carries ``Sforce-Limit-Info: api-usage=N/M``.
* Faults (:mod:`sandboxes.faults`) and a control API under ``/_control``
  (``faults``, ``reset``, ``counts``, ``expire-tokens``, ``fields/<Type>/<Field>`` (DELETE: the
  org's describe loses the field)).
* Mounted under a prefix (``/sandbox/salesforce``), the token's ``instance_url`` carries the
  prefix (from ``root_path``, or what the mount stripped from ``raw_path``); record URLs and
  ``nextRecordsUrl`` stay root-relative to the instance, as in Salesforce.

Choices where Salesforce's behaviour could not be verified from a primary source:

* Upsert that updates answers 204 with no body (the pre-v46 behaviour, and what the brief
  asks for); Salesforce documents 200 with ``{"id","success","errors","created":false}`` for
  newer versions. Clients should accept both.
* Injected 429s use errorCode REQUEST_LIMIT_EXCEEDED; 503s use SERVER_UNAVAILABLE; other 5xx
  UNKNOWN_EXCEPTION — all as JSON arrays (the real front end sometimes sends HTML for 502/504).
* The literal-type error in WHERE (quoted date, etc.) uses errorCode
  INVALID_QUERY_FILTER_OPERATOR; an invalid locator INVALID_QUERY_LOCATOR.
* OpportunityLineItem needs no PricebookEntryId here; ``TotalPrice`` = Quantity × UnitPrice.
* The org has multi-currency (``CurrencyIsoCode``) and state/country picklists
  (``BillingCountryCode``) enabled, and custom fields ``Strata_Id__c`` (external id, on
  Account, Contact, Opportunity), ``Tax_Id__c``, ``Billing_Status__c``, ``Invoice_Number__c``.
* Partner attribution is the custom Text(64) field ``Partner_Id__c`` on Account and
  Opportunity, holding the Strata partner id (``partner-northwind``), the ``partner_id`` a
  partner's OAuth client is bound to. Salesforce's own partner model (PRM: partner accounts,
  ``PartnerAccountId`` on Opportunity, Experience Cloud partner users) needs partner licences
  and a partner *account* record per partner; a text field keyed by Strata's own partner id
  works in any org and is what the gateway filters on (``WHERE Partner_Id__c = '…'``). Empty
  means a direct (unattributed) record. The seed attributes a few accounts and their
  opportunities to ``partner-northwind`` and ``partner-contoso`` (see
  :data:`sandboxes.salesforce.seed.PARTNER_ACCOUNTS`) and leaves the rest direct.
* Opportunity ``Type`` is an unrestricted picklist here. A new org's standard values are
  ``New Customer`` and ``Existing Customer - Upgrade|Replacement|Downgrade``; ``Amendment``,
  ``Renewal`` and ``New Business``, which subscription sellers commonly add (and what the
  subscription-changes process reads), are GUESSED: no published artefact lists them.
  ``POST /_control/won-deals`` takes ``type`` per deal.
* API usage counts data calls (not token calls); a composite request counts once.
* API usage is not persisted; records are (JSON file under ``state_dir``).
"""

from sandboxes.salesforce.app import SalesforceSandbox, create_salesforce_sandbox

__all__ = ["SalesforceSandbox", "create_salesforce_sandbox"]
