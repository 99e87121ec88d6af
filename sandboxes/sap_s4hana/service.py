"""One OData V2 request against the store: resource path, query options, reads, writes, functions.

Paths under ``/sap/opu/odata/sap/<SERVICE>/``: the service document, ``$metadata`` (the EDMX bytes),
``<Set>``, ``<Set>(<key>)``, ``<Set>(<key>)/<navigation>``, ``<Set>/$count`` and function imports
(``Cancel?BillingDocument='…'``). Query options ``$filter``, ``$select``, ``$expand`` (``a/b`` paths),
``$top``, ``$skip``, ``$skiptoken``, ``$inlinecount=allpages``, ``$orderby`` (key order only).
Answers: ``{"d": {"results": [...], "__count"?, "__next"?}}`` and ``{"d": {...}}`` with ``__metadata``
(``id``, ``uri``, ``type``, ``etag``); POST → 201 with the entity, ``Location`` and ``ETag``;
PUT/PATCH/MERGE and DELETE → 204, needing ``If-Match`` (none → 428, another → 412).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from sandboxes.sap_s4hana import rules
from sandboxes.sap_s4hana.edmx import EntitySet
from sandboxes.sap_s4hana.odata import (
    Record,
    SapError,
    bad_request,
    key_text,
    not_found,
    parse_filter,
    parse_key,
    render_value,
)
from sandboxes.sap_s4hana.store import Store, etag, services

JSON = "application/json"
_SEGMENT = re.compile(r"^([A-Za-z_]\w*)(?:\((.*)\))?$")


@dataclass(frozen=True)
class ODataRequest:
    """What the service needs of an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    base: str
    """``…/sap/opu/odata/sap`` as the client reached it."""


