"""SAP S/4HANA Cloud (public edition) sandbox: a faithful subset of its A2X APIs (OData V2 and SOAP).

Simulated, answering in SAP's formats (never problem+json from us):

* Auth as a communication arrangement grants it: HTTP Basic with the communication user, or a
  Bearer token from ``POST /sap/bc/sec/oauth2/token`` (client credentials; ``{"access_token",
  "token_type", "expires_in"}``, errors ``{"error", "error_description"}``). Anything else under
  ``/sap/`` → 401 with ``WWW-Authenticate: Basic realm=…`` and an HTML body.
* CSRF (SAP Gateway): ``GET`` with ``x-csrf-token: Fetch`` answers the token and a session cookie
  ``SAP_SESSIONID_S4C_100``; every write needs both, else 403 with ``x-csrf-token: Required`` and
  ``CSRF token validation failed``.
* OData V2 services at ``/sap/opu/odata/sap/<SERVICE>/`` (:mod:`.service`); ``$metadata`` is the
  published EDMX byte for byte (``metadata/``, see its PROVENANCE.md) for API_BUSINESS_PARTNER,
  API_SALES_ORDER_SRV, API_BILLING_DOCUMENT_SRV, API_JOURNALENTRYITEMBASIC_SRV and
  API_GLACCOUNTLINEITEM; requests are validated against it (unknown properties, read-only
  properties, ``MaxLength``, non-creatable sets such as ``A_BillingDocument`` → 405).
* Journal Entry - Post, synchronous SOAP (:mod:`.soap`).
* Business rules (:mod:`.rules`): numbering, pricing, the billing run, accounting postings.
* Faults (:mod:`sandboxes.faults`, in SAP Gateway's error format) and the control API under
  ``/_control``: ``faults``, ``reset``, ``counts`` (records and ``writes`` by entity set, function
  imports as ``<set>/<function>``, SOAP postings as ``JournalEntry``), ``expire-tokens``.
* State is a JSON file under ``state_dir`` (tokens and CSRF sessions are not persisted).

GUESSED (no published artefact in the collection; see also :mod:`.guessed` and :mod:`.soap`):

* ``API_PRODUCT_SRV`` (``A_Product``, ``A_ProductDescription``, ``A_ProductValuation``),
  ``API_CREDIT_MEMO_REQUEST_SRV`` (``A_CreditMemoRequest`` + items + pricing elements) and the
  custom CDS view ``YY1_POSTINGPERIOD_CDS`` (posting period status: SAP releases no OData API for
  it) — their ``$metadata`` is generated; the SOAP journal entry message's element names beyond
  the header (``DebtorItem/InvoiceReference`` especially).
* Deferred revenue has no sandbox part of its own: S/4HANA's released sales and billing APIs carry no
  service period, so the connector posts deferral journal entries, which land as G/L line items.
* The billing run happens synchronously when an order becomes billable (no billing block); real
  SAP runs the billing due list as a job. Billing documents take ``DocumentReferenceID`` from the
  order's ``AccountingDocExternalReference`` and their date from ``RequestedDeliveryDate``.
* Error codes and texts of SAP Gateway (``/IWBEP/CM_MGW_RT/…``) and of the applications
  (``V1/…``, ``F5/201`` closed posting period, ``F5/702`` unbalanced) are as commonly seen, not
  checked against a live tenant; 405 for a write to a non-creatable set, 428 for a missing If-Match.
* A reason for rejection on a sales order item (``SalesDocumentRjcnReason``, updatable in the
  published EDMX) is checked against SAP's standard reason codes (the tenant's own list is
  customizing), refused on a billed order (message ``V1/087``), and sets the header's
  ``OverallSDDocumentRejectionSts`` (C: all items rejected, which the billing run then skips).
* No tax is computed; amounts are not converted between currencies; payments are accounting
  documents (``DZ``) whose customer items name the invoice's accounting document in
  ``InvoiceReference`` (a partial payment's residual reference) instead of clearing it.
"""

from sandboxes.sap_s4hana.app import SapS4HanaSandbox, create_sap_s4hana_sandbox

__all__ = ["SapS4HanaSandbox", "create_sap_s4hana_sandbox"]
