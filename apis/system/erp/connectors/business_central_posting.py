"""Check-before-create procedures that post: sales documents and journal batches.

Each runs as a whole under :meth:`BusinessCentralHttp.retried`: look for the business key, insert
what is missing (a deep insert: the document or batch with its lines at once), post it with
``Microsoft.NAV.post``, read the result back. A retry after a lost answer finds what the lost call
made instead of making it again; a posting refused for a closed period deletes the unposted
draft or batch and raises :class:`~core.errors.PeriodClosed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apis.system.erp.connectors import business_central_mapping as bc
from apis.system.erp.connectors.business_central_http import NOTHING_TO_POST
from apis.system.erp.connectors.business_central_paging import values as records_of
from core.errors import PeriodClosed, UpstreamRejected

if TYPE_CHECKING:
    from apis.system.erp.connectors.business_central_http import BusinessCentralHttp


async def by_key(http: BusinessCentralHttp, path: str, key: str, extra: dict[str, str]) -> dict[str, Any] | None:
    """The document of ``path`` carrying ``externalDocumentNumber`` ``key``, if there is one."""
    params = {"$filter": f"externalDocumentNumber eq {bc.odata_text(key)}", **extra}
    found = records_of(await http.call("GET", path, params=params, idempotent=True))
    return next((r for r in found if bc.same_code(r.get("externalDocumentNumber"), key)), None)


async def post_document(
    http: BusinessCentralHttp, company: str, entity_set: str, lines: str, body: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Check-before-create by ``externalDocumentNumber``, insert the draft, post it, read it back."""
    path = f"/companies({company})/{entity_set}"
    expand = {"$expand": lines}

    sent: list[bool] = []  # an insert of ours went out: a document found later is the one it made

    async def procedure() -> tuple[dict[str, Any], bool]:
        record = await by_key(http, path, body["externalDocumentNumber"], expand)
        if record is not None and record.get("status") != "Draft":
            return record, bool(sent)
        if record is None:
            sent.append(True)
            record = dict(await http.call("POST", path, params=expand, json=body, idempotent=False))
        document = f"{path}({bc.required(record, 'id')})"
        try:
            await http.call("POST", f"{document}/Microsoft.NAV.post", idempotent=False)
        except PeriodClosed:
            # Leave no unposted draft behind: a later call with the same key starts afresh.
            await http.call("DELETE", document, headers={"If-Match": "*"}, idempotent=False)
            raise
        return dict(await http.call("GET", document, params=expand, idempotent=True)), bool(sent)

    result: tuple[dict[str, Any], bool] = await http.retried(procedure, writes=2)
    return result


async def post_journal(
    http: BusinessCentralHttp,
    company: str,
    entity_set: str,
    lines: str,
    body: dict[str, Any],
    posted_query: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Find or deep-insert the batch named ``body["code"]``, then post it (nothing left to post = done)."""
    path = f"/companies({company})/{entity_set}"
    expand = {"$expand": lines}
    query = {"$filter": f"code eq {bc.odata_text(body['code'])}", **expand}

    sent: list[bool] = []  # an insert of ours went out: a batch found later is the one it made

    async def procedure() -> tuple[dict[str, Any], bool]:
        if posted_query is not None:
            ledger = f"/companies({company})/generalLedgerEntries"
            if records_of(await http.call("GET", ledger, params=posted_query, idempotent=True)):
                return {}, bool(sent)
        found = records_of(await http.call("GET", path, params=query, idempotent=True))
        if not found:
            sent.append(True)
        record = found[0] if found else dict(await http.call("POST", path, params=expand, json=body, idempotent=False))
        batch = f"{path}({bc.required(record, 'id')})"
        try:
            await http.call("POST", f"{batch}/Microsoft.NAV.post", idempotent=False)
        except PeriodClosed:
            await http.call("DELETE", batch, headers={"If-Match": "*"}, idempotent=False)
            raise
        except UpstreamRejected as error:
            if NOTHING_TO_POST not in error.detail.lower():
                raise
        return dict(await http.call("GET", batch, params=expand, idempotent=True)), bool(sent)

    result: tuple[dict[str, Any], bool] = await http.retried(procedure, writes=2)
    return result