Answer = tuple[int, bytes, str, dict[str, str]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, msgspec.json.encode(body), JSON, {"dataserviceversion": "2.0", **(headers or {})}


def handle(store: Store, call: ODataRequest, page_size: int) -> Answer:
    """The answer to ``call`` (SAP's error format for every refusal)."""
    try:
        return _handle(store, call, page_size)
    except SapError as error:
        return error.status, error.encode(), JSON, error.headers


def _handle(store: Store, call: ODataRequest, page_size: int) -> Answer:
    name, _, rest = call.path.partition("/")
    service = services().get(name.split(";")[0])
    if service is None:
        raise SapError(404, "/IWFND/MED/170", f"No service found for namespace '/SAP/', name '{name}', version '0001'")
    root = f"{call.base}/{service.name}"
    if rest in ("", "/"):
        return _json(200, {"d": {"EntitySets": sorted(service.sets)}})
    if rest == "$metadata":
        return 200, service.metadata, "application/xml", {"dataserviceversion": "2.0"}
    segments = rest.split("/")
    match = _SEGMENT.match(segments[0])
    if match is None:
        raise not_found(segments[0])
    set_name, key_part = match.group(1), match.group(2)
    if set_name in service.functions and key_part is None:
        return _function(store, service.name, set_name, call)
    entity = service.sets.get(set_name)
    if entity is None:
        raise not_found(set_name)
    if key_part is None:
        if len(segments) == 2 and segments[1] == "$count":
            return 200, str(len(_filtered(store, entity, call.query))).encode(), "text/plain", {}
        if call.method == "GET":
            return _collection(store, entity, store.all(entity.name), call, root, page_size)
        if call.method == "POST":
            return _create(store, entity, call, root)
        raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Method {call.method} not allowed on '{set_name}'")
    key = parse_key(entity, key_part)
    if len(segments) == 2:
        if call.method != "GET":
            raise SapError(405, "/IWBEP/CM_MGW_RT/101", "Deep writes through navigation are not supported")
        record = store.get(entity.name, key)
        nav = entity.navs.get(segments[1])
        if nav is None:
            raise not_found(segments[1])
        target = store.sets[nav.target]
        children = store.children(entity, record, nav.name)
        if nav.many:
            return _collection(store, target, children, call, root, page_size)
        return _json(200, {"d": _render(store, target, children[0], root, call.query) if children else None})
    if call.method == "GET":
        return _json(200, {"d": _render(store, entity, store.get(entity.name, key), root, call.query)},
                     {"etag": etag(store.get(entity.name, key))})  # fmt: skip
    if call.method in ("PUT", "PATCH", "MERGE"):
        return _update(store, entity, key, call)
    if call.method == "DELETE":
        if not entity.deletable:
            raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Entity set '{entity.name}' is not deletable")
        with store.lock:
            record = store.get(entity.name, key)
            _check_etag(record, call.headers)
            del store.table(entity.name)[key_text(entity, record)]
            store.count_write(entity.name)
            store.save()
        return 204, b"", JSON, {}
    raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Method {call.method} not allowed")


def _filtered(
    store: Store, entity: EntitySet, query: dict[str, str], records: list[Record] | None = None
) -> list[Record]:
    rows = store.all(entity.name) if records is None else records
    if query.get("$filter"):
        predicate = parse_filter(entity, query["$filter"])
        rows = [r for r in rows if predicate(r)]
    return rows


def _int(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise bad_request(f"Invalid system query option {name}={value}", "/IWBEP/CM_MGW_RT/022")
    return int(value)


def _collection(store: Store, entity: EntitySet, records: list[Record], call: ODataRequest, root: str,
                page_size: int) -> Answer:  # fmt: skip
    with store.lock:
        rows = _filtered(store, entity, call.query, records)
        skip = (_int(call.query, "$skip") or 0) + (_int(call.query, "$skiptoken") or 0)
        top = _int(call.query, "$top")
        window = rows[skip:]
        if top is not None:
            window = window[:top]
        more = len(window) > page_size
        window = window[:page_size]
        body: dict[str, Any] = {"results": [_render(store, entity, r, root, call.query) for r in window]}
    if call.query.get("$inlinecount") == "allpages":
        body["__count"] = str(len(rows))
    if more:
        query = {k: v for k, v in call.query.items() if k not in ("$skiptoken",)}
        query["$skiptoken"] = str((_int(call.query, "$skiptoken") or 0) + page_size)
        body["__next"] = f"{root}/{entity.name}?{urlencode(query, quote_via=quote)}"
    return _json(200, {"d": body})


def _expand_tree(query: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in filter(None, (p.strip() for p in query.get("$expand", "").split(","))):
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})
    return tree


def _render(store: Store, entity: EntitySet, record: Record, root: str, query: dict[str, str],
            tree: dict[str, Any] | None = None) -> Record:  # fmt: skip
    tree = _expand_tree(query) if tree is None else tree
    select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()] if query else []
    for name in select:
        if name.split("/")[0] not in entity.props and name.split("/")[0] not in entity.navs and name != "*":
            raise bad_request(f"Property {name} not found in type '{entity.type_name}'", "/IWBEP/CM_MGW_RT/020")
    for name in tree:
        if name not in entity.navs:
            raise bad_request(f"Navigation property {name} not found in type '{entity.type_name}'",
                              "/IWBEP/CM_MGW_RT/020")  # fmt: skip
    uri = f"{root}/{entity.name}({quote(key_text(entity, record), safe=chr(39) + '=,')})"
    namespace = services()[entity.service].namespace
    out: Record = {"__metadata": {"id": uri, "uri": uri, "type": f"{namespace}.{entity.type_name}",
                                  "etag": etag(record)}}  # fmt: skip
    props = [p for p in entity.props if not select or p in select or "*" in select or p in entity.keys]
    for name in props:
        out[name] = render_value(entity.props[name], record.get(name, _default(entity, name)))
    for nav in entity.navs.values():
        if nav.name in tree:
            target = store.sets[nav.target]
            children = store.children(entity, record, nav.name)
            rendered = [_render(store, target, c, root, {}, tree[nav.name]) for c in children]
            out[nav.name] = {"results": rendered} if nav.many else (rendered[0] if rendered else None)
        elif not select:
            out[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
    return out


def _default(entity: EntitySet, name: str) -> Any:
    kind = entity.props[name].type
    return "" if kind == "Edm.String" else False if kind == "Edm.Boolean" else "0" if kind == "Edm.Decimal" else None


def _body(call: ODataRequest) -> Record:
    try:
        body = msgspec.json.decode(call.body) if call.body else {}
    except msgspec.DecodeError:
        raise bad_request("The request body is not valid JSON", "/IWBEP/CM_MGW_RT/003") from None
    if isinstance(body, dict) and isinstance(body.get("d"), dict):
        body = body["d"]
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "/IWBEP/CM_MGW_RT/003")
    return body


