"""OData collections of Business Central: ``value`` arrays, ``@odata.nextLink`` paging, our positions.

A list of ours may span several companies (customers, invoices): it is read company after company,
in company-id order, so the items come in canonical-id order. A page's position is a
:class:`BcPosition`: the list's tag, the company being read and BC's nextLink within it. The HTTP
boundary signs it into the API's cursor (:mod:`core.cursors`), bound to the route and its filters;
the tag (a digest of the list, its OData filter and its companies) still refuses, with
:class:`~core.cursors.InvalidCursor`, a position handed to another list or outliving a change of the
companies, and a nextLink that leaves the collection it was issued for is never followed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from apis.canonical import Page
from core.cursors import InvalidCursor, as_position
from core.errors import UpstreamContractViolation

if TYPE_CHECKING:
    from apis.system.erp.connectors.business_central_http import BusinessCentralHttp

T = TypeVar("T")


class BcPosition(msgspec.Struct, frozen=True, array_like=True):
    """Where a Business Central list continues."""

    k: str
    """Which list (filter and companies) the position belongs to."""
    c: int
    """Index of the company being listed."""
    n: str | None
    """BC's ``@odata.nextLink`` within that company, or None to start the company."""


def values(body: Any) -> list[dict[str, Any]]:
    """The ``value`` array of a collection, checked."""
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise UpstreamContractViolation("Business Central collection lacks 'value'")
    return [record for record in body["value"] if isinstance(record, dict)]


class ODataPages:
    """Reads collections through one :class:`BusinessCentralHttp`."""

    def __init__(self, http: BusinessCentralHttp) -> None:
        self._http = http

    async def all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every record of a collection, following ``@odata.nextLink``."""
        body = await self._http.call("GET", path, params=params or None, idempotent=True)
        records = list(values(body))
        while isinstance(body, dict) and isinstance(body.get("@odata.nextLink"), str):
            body = await self._http.call("GET", body["@odata.nextLink"], idempotent=True)
            records.extend(values(body))
        return records

    async def page(
        self,
        kind: str,
        entity_set: str,
        odata_filter: str | None,
        expand: str | None,
        limit: int,
        position: Any,
        companies: list[str],
        mapper: Callable[[str, dict[str, Any]], T],
    ) -> Page[T]:
        """Up to ``limit`` records, company after company, from ``position`` (``None``: the start)."""
        tag = f"{kind}:{hashlib.sha256((odata_filter or '').encode()).hexdigest()[:16]}:{','.join(companies)}"
        tag = hashlib.sha256(tag.encode()).hexdigest()[:24]
        index, link = self._open(position, tag, companies, entity_set)
        params = {key: value for key, value in (("$filter", odata_filter), ("$expand", expand)) if value}
        items: list[T] = []
        while len(items) < limit and index < len(companies):
            headers = {"Prefer": f"odata.maxpagesize={limit - len(items)}"}
            path = link or f"/companies({companies[index]})/{entity_set}"
            body = await self._http.call(
                "GET", path, params=None if link else params or None, headers=headers, idempotent=True
            )
            items.extend(mapper(companies[index], record) for record in values(body))
            next_link = body.get("@odata.nextLink") if isinstance(body, dict) else None
            link = next_link if isinstance(next_link, str) else None
            if link is None:
                index += 1
        if link is None:
            index = await self._next_nonempty(companies, index, entity_set, odata_filter)
        if index >= len(companies):
            return Page(items=items, next_position=None)
        return Page(items=items, next_position=BcPosition(k=tag, c=index, n=link))

    async def _next_nonempty(self, companies: list[str], index: int, entity_set: str, odata_filter: str | None) -> int:
        """The first company from ``index`` with a matching record (so a last page says so)."""
        while index < len(companies):
            params = {"$top": "1", "$select": "id", **({"$filter": odata_filter} if odata_filter else {})}
            body = await self._http.call(
                "GET", f"/companies({companies[index]})/{entity_set}", params=params, idempotent=True
            )
            if values(body):
                return index
            index += 1
        return index

    def _open(self, position: Any, tag: str, companies: list[str], entity_set: str) -> tuple[int, str | None]:
        if position is None:
            return 0, None
        opened = as_position(position, BcPosition)
        if opened.k != tag or not 0 <= opened.c < len(companies):
            raise InvalidCursor()
        expected = f"{self._http.api_base}/companies({companies[opened.c]})/{entity_set}?"
        if opened.n is not None and (not opened.n.startswith(expected) or "$skiptoken=" not in opened.n):
            raise InvalidCursor()
        return opened.c, opened.n
