"""Product platform sandbox: the SaaS product's own internal REST API (our dialect, documented here).

There is no public vendor behind this API: it stands for the product's internal platform
(catalog, who may use what, metering). This docstring *is* its specification.

Transport and auth
    JSON over HTTP, resources under ``/v1``. Every ``/v1`` call needs ``X-Api-Key: <key>``;
    a missing or unknown key → 401 ``unauthenticated`` with ``WWW-Authenticate: ApiKey``.
    Every answer carries ``X-Request-Id: req_<hex>``. Field names are camelCase; timestamps
    ISO 8601 in UTC with milliseconds and ``Z`` (``2025-01-01T00:00:00.000Z``); inbound
    timestamps need an offset. Prices are ``{"currency": "USD", "unitAmountMinor": 1200000}``
    (integer minor units). Unknown request fields are ignored, except on PATCH (see below).

Errors
    ``{"error": {"code", "message", "requestId", "details"?: [{"field", "issue"}]}}``. Codes:
    400 ``invalid_request`` / ``invalid_json`` / ``invalid_page_token`` / ``unknown_sku`` /
    ``invalid_idempotency_key``; 401 ``unauthenticated``; 404 ``not_found``; 409
    ``entitlement_revoked`` / ``idempotency_in_progress``; 422 ``idempotency_key_reused``;
    429 ``rate_limited`` (with ``Retry-After`` in seconds); 500 ``internal_error``; 503
    ``unavailable``. Injected faults answer in this format too.

Pagination
    ``?pageSize=`` (1..100, default 25) and ``?pageToken=``; answers
    ``{"data": [...], "nextPageToken": "pt_…"}``, the token absent on the last page. Items come
    in id order. A token not issued by the API → 400 ``invalid_page_token``.

Idempotency
    ``Idempotency-Key`` (1-255 printable ASCII) on any POST: the first answer with a status
    below 500 is stored for 24 h, per API key, and replayed for a repeat of the same request
    with ``Idempotent-Replayed: true``; the same key with another method, path or body → 422
    ``idempotency_key_reused``; a repeat while the first is still running → 409
    ``idempotency_in_progress``. A 5xx is not stored, so the client may retry. PATCH takes
    absolute values and revoke is a no-op on a revoked entitlement, so both are safe to repeat
    without a key; usage events are de-duplicated by event id whatever the key.

Resources
    * ``GET /v1/products`` (``?family=``), ``GET /v1/products/{id}``;
      ``GET /v1/skus`` (``?productId=``, ``?code=``), ``GET /v1/skus/{id}``;
      ``GET /v1/bundles``, ``GET /v1/bundles/{id}`` — the fixed catalog of
      :mod:`sandboxes.product_platform.catalog`.
    * ``GET /v1/accounts`` (``?externalRef=`` = the CRM account id), ``GET /v1/accounts/{id}``.
    * ``GET /v1/accounts/{id}/entitlements`` (``?status=active|revoked``);
      ``POST /v1/accounts/{id}/entitlements`` ``{"skuCode" | "skuId", "quantity"?=1 (integer
      1..1,000,000), "startsAt"?=now, "endsAt"?, "externalRef"?}`` → 201 the entitlement;
      several active entitlements of one SKU may coexist (e.g. seats bought separately).
    * ``GET /v1/entitlements/{id}``; ``PATCH /v1/entitlements/{id}`` ``{"quantity"?, "endsAt"?}``
      (anything else → 400) → 200, ``version`` + 1 when something changed; on a revoked one → 409
      ``entitlement_revoked``; ``POST /v1/entitlements/{id}/revoke`` ``{"reason"?}`` → 200.
    * ``POST /v1/usage-events/batch`` ``{"events": [{"id", "accountId", "skuCode", "quantity",
      "timestamp", "properties"?}]}``, 1..1,000 events, each needing an ``id`` (else 400 for the
      batch) → 200 ``{"results": [{"id", "status": "accepted" | "duplicate" | "rejected",
      "error"?: {"code", "message"}}]}`` in request order. An event id seen before (in any batch)
      is a ``duplicate`` and changes nothing; rejections (``unknown_account``, ``not_metered``,
      ``invalid_quantity``, ``invalid_timestamp``) are per event and not remembered.

Control API (``/_control``, outside auth and faults): ``POST/DELETE faults``, ``POST reset``,
``GET counts`` — records of each kind, ``writes_applied`` per kind (grants, changes, revokes,
usage events), ``idempotent_replays``, fault counters.

Seed: the accounts are the Salesforce sandbox's companies for the same seed (``externalRef``
= the Salesforce Account Id); each line of a Closed Won opportunity is an active entitlement
(``externalRef`` = the Opportunity Id). State (accounts, entitlements, usage events, keys,
counters) is one JSON file under ``state_dir``; the catalog is fixed code. The one deliberate
catalog inconsistency is :data:`sandboxes.product_platform.catalog.PRICE_DRIFT`.
"""

from sandboxes.product_platform.app import ProductPlatformSandbox, create_product_platform_sandbox

__all__ = ["ProductPlatformSandbox", "create_product_platform_sandbox"]
