"""The ledger processes: billing events become ERP postings.

Event-driven, without an API of their own (their transactions show under operations):

* :mod:`~apis.process.ledger.inbox` — the background job that reads verified Stripe events
  from the payments inbox and starts one workflow per business object;
* :mod:`~apis.process.ledger.invoice_to_ledger` — a finalized invoice is taxed and posted to
  the ERP (held, not failed, when its accounting period is closed);
* :mod:`~apis.process.ledger.payment_to_cash` — a paid invoice becomes an ERP customer payment
  applied to its invoice, and refunds and credit notes become ERP credit memos
  (:mod:`~apis.process.ledger.credits`).
"""
