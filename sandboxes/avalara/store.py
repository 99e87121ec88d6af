"""The simulated AvaTax account: companies, documents with their versions, write counters.

A document is keyed by (company code, document type, code). Its ``current`` version is what
AvaTax answers; superseded versions (status ``Adjusted``) are kept in ``history``; ``content``
is the validated model behind the current version, so an identical ``createoradjust`` repeat
is recognised and applies nothing. Amounts are kept as decimal strings in the state file.
"""

from __future__ import annotations

import copy
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from sandboxes.avalara import model as m
from sandboxes.avalara import seed
from sandboxes.avalara.errors import AvaError
from sandboxes.state_file import JsonStateFile

STATE_FILE = "avalara.json"
FIRST_ID = 85_000_000
ADJUSTMENT_REASONS = (
    "NotAdjusted", "SourcingIssue", "ReconciledWithGeneralLedger", "ExemptCertApplied", "PriceAdjusted",
    "ProductReturned", "ProductExchanged", "BadDebt", "Other", "Offline",
)  # fmt: skip
VOID_REASONS = ("Unspecified", "PostFailed", "DocDeleted", "DocVoided", "AdjustmentCancelled")
Document = dict[str, Any]


class Store(JsonStateFile):
    """Companies and documents; every write is saved to ``avalara.json`` at once."""

    def __init__(self, state_dir: Path | None) -> None:
        super().__init__(state_dir, STATE_FILE)
        self.companies: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, Document] = {}
        self.counter = FIRST_ID
        self.writes: Counter[str] = Counter()
        """Writes applied, by kind: ``create``, ``replace``, ``adjust``, ``commit``, ``void``."""
        self._load_or_reset()

    # -- persistence ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every document and counter; seed the companies again."""
        with self._lock:
            self.companies = seed.companies()
            self.documents, self.counter, self.writes = {}, FIRST_ID, Counter()
            self.save()

    def _state(self) -> dict[str, Any]:
        return {
            "companies": self.companies,
            "documents": self.documents,
            "counter": self.counter,
            "writes": dict(self.writes),
        }

    def _restore(self, data: dict[str, Any]) -> None:
        self.companies = data["companies"]
        self.documents = {
            key: {"current": _decimals(doc["current"]), "content": doc["content"], "history": _decimals(doc["history"])}
            for key, doc in data["documents"].items()
        }
        self.counter = int(data["counter"])
        self.writes = Counter(data.get("writes", {}))

    # -- reads ---------------------------------------------------------------------------------
    def company(self, code: str) -> dict[str, Any]:
        """The company with this code (``DEFAULT`` = the default company), or 404."""
        wanted = (code or "DEFAULT").upper()
        if wanted == "DEFAULT":
            wanted = seed.DEFAULT_COMPANY
        found = self.companies.get(wanted)
        if found is None:
            raise AvaError(404, "EntityNotFoundError", f"Company '{code}' not found.", refers_to="companyCode")
        return found

    def find(self, company_code: str, code: str, doc_type: str | None) -> Document:
        """The document (company, code, type); with no type, the only saved one with that code."""
        company = self.company(company_code)["companyCode"]
        types = [doc_type] if doc_type else list(m.SAVED_TYPES)
        found = [self.documents[k] for t in types if (k := _key(company, t, code)) in self.documents]
        if not found:
            message = f"Transaction '{code}' for company '{company}' not found."
            raise AvaError(404, "EntityNotFoundError", message, target="HttpRequest", refers_to="transactionCode")
        if len(found) > 1:
            description = (
                f"This API applies to a single document, but multiple documents exist for company '{company}' and "
                f"code '{code}'. Please provide the DocumentType parameter to distinguish between them."
            )
            raise AvaError(
                400, "DocumentCodeConflict", "Please specify DocumentType parameter", description=description
            )
        return found[0]

    def counts(self) -> dict[str, Any]:
        """Documents by current status, and writes applied."""
        by_status: Counter[str] = Counter(doc["current"]["status"] for doc in self.documents.values())
        by_type: Counter[str] = Counter(doc["current"]["type"] for doc in self.documents.values())
        return {
            "companies": len(self.companies),
            "transactions": len(self.documents),
            "transactions_by_status": dict(by_status),
            "transactions_by_type": dict(by_type),
            "writes_applied": dict(self.writes),
            "writes_applied_total": sum(self.writes.values()),
        }

    # -- writes --------------------------------------------------------------------------------
    def create(self, raw: Any) -> dict[str, Any]:
        """``transactions/create``: an estimate for orders, a saved document otherwise."""
        with self._lock:
            model = m.validate(raw, self._lookup())
            company = self.company(model["companyCode"])
            if model["type"] not in m.SAVED_TYPES:
                return m.calculate(model, company, transaction_id=0, status="Temporary")
            key = _key(company["companyCode"], model["type"], model["code"])
            existing = self.documents.get(key)
            if existing is not None and existing["current"]["status"] != "Saved":
                description = (
                    f"A document with code '{model['code']}' already exists for company '{company['companyCode']}' "
                    "and has been committed; adjust or void it instead."
                )
                raise AvaError(
                    400, "DocumentCodeConflict", "Duplicate document code.", description=description, refers_to="code"
                )
            return self._put(key, model, company, "replace" if existing else "create")

    def create_or_adjust(self, raw: Any) -> dict[str, Any]:
        """``transactions/createoradjust``: the document code is the key; a repeat applies nothing."""
        if not isinstance(raw, dict) or not isinstance(raw.get("createTransactionModel"), dict):
            raise AvaError(
                400,
                "ValueRequiredError",
                "Field 'createTransactionModel' is required.",
                refers_to="createTransactionModel",
            )
        reason, description = _reason(raw)
        with self._lock:
            model = m.validate(raw["createTransactionModel"], self._lookup())
            company = self.company(model["companyCode"])
            if model["type"] not in m.SAVED_TYPES:
                return m.calculate(model, company, transaction_id=0, status="Temporary")
            key = _key(company["companyCode"], model["type"], model["code"])
            existing = self.documents.get(key)
            if existing is None:
                return self._put(key, model, company, "create")
            status = existing["current"]["status"]
            _refuse_cancelled(existing, "adjusted")
            if existing["content"] == _plain(m.content_of(model)):
                if model["commit"] and status == "Saved":
                    return self._set_status(existing, "Committed", "commit")
                return copy.deepcopy(existing["current"])
            if status == "Saved":
                return self._put(key, model, company, "replace")
            return self._adjust(existing, model, company, reason, description)

    def adjust(self, company_code: str, code: str, doc_type: str | None, raw: Any) -> dict[str, Any]:
        """``.../adjust``: a new version of a saved document, the old one kept as ``Adjusted``."""
        if not isinstance(raw, dict) or not isinstance(raw.get("newTransaction"), dict):
            raise AvaError(400, "ValueRequiredError", "Field 'newTransaction' is required.", refers_to="newTransaction")
        reason, description = _reason(raw, required=True)
        with self._lock:
            existing = self.find(company_code, code, doc_type)
            _refuse_cancelled(existing, "adjusted")
            current = existing["current"]
            forced = {"code": current["code"], "companyCode": current["companyCode"], "type": current["type"]}
            model = m.validate({**raw["newTransaction"], **forced}, self._lookup())
            return self._adjust(existing, model, self.company(current["companyCode"]), reason, description)

    def commit(self, company_code: str, code: str, doc_type: str | None, raw: Any) -> dict[str, Any]:
        """``.../commit`` with ``{"commit": true|false}``."""
        if not isinstance(raw, dict) or not isinstance(raw.get("commit"), bool):
            raise AvaError(400, "ValueRequiredError", "Field 'commit' is required.", refers_to="commit")
        with self._lock:
            existing = self.find(company_code, code, doc_type)
            _refuse_cancelled(existing, "committed")
            wanted = "Committed" if raw["commit"] else "Saved"
            if existing["current"]["status"] == wanted:
                return copy.deepcopy(existing["current"])
            return self._set_status(existing, wanted, "commit")

    def void(self, company_code: str, code: str, doc_type: str | None, raw: Any) -> dict[str, Any]:
        """``.../void`` with ``{"code": <VoidReasonCode>}``; voiding a voided document changes nothing."""
        if not isinstance(raw, dict) or not raw.get("code"):
            raise AvaError(400, "ValueRequiredError", "Field 'code' is required.", refers_to="code")
        if raw["code"] not in VOID_REASONS:
            message = f"Field 'code' must be one of {', '.join(VOID_REASONS)}."
            raise AvaError(400, "InvalidParameterValue", message, refers_to="code")
        with self._lock:
            existing = self.find(company_code, code, doc_type)
            if existing["current"]["status"] == "Cancelled":
                return copy.deepcopy(existing["current"])
            return self._set_status(existing, "Cancelled", "void")

    # -- helpers -------------------------------------------------------------------------------
    def _lookup(self) -> dict[str, dict[str, Any]]:
        return {**self.companies, "DEFAULT": self.companies[seed.DEFAULT_COMPANY]}

    def _next_id(self) -> int:
        self.counter += 1
        return self.counter

    def _put(self, key: str, model: dict[str, Any], company: dict[str, Any], kind: str) -> dict[str, Any]:
        status = "Committed" if model["commit"] else "Saved"
        transaction = m.calculate(model, company, transaction_id=self._next_id(), status=status)
        self.documents[key] = {"current": transaction, "content": _plain(m.content_of(model)), "history": []}
        return self._applied(kind, transaction)

    def _adjust(
        self, existing: Document, model: dict[str, Any], company: dict[str, Any], reason: str, description: str | None
    ) -> dict[str, Any]:
        old = existing["current"]
        status = "Committed" if old["status"] == "Committed" or model["commit"] else "Saved"
        transaction = m.calculate(model, company, transaction_id=self._next_id(), status=status)
        transaction.update(version=old["version"] + 1, adjustmentReason=reason, adjustmentDescription=description)
        existing["history"].append({**old, "status": "Adjusted"})
        existing["current"], existing["content"] = transaction, _plain(m.content_of(model))
        return self._applied("adjust", transaction)

    def _set_status(self, existing: Document, status: str, kind: str) -> dict[str, Any]:
        existing["current"]["status"] = status
        return self._applied(kind, existing["current"])

    def _applied(self, kind: str, transaction: dict[str, Any]) -> dict[str, Any]:
        self.writes[kind] += 1
        self.save()
        return copy.deepcopy(transaction)


