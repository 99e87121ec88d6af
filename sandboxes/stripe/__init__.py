"""Stripe sandbox: a local simulator of a faithful subset of the Stripe API (``/v1``).

Simulated, in Stripe's own dialect (never problem+json):

* Auth: ``Authorization: Bearer sk_test_…`` (or HTTP Basic with the key as user name); no
  key → 401 "You did not provide an API key…", another key → 401 ``api_key_invalid``.
* ``Stripe-Version``: any ``YYYY-MM-DD[.name]`` is accepted and echoed in the answer;
  without it the account's default (``2026-10-28.endive``, the stripe 16.1 SDK's pin) applies;
  a malformed one → 400. Every answer carries ``Request-Id: req_…``.
* Bodies are ``application/x-www-form-urlencoded`` with bracket notation (``items[0][price]``,
  ``metadata[k]``, ``expand[]``); query strings likewise. Unknown parameters →
  400 ``parameter_unknown``; missing ones ``parameter_missing``; bad integers
  ``parameter_invalid_integer``.
* Ids carry Stripe's prefixes (``cus_ prod_ price_ sub_ si_ in_ il_ ii_ cn_ pi_ ch_ re_ mtr_
  evt_``); timestamps are Unix seconds; amounts are integers in minor units.
* Lists ``{"object":"list","url","has_more","data"}``, newest first, ``limit`` 1–100 (default
  10), ``starting_after`` / ``ending_before`` (an unknown cursor → 400 ``resource_missing``).
  ``expand[]`` replaces id fields by their objects (``latest_invoice``, ``latest_charge``,
  ``data.customer`` …, at most four levels).
* Errors ``{"error":{"type","code","param","message","doc_url"}}``: 400 invalid request,
  401, 402 ``card_error`` (with ``decline_code`` and the ``payment_intent``), 404
  ``resource_missing``, 409 ``idempotency_key_in_use``, 429 ``rate_limit``, 500 ``api_error``.
  429 and 5xx carry ``Stripe-Should-Retry: true`` (a 500 replayed from the idempotency
  store says ``false``, as Stripe's SDK documentation describes).
* ``Idempotency-Key`` on POST: the first result (status + body) is stored once the endpoint
  began executing and replayed for 24 hours with ``Idempotent-Replayed: true`` and
  ``Original-Request``; the same key with other parameters (or another path) → 400
  ``idempotency_error``; the same key while the first request runs → 409. Keys are echoed in
  ``Idempotency-Key``. Stored with their results, so a restart keeps them.
* Search (``/v1/customers/search``) lags like Stripe's: a customer created less than
  ``search_lag_seconds`` ago (control API ``POST /_control/search_lag {"seconds"}``; 0 unless
  set) is not found; with ``available: false`` the account has no Search (as in India) and it
  answers 400 ``feature_not_enabled`` (code guessed). Lists filter ``created`` (``created[gte]=…``
  …), never metadata.
* Resources: customers (CRUD, ``email`` and ``created`` filters), products, prices (``lookup_keys[]``,
  ``product``, ``currency`` filters), subscriptions (create with ``items[]``,
  ``collection_method``, ``days_until_due``, ``add_invoice_items[]`` (one-time prices on the
  first invoice); update items/quantities/prices with
  ``proration_behavior`` ``create_prorations|none|always_invoice``; cancel with DELETE,
  optionally ``prorate``/``invoice_now``), subscription schedules
  (:mod:`sandboxes.stripe.schedules`: create ``from_subscription``, get, update ``phases[]`` and
  ``end_behavior``, ``release``, ``cancel``), invoices (create from pending items, list, get,
  lines, ``finalize``, ``void``, ``pay`` with ``paid_out_of_band`` or a payment method),
  invoice items, credit notes (amount or lines; pre-payment on open invoices lowers
  ``amount_remaining``, post-payment on paid ones; ``void``), payment intents (create,
  ``confirm``, ``capture``, ``cancel``; test payment methods ``pm_card_visa`` … succeed,
  ``pm_card_chargeDeclined`` … decline with 402), charges (get), refunds (full or partial,
  ``charge.refunded``), billing meters (create, list, get, deactivate/reactivate,
  ``event_summaries``), meter events (``event_name``, ``payload[stripe_customer_id]``,
  ``payload[value]``, ``identifier``, ``timestamp``), events (list with ``type`` wildcards /
  ``types[]``, get).
* Webhooks (:mod:`sandboxes.stripe.webhooks`): ``invoice.finalized``, ``invoice.paid``,
  ``payment_intent.succeeded``, ``charge.refunded``, ``credit_note.created`` (the ledger's inbox acts
  on it) and ``customer.subscription.updated`` are
  POSTed to the configured endpoint, signed ``Stripe-Signature: t=…,v1=…``, retried on non-2xx,
  rendered in the endpoint's ``api_version`` (``2026-10-28.endive`` unless configured otherwise;
  ``null`` = the account's default), never in the version of the request that caused them;
  ``/v1/events`` shows the account's default. Webhook endpoints
  (:mod:`sandboxes.stripe.webhook_endpoints`): create (``api_version`` fixed at creation), list,
  get, update, delete.
* Control API under ``/_control``: ``faults`` (POST/DELETE), ``counts`` (objects and writes
  applied per kind, requests, faults), ``reset``, ``events`` (emitted events with their
  delivery attempts), ``events/<id>/redeliver``, ``webhook_endpoint`` (POST ``{url, secret, api_version?}``),
  ``search_lag`` (POST ``{seconds, available}``).

Choices where Stripe's documentation is silent or could not be checked here:

* Error codes for state conflicts: finalizing a non-draft invoice, voiding a non-open one, a
  credit note on a draft → ``invoice_not_editable``; paying a paid invoice →
  ``invoice_already_paid``; updating a canceled subscription → ``subscription_canceled``;
  refunding a payment intent without a successful charge → ``charge_not_refundable``; a credit
  note above what is left → ``credit_note_amount_too_large``; paying without a payment method →
  ``missing``.
* A repeated meter-event ``identifier`` (within 24 hours) → 400 ``resource_already_exists``
  with ``param=identifier``, and it is not counted again; an ``event_name`` without an active
  meter and an unknown customer are refused synchronously (Stripe reports some of these
  asynchronously).
* Which results an Idempotency-Key stores: 200, 402 and 500 (the endpoint ran); 400/404
  (validation before execution) are not stored, so a corrected retry with the same key works.
* DELETE of an already canceled subscription answers it unchanged (idempotent), rather than
  an error.
* ``add_invoice_items`` with a recurring price → 400 (message guessed); subscription schedule
  errors and their codes (``subscription_schedule_already_exists``, ``schedule_not_active``), and
  a last phase's end from ``iterations`` (see :mod:`sandboxes.stripe.schedules`). The shapes are
  the 2023-08-16 spec's (``phases[][iterations]``; newer versions also offer ``duration``).
* Subscriptions become ``active`` at once. With ``charge_automatically`` the first invoice is
  finalized and charged to the default payment method, or the subscription is ``incomplete``;
  with ``send_invoice`` the first invoice stays a draft for the caller to finalize.
* Rendering an event "in a version" only sets its ``api_version``: the objects inside have the
  one shape below whatever the version.
* Invoice lines use the current API's shape (``pricing.price_details``, ``parent``), the
  invoice's subscription is ``parent.subscription_details.subscription``, item periods are on
  the subscription items — whatever ``Stripe-Version`` a request names.
* No automatic advancement (no clock): drafts are finalized only when asked.
* Rate limiting is off unless ``rate_limit_per_second`` is given; its 429s carry
  ``Stripe-Should-Retry: true``. Dropped connections are not simulated (see faults).
"""

from sandboxes.stripe.app import StripeSandbox, create_stripe_sandbox

__all__ = ["StripeSandbox", "create_stripe_sandbox"]
