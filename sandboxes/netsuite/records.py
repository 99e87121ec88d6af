"""NetSuite's JSON shapes: a record with links and references, a sublist, a page of a collection."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sandboxes.netsuite.schema import NsError, RecordType
from sandboxes.netsuite.store import Record, Store

DEFAULT_PAGE = 1000
"""NetSuite's default (and largest) page of a collection or a SuiteQL query."""
SUITEQL_RESULT_CAP = 100_000
"""SuiteQL returns at most this many rows of one query (Oracle's documented maximum)."""


def record_href(base: str, record_type: str, record_id: str) -> str:
    """``<base>/record/v1/<type>/<id>``; ``base`` ends in ``/services/rest``."""
    return f"{base}/record/v1/{record_type}/{record_id}"


def _self(href: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": href}]


def render(store: Store, record_type: RecordType, record: Record, base: str, *, expand: bool) -> dict[str, Any]:
    """A record as NetSuite writes it: ``links`` first, empty fields left out, references as objects."""
    href = record_href(base, record_type.name, record["id"])
    out: dict[str, Any] = {"links": _self(href)}
    for name, kind in record_type.all_fields().items():
        value = record.get(name)
        if value is None or value == "":
            continue
        out[name] = _reference(store, kind[4:], value, base) if kind.startswith("ref:") else value
    for name, line_fields in record_type.sublists.items():
        sublist: dict[str, Any] = {"links": _self(f"{href}/{name}")}
        if expand:
            lines = []
            for number, line in enumerate(record.get(name) or []):
                rendered: dict[str, Any] = {"links": _self(f"{href}/{name}/{number}")}
                for key, kind in line_fields.items():
                    if line.get(key) is not None:
                        value = line[key]
                        rendered[key] = _reference(store, kind[4:], value, base) if kind.startswith("ref:") else value
                lines.append(rendered)
            count = len(lines)
            sublist.update(count=count, hasMore=False, items=lines, offset=0, totalResults=count)
        out[name] = sublist
    return out


def _reference(store: Store, target: str, ref_id: str, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {"links": _self(record_href(base, target, ref_id)), "id": ref_id}
    name = store.ref_name(target, ref_id)
    if name is not None:
        out["refName"] = name
    return out


def paging(raw_limit: str | None, raw_offset: str | None) -> tuple[int, int]:
    """``limit`` (1..1000, default 1000) and ``offset`` (≥ 0, a multiple of ``limit``) from the query string.

    NetSuite pages in whole pages: an offset that is not a multiple of the limit is refused
    (the code and text of that refusal are ours; the rule is the vendor's).
    """
    try:
        limit = DEFAULT_PAGE if raw_limit in (None, "") else int(raw_limit)
        offset = 0 if raw_offset in (None, "") else int(raw_offset)
    except ValueError:
        raise NsError(400, "INVALID_PARAMETER", "The limit and offset parameters must be integers.") from None
    if not 1 <= limit <= DEFAULT_PAGE:
        raise NsError(400, "INVALID_PARAMETER", f"Invalid value for limit: {limit}. Use 1 to {DEFAULT_PAGE}.")
    if offset < 0:
        raise NsError(400, "INVALID_PARAMETER", f"Invalid value for offset: {offset}.")
    if offset % limit:
        raise NsError(
            400, "INVALID_PARAMETER", f"Invalid value for offset: {offset}. The offset must be a multiple of the limit."
        )
    return limit, offset


def page(items: list[dict[str, Any]], url: str, limit: int, offset: int) -> dict[str, Any]:
    """``{links, count, hasMore, items, offset, totalResults}`` with self/first/prev/next/last links."""
    total = len(items)
    chunk = items[offset : offset + limit]

    def link(rel: str, at: int) -> dict[str, str]:
        return {"rel": rel, "href": f"{url}?{urlencode({'limit': limit, 'offset': at})}"}

    last = max(0, (total - 1) // limit * limit)
    links = [link("self", offset)]
    if total:
        links.append(link("first", 0))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    if offset + limit < total:
        links.append(link("next", offset + limit))
    if total:
        links.append(link("last", last))
    return {
        "links": links,
        "count": len(chunk),
        "hasMore": offset + limit < total,
        "items": chunk,
        "offset": offset,
        "totalResults": total,
    }