def _key(company: str, doc_type: str, code: str) -> str:
    return f"{company}|{doc_type}|{code}"


def _reason(raw: dict[str, Any], *, required: bool = False) -> tuple[str, str | None]:
    reason = raw.get("adjustmentReason")
    if reason is None and not required:
        reason = "Other"
    if reason not in ADJUSTMENT_REASONS:
        message = f"Field 'adjustmentReason' must be one of {', '.join(ADJUSTMENT_REASONS)}."
        raise AvaError(400, "InvalidParameterValue", message, refers_to="adjustmentReason")
    description = raw.get("adjustmentDescription")
    if description is not None and not isinstance(description, str):
        raise AvaError(
            400,
            "InvalidParameterValue",
            "Field 'adjustmentDescription' must be a string.",
            refers_to="adjustmentDescription",
        )
    if reason == "Other" and not description and required:
        raise AvaError(
            400,
            "ValueRequiredError",
            "Field 'adjustmentDescription' is required when the reason is Other.",
            refers_to="adjustmentDescription",
        )
    return str(reason), description


def _refuse_cancelled(existing: Document, verb: str) -> None:
    current = existing["current"]
    if current["status"] == "Cancelled":
        message = f"Document '{current['code']}' has status 'Cancelled' and cannot be {verb}."
        raise AvaError(400, "InvalidDocumentStatus", message, refers_to="status")


def _plain(value: Any) -> Any:
    """JSON-ready copy (Decimals as strings), so stored content compares equal after a restart."""
    return msgspec.json.decode(msgspec.json.encode(value))


_MONEY_KEYS = frozenset({
    "totalAmount", "totalExempt", "totalDiscount", "totalTax", "totalTaxable", "totalTaxCalculated", "exchangeRate",
    "quantity", "lineAmount", "taxableAmount", "exemptAmount", "tax", "taxCalculated", "rate", "nonTaxableAmount",
    "taxable", "nonTaxable", "exemption",
})  # fmt: skip


def _decimals(value: Any, key: str = "") -> Any:
    """State file → documents with their amounts as Decimal again."""
    if isinstance(value, dict):
        return {k: _decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(item, key) for item in value]
    if key in _MONEY_KEYS and isinstance(value, str | int | float) and not isinstance(value, bool):
        return Decimal(value)
    return value
