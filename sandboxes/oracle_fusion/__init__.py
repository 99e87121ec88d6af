"""Oracle Fusion sandbox: a local simulator of a subset of Oracle Fusion Cloud ERP's REST APIs.

Oracle publishes nothing machine-readable offline (see ``/work/shared/vendor-specs/oracle-fusion``):
what this sandbox answers to is Oracle's documented examples and operation pages of the
Financials REST guide ("farfa", release 23D-26D), and where those are silent it GUESSES.

Simulated (answers in Oracle's formats; never problem+json from us):

* ``/fscmRestApi/resources/<version>/`` and ``/crmRestApi/resources/<version>/`` (``<version>`` =
  ``11.13.18.05`` or ``latest``): every call needs HTTP Basic (the integration user) or
  ``Authorization: Bearer`` (a token of ``POST /oauth2/v1/token``, the identity domain's
  client-credentials grant); else 401 with an empty body and a ``Basic`` challenge.
* Collections (:mod:`.rest`): ``{"items", "totalResults"?, "count", "hasMore", "limit", "offset",
  "links"}``; ``limit`` (25 by default, at most 500), ``offset``, ``totalResults=true``, ``q``
  (``A=v;B>v`` and row-match ``A LIKE 'x%' and B = 'y'``), ``finder=<name>;<var>=<value>``,
  ``orderBy``, ``fields``, ``expand``, ``onlyData=true``. Items carry ``links`` (``self``,
  ``canonical``, a ``child`` link per child resource) unless ``onlyData=true``.
* ``POST`` (``application/json`` or ``application/vnd.oracle.adf.resourceitem+json``, else 415) →
  201 with the item and ``Location``; ``Upsert-Mode: true`` on ``accounts`` updates the account
  with the same ``PartyNumber`` (200). ``PATCH`` → 200. Unknown, read-only or wrongly typed
  attributes → 400. Errors are ``{"type", "title", "status", "o:errorDetails": [{"detail",
  "o:errorCode"}]}`` (``application/vnd.oracle.adf.error+json``).
* Resources: ``receivablesInvoices`` (+ ``receivablesInvoiceLines``), ``receivablesCreditMemos`` (+
  ``receivablesCreditMemoLines``), ``standardReceipts`` (+ ``receiptApplications``, action
  ``applyReceipt``), ``salesOrdersForOrderHub`` (+ ``lines``), ``journalBatches`` (+ ``journalLines``),
  ``crmRestApi`` ``accounts`` (item key ``PartyNumber``), and read-only ``itemsV2``,
  ``legalEntitiesLOV``, ``finBusinessUnitsLOV``, ``ledgersLOV``, ``accountingPeriodStatusLOV``.
* Business rules (:mod:`.writes`): ``TransactionNumber`` unique per transaction source and business
  unit (manual numbering), ``ReceiptNumber`` per business unit, ``BatchName`` per ledger,
  ``SourceTransactionNumber`` per source system; accounting dates must fall in a period open
  (``O``) or future-enterable (``F``) for Receivables (222) or General Ledger (101); line amounts and
  totals computed; receipts applied lower the invoice's ``InvoiceBalanceAmount``; credit memos
  naming a credited invoice lower it too; journals must balance.
* Faults (:mod:`sandboxes.faults`, rendered in Oracle's error format) and the control API under
  ``/_control``: ``faults``, ``reset``, ``counts``, ``expire-tokens``.
* State is a JSON file under ``state_dir``; tokens are not persisted.

Answering to Oracle's documented examples: ``receivablesInvoices`` attribute names and types
(``CustomerTransactionId`` a number, dates ``"YYYY-MM-DD"``, ``TransactionNumber``,
``BillToCustomerNumber``, ``BusinessUnit``, ``TransactionSource``, ``TransactionType``,
``InvoiceCurrencyCode``, ``PaymentTerms``, ``InvoiceBalanceAmount``, ``receivablesInvoiceLines``
with ``LineNumber``, ``Description``, ``Quantity``, ``UnitSellingPrice``) and ``standardReceipts``
(``ReceiptNumber``, ``ReceiptMethod``, ``BusinessUnit``, ``Amount`` **as a string**, ``Currency``,
``RemittanceBankAccountNumber``, ``StandardReceiptId`` a number, many ``null`` fields); the
``REST-Framework-Version`` header, ``q``/``finder``/``expand``/``fields``/``onlyData``/``limit``/
``offset``/``totalResults`` parameters and the ``items``/``hasMore`` collection envelope of the
operation pages; the ``<resource>/{id}/action/applyReceipt`` action's existence (26D guide).

GUESSED (no published example was reachable):

* The error body's exact fields and every ``o:errorCode`` value (Oracle's are ``AR-nnnnnn``-style
  message names; the codes here are descriptive stand-ins) and 401's empty body.
* ``receivablesInvoiceLines.ItemNumber``/``SalesOrder``/``LineAmount``; the whole of
  ``receivablesCreditMemos`` (``CreditMemoCurrency``, ``CreditedTransactionNumber``, negative line
  quantities), of ``receiptApplications`` (a child listing the applications) and of the
  ``applyReceipt`` parameters (``TransactionNumber``, ``AmountApplied``, ``ApplicationDate``).
* ``salesOrdersForOrderHub``: Oracle's operation pages and a published example give
  ``SourceTransactionNumber``/``SourceTransactionSystem``/``SourceTransactionId``, ``BusinessUnitName``,
  ``TransactionOn`` (a timestamp), ``SubmittedFlag`` (a boolean), ``lines`` with ``SourceTransactionLineId``,
  ``ProductNumber``, ``OrderedQuantity``, the ``OrderKey`` item key and ``Upsert-Mode``; GUESSED are
  ``BuyingPartyNumber`` (the example names the party by ``BuyingPartyName`` and a ``billToCustomer``
  child), ``TransactionalCurrencyCode``, a line's ``UnitSellingPrice`` (Oracle prices through
  ``charges``), ``TotalAmount``, and the order being created ``OPEN`` at once (no orchestration).
* Cancelling an order-hub order: Oracle documents cancelling orders through Order Management (in
  bulk through *Sales Order Action Requests*, or by revising the order) but no single-order REST
  call was found; the action ``salesOrdersForOrderHub/{OrderKey}/action/cancelSalesOrder`` with
  ``{"CancelReason"}``, answering ``{"result": "SUCCESS"}`` and leaving the order ``CANCELED``
  (an already ``CANCELED`` or ``CLOSED`` one refused with 400), is GUESSED whole
  (:func:`.writes.cancel_order`).
* ``journalBatches`` as a writable resource with a flat ``journalLines`` child and the ledger on
  the batch: Oracle's released way to create journals is the journal import (FBDI through
  ``erpintegrations`` and the *Import Journals* process); the sandbox simulates a synchronous
  batch instead, posted at once (``Status`` ``P``).
* ``accounts`` (CX Sales / TCA) attributes beyond ``PartyId``/``PartyNumber``/``OrganizationName``/
  ``SourceSystem``/``SourceSystemReferenceValue``/address and ``CurrencyCode``; ``PaymentTerms`` on the
  account (Oracle keeps terms on the customer account profile). SIMPLIFIED: a party here is
  transactable at once and its customer account number equals its ``PartyNumber``; in Oracle a
  party needs a customer account with a bill-to site (SOAP ``CustomerAccountService``, or the
  customer import) before ``BillToCustomerNumber`` may name it.
* ``itemsV2.ListPrice``; the LOV resources' attributes (``finBusinessUnitsLOV.LegalEntityId``,
  ``ledgersLOV.CurrencyCode``; of ``accountingPeriodStatusLOV`` only its key and ``ClosingStatus``
  values are published: ``PeriodYear``/``PeriodNumber``/``StartDate``/``EndDate`` and the finder
  ``PeriodStatusFinder`` are GUESSED, and ``PeriodNameId`` is taken to be the period name).
* Revenue scheduling: ``receivablesInvoiceLines.AccountingRule``/``RuleStartDate``/``RuleEndDate`` and the
  invoice's ``InvoicingRule`` are in Oracle's example; Revenue Recognition is taken to have run at once,
  leaving a ``receivablesInvoiceDistributions`` child (its attributes ``AccountingDate`` and
  ``InvoiceLineNumber`` GUESSED) with one ``Revenue`` row per period of a ruled line (only the rule
  *Daily Revenue Rate, Partial Periods* is set up; the last period takes the rounding, GUESSED).
* No throttling of its own (Oracle's limits are not published per pod); 429s come from faults.
* No tax, no currency conversion, no inventory; collections are in id order unless ``orderBy``.
"""

from sandboxes.oracle_fusion.app import OracleFusionSandbox, create_oracle_fusion_sandbox

__all__ = ["OracleFusionSandbox", "create_oracle_fusion_sandbox"]