def _create(store: Store, entity: EntitySet, call: ODataRequest, root: str) -> Answer:
    body = _body(call)
    with store.lock:
        tables = {name: dict(table) for name, table in store.tables.items()}
        ranges, writes = dict(store.ranges), dict(store.writes)
        try:
            record = rules.create(store, entity, body)
        except SapError:
            store.tables, store.ranges, store.writes = tables, ranges, writes  # a refused write changes nothing
            raise
        store.save()
        expand = ",".join(n for n, v in body.items() if n in entity.navs and v)
        rendered = _render(store, entity, record, root, {"$expand": expand} if expand else {})
    location = rendered["__metadata"]["uri"]
    return _json(201, {"d": rendered}, {"location": location, "etag": etag(record)})


def _check_etag(record: Record, headers: dict[str, str]) -> None:
    sent = headers.get("if-match", "").strip()
    if not sent:
        raise SapError(428, "/IWBEP/CM_MGW_RT/025", "Precondition required: send If-Match with the entity's ETag")
    if sent != "*" and sent != etag(record):
        raise SapError(
            412, "/IWBEP/CM_MGW_RT/026", "Precondition failed: the entity has been changed since it was read"
        )


def _update(store: Store, entity: EntitySet, key: dict[str, str], call: ODataRequest) -> Answer:
    if not entity.updatable:
        raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Entity set '{entity.name}' is not updatable")
    body = _body(call)
    with store.lock:
        record = store.get(entity.name, key)
        _check_etag(record, call.headers)
        values, _ = store.clean(entity, body, creating=False)
        if entity.name == "A_SalesOrderItem" and "SalesDocumentRjcnReason" in values:
            rules.reject_item(store, record, values["SalesDocumentRjcnReason"])
        record.update(values)
        store.touch(entity, record)
        if entity.name == "A_SalesOrderItem":
            rules.rejection_status(store, str(record["SalesOrder"]))
        if entity.name == "A_SalesOrder" and not record.get("HeaderBillingBlockReason"):
            rules.bill(store, entity.name, record)  # the billing block is gone: the billing run bills it
        store.save()
    return 204, b"", JSON, {"etag": etag(record)}


def _function(store: Store, service: str, name: str, call: ODataRequest) -> Answer:
    function = services()[service].functions[name]
    if call.method != function.method:
        raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Function import {name} needs HTTP {function.method}")
    values = {}
    for param in function.params:
        raw = call.query.get(param, "")
        if not (raw.startswith("'") and raw.endswith("'")):
            raise bad_request(f"Parameter {param} of function import {name} is missing", "/IWBEP/CM_MGW_RT/023")
        values[param] = raw[1:-1]
    if name != "Cancel":
        raise SapError(501, "/IWBEP/CM_MGW_RT/021", f"Function import {name} is not implemented in the sandbox")
    with store.lock:
        cancellation = rules.cancel(store, values["BillingDocument"])
        store.count_write("A_BillingDocument/Cancel")
        store.save()
    result = {"__metadata": {"type": f"{service}.CancelResult"}, "BillingDocument": cancellation["BillingDocument"]}
    return _json(200, {"d": {"results": [result]}})
