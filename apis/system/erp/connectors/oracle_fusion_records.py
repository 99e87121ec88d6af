"""What every Oracle Fusion document operation shares: customer and unit look-ups, item reads, line bodies,
and the check-before-create procedure.

Every create is a check-before-create procedure keyed by the document's business key (see
:mod:`.oracle_fusion`), run whole again after a retryable failure of one of its writes. ``sent``
remembers that a write of this call went out, so a document found by a later attempt is reported
as created by this call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apis.canonical import DocumentLineInput, service_period
from apis.system.erp.connectors import oracle_fusion_mapping as of
from core.errors import Conflict, InvalidInput, NotFound, UpstreamRejected

if TYPE_CHECKING:
    from apis.system.erp.connectors.oracle_fusion_http import OracleFusionHttp
    from apis.system.erp.connectors.oracle_fusion_setup import Setup, Unit
    from apis.system.erp.settings import OracleFusionSettings

INVOICE_LINES = "receivablesInvoiceLines"
INVOICE_DISTRIBUTIONS = "receivablesInvoiceDistributions"
REVENUE_SCHEDULING_RULE = "Daily Revenue Rate, Partial Periods"
"""Oracle's revenue scheduling rule that spreads a line by days over its rule dates, partial months pro rata."""
INVOICING_RULE = "In Advance Invoice"
"""The invoicing rule a line with a revenue scheduling rule needs (receivable booked at once)."""
MEMO_LINES = "receivablesCreditMemoLines"


def field_error(pointer: str, detail: str) -> InvalidInput:
    """A 422 naming one field of the request body."""
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


class Records:
    """Reads and the create procedure of one pod, for the document operations built on them."""

    def __init__(self, http: OracleFusionHttp, settings: OracleFusionSettings, setup: Setup) -> None:
        self.http, self.settings, self.setup = http, settings, setup
        self._parties: dict[str, str] = {}
        """PartyNumber → PartyId, as read."""
        self._orders: dict[str, str] = {}
        """OrderNumber → HeaderId, as read."""

    async def party(self, customer_id: str) -> dict[str, Any]:
        """The ``accounts`` item of a customer id (``PartyId``)."""
        found = await self.http.items(
            f"{self.http.crm}/accounts", {"q": f"PartyId={of.number_id(customer_id)}"}, limit=1
        )
        if not found:
            raise NotFound(f"No customer {customer_id}")
        self._parties[str(found[0].get("PartyNumber"))] = str(found[0]["PartyId"])
        return found[0]

    async def _party_id(self, party_number: str) -> str:
        if party_number not in self._parties:
            q = {"q": f"PartyNumber={of.q_text(party_number)}", "fields": "PartyId,PartyNumber"}
            found = await self.http.items(f"{self.http.crm}/accounts", q, limit=1)
            if not found:
                return ""
            self._parties[party_number] = str(found[0]["PartyId"])
        return self._parties[party_number]

    async def _customer_unit(self, customer_id: str) -> tuple[dict[str, Any], Unit]:
        party = await self.party(customer_id)
        entity = await self.setup.entity_for_currency(party.get("CurrencyCode"))
        return party, await self.setup.unit_for_entity(entity)

    async def _one(self, resource: str, id_value: str, expand: str | None = None) -> dict[str, Any]:
        params = {"onlyData": "true", **({"expand": expand} if expand else {})}
        record = await self.http.call(
            "GET", f"{self.http.fscm}/{resource}/{of.number_id(id_value)}", params=params, idempotent=True
        )
        if not isinstance(record, dict):
            raise NotFound(f"No {resource} item {id_value}")
        return record

    async def _find(self, resource: str, q: str, expand: str | None = None) -> dict[str, Any] | None:
        params = {"q": q, **({"expand": expand} if expand else {})}
        found = await self.http.items(f"{self.http.fscm}/{resource}", params, limit=2)
        return found[0] if found else None

    async def _lines(self, lines: Sequence[DocumentLineInput], *, sign: int = 1) -> list[dict[str, Any]]:
        bodies = []
        for number, line in enumerate(lines, start=1):
            body: dict[str, Any] = {
                "LineNumber": number,
                "ItemNumber": await self.setup.item_number(line.item_id),
                "Quantity": float(Decimal(line.quantity)) * sign,
                "UnitSellingPrice": float(Decimal(line.unit_price)),
            }
            if line.description:
                body["Description"] = line.description[:240]
            period = service_period(line)
            if period is not None:  # Oracle's revenue scheduling recognises the line over its rule dates
                body["AccountingRule"] = REVENUE_SCHEDULING_RULE
                body["RuleStartDate"], body["RuleEndDate"] = period[0].isoformat(), period[1].isoformat()
            bodies.append(body)
        return bodies

    async def _create_once(
        self, resource: str, q: str, body: dict[str, Any], expand: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Check-before-create by ``q``; a duplicate refused by Oracle is read back."""
        sent: list[bool] = []

        async def procedure() -> tuple[dict[str, Any], bool]:
            existing = await self._find(resource, q, expand)
            if existing is not None:
                return existing, bool(sent)
            sent.append(True)
            # A Conflict: made meanwhile (by a concurrent call, or by ours whose answer was lost).
            with contextlib.suppress(Conflict):
                await self.http.call("POST", f"{self.http.fscm}/{resource}", json=body, idempotent=False)
            found = await self._find(resource, q, expand)
            if found is None:
                raise UpstreamRejected(f"Oracle Fusion created no {resource} item for {q}")
            return found, True

        result: tuple[dict[str, Any], bool] = await self.http.retried(procedure, writes=1)
        return result
