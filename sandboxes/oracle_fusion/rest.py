"""Oracle's REST dialect in the sandbox: error bodies, ``q`` filters, finders, paging, links.

* Errors are ``{"title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}`` with
  ``Content-Type: application/vnd.oracle.adf.error+json`` (REST framework version 4 and later).
* ``q``: ``Attr=value;Attr2>value`` (the simple form) or row-match expressions joined by ``and``
  (``OrganizationName LIKE 'Acme%' and CurrencyCode = 'EUR'``); operators ``= != <> > >= < <=
  LIKE`` (``%`` or ``*`` as wildcard). An unknown attribute is a 400.
* ``finder=<Name>;Var=value,Var2=value``: the resource's finders (equality on their variables).
* ``limit`` (default 25, at most 500), ``offset``, ``totalResults=true``, ``orderBy=Attr:asc``,
  ``fields=A,B``, ``expand=<child>|all``, ``onlyData=true`` (no ``links``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from sandboxes.oracle_fusion.resources import Resource

ERROR_TYPE = "application/vnd.oracle.adf.error+json"
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
COLLECTION_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
Record = dict[str, Any]
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class OracleError(Exception):
    """An error answered in Oracle's format."""

    def __init__(self, status: int, detail: str, code: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code, self.headers = status, detail, code, headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        detail: dict[str, Any] = {"detail": self.detail}
        if self.code:
            detail["o:errorCode"] = self.code
        return {
            "type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
            "title": _TITLES.get(self.status, "Error"),
            "status": str(self.status),
            "o:errorDetails": [detail],
        }

    def encode(self) -> bytes:
        """The body as bytes."""
        return msgspec.json.encode(self.body())


def bad(detail: str, code: str = "") -> OracleError:
    """A 400 in Oracle's format."""
    return OracleError(400, detail, code)


# -- values -------------------------------------------------------------------------------------
def check_value(resource: Resource, name: str, value: Any) -> Any:
    """``value`` of attribute ``name`` as stored, or a 400 naming it."""
    kind = resource.fields.get(name)
    if kind is None:
        raise bad(f'The attribute "{name}" is not valid for the resource "{resource.name}".', "ADF_REST_ATTR_INVALID")
    if value is None:
        return None
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad(f'The value of the attribute "{name}" is not valid: {value!r}.', "ADF_REST_VALUE_INVALID")
        return value
    wrong = bad(f'The value of the attribute "{name}" is not valid: {value!r}.', "ADF_REST_VALUE_INVALID")
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong
        return value
    if kind == "num":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise wrong
        return value
    if kind == "dec":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise wrong
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise wrong from None
        if not number.is_finite():
            raise wrong
        return str(number)
    if not isinstance(value, str):
        raise wrong
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise wrong from None
        if len(value) != 10:
            raise wrong
    if kind == "datetime":
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise wrong from None
        if "T" not in value:
            raise wrong
    if kind == "flag" and value not in ("Y", "N"):
        raise wrong
    return value


def decimal(value: Any) -> Decimal:
    """A stored number or decimal string as a Decimal (None is 0)."""
    return Decimal(str(value)) if value is not None else Decimal(0)


# -- q and finders --------------------------------------------------------------------------------
_TERM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(!=|<>|>=|<=|=|>|<|\s[Ll][Ii][Kk][Ee]\s)\s*(.*?)\s*$")


def _split(text: str) -> list[str]:
    """``text`` split on ``;`` and `` and `` outside quotes."""
    parts, current, quote, index = [], "", "", 0
    while index < len(text):
        char = text[index]
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote, current = char, current + char
        elif char == ";":
            parts.append(current)
            current = ""
        elif text[index : index + 5].lower() == " and ":
            parts.append(current)
            current, index = "", index + 5
            continue
        else:
            current += char
        index += 1
    parts.append(current)
    return [p for p in parts if p.strip()]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace(value[0] * 2, value[0])
    return value


Condition = tuple[str, str, str]


def parse_q(resource: Resource, q: str) -> list[Condition]:
    """The conditions of a ``q`` parameter."""
    conditions = []
    for term in _split(q):
        match = _TERM.match(term)
        if match is None:
            raise bad(f"The query parameter q is not valid: {term.strip()!r}.", "ADF_REST_QUERY_INVALID")
        name, operator, value = match.group(1), match.group(2).strip().upper(), _unquote(match.group(3))
        if name not in resource.fields:
            raise bad(
                f'The attribute "{name}" in the query parameter q is not valid for "{resource.name}".',
                "ADF_REST_ATTR_INVALID",
            )
        conditions.append((name, operator, value))
    return conditions


def parse_finder(resource: Resource, finder: str) -> list[Condition]:
    """The equality conditions of a ``finder`` parameter."""
    name, _, variables = finder.partition(";")
    allowed = resource.finders.get(name)
    if allowed is None:
        raise bad(f'The finder "{name}" is not defined for the resource "{resource.name}".', "ADF_REST_FINDER_INVALID")
    conditions = []
    for pair in filter(None, variables.split(",")):
        variable, equals, value = pair.partition("=")
        if not equals or variable not in allowed:
            raise bad(
                f'The finder variable "{variable}" is not valid for the finder "{name}".', "ADF_REST_FINDER_INVALID"
            )
        conditions.append((variable, "=", _unquote(value)))
    return conditions


def matches(resource: Resource, record: Record, conditions: list[Condition]) -> bool:
    """Whether ``record`` meets every condition."""
    for name, operator, text in conditions:
        value = record.get(name)
        if operator == "LIKE":
            pattern = text.replace("%", "*")
            if value is None or not fnmatch.fnmatchcase(str(value).upper(), pattern.upper()):
                return False
            continue
        if value is None:
            if not (operator in ("!=", "<>") and text.lower() != "null"):
                return False
            continue
        left: Any
        right: Any
        if resource.fields[name] in ("int", "num", "dec"):
            try:
                left, right = Decimal(str(value)), Decimal(text)
            except InvalidOperation:
                return False
        else:
            left, right = str(value), text
        result = {
            "=": left == right,
            "!=": left != right,
            "<>": left != right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[operator]
        if not result:
            return False
    return True


# -- rendering -------------------------------------------------------------------------------------
def item_href(base: str, resource: Resource, record: Record) -> str:
    """The URL of one item."""
    return f"{base}/{resource.name}/{record[resource.key_field]}"


def render(
    base: str, resource: Resource, record: Record, *, links: bool, expand: set[str], fields: list[str] | None = None
) -> Record:
    """An item as Oracle renders it: its attributes, expanded children as arrays, ``links``."""
    href = item_href(base, resource, record)
    out: Record = {}
    for name in resource.fields:
        if fields is None or name in fields:
            out[name] = record.get(name)
    for child_name, child in resource.children.items():
        if child_name in expand or "all" in expand:
            out[child_name] = [
                render(f"{href}/child", child, line, links=links, expand=set()) for line in record.get(child_name, [])
            ]
    if links:
        version = str(record.get("_version", 1))
        out["links"] = [
            {
                "rel": "self",
                "href": href,
                "name": resource.name,
                "kind": "item",
                "properties": {"changeIndicator": version},
            },
            {"rel": "canonical", "href": href, "name": resource.name, "kind": "item"},
            *(
                {"rel": "child", "href": f"{href}/child/{name}", "name": name, "kind": "collection"}
                for name in resource.children
            ),
        ]
    return out


def collection(
    base: str,
    resource: Resource,
    records: list[Record],
    params: dict[str, str],
    *,
    href: str,
) -> Record:
    """One page of a collection: ``items``, ``count``, ``hasMore``, ``limit``, ``offset``, ``links``."""
    limit_text, offset_text = params.get("limit", str(DEFAULT_LIMIT)), params.get("offset", "0")
    if not limit_text.isdigit() or not offset_text.isdigit() or int(limit_text) < 1:
        raise bad("The query parameters limit and offset must be non-negative integers.", "ADF_REST_QUERY_INVALID")
    limit, offset = min(int(limit_text), MAX_LIMIT), int(offset_text)
    for spec in filter(None, params.get("orderBy", "").split(",")):
        name, _, direction = spec.partition(":")
        if name not in resource.fields or direction.lower() not in ("", "asc", "desc"):
            raise bad(f"The orderBy parameter is not valid: {spec!r}.", "ADF_REST_QUERY_INVALID")
    for spec in reversed(list(filter(None, params.get("orderBy", "").split(",")))):
        name, _, direction = spec.partition(":")
        records = sorted(records, key=lambda r: _sort_key(resource, r, name), reverse=direction.lower() == "desc")
    fields = params["fields"].split(",") if params.get("fields") else None
    for name in fields or []:
        if name not in resource.fields:
            raise bad(f'The attribute "{name}" in the query parameter fields is not valid.', "ADF_REST_ATTR_INVALID")
    expand = set(filter(None, params.get("expand", "").split(",")))
    for name in expand - {"all"}:
        if name not in resource.children:
            raise bad(f'The child "{name}" in the query parameter expand is not valid.', "ADF_REST_CHILD_INVALID")
    links = params.get("onlyData", "false").lower() != "true"
    page = records[offset : offset + limit]
    body: Record = {
        "items": [render(base, resource, r, links=links, expand=expand, fields=fields) for r in page],
    }
    if params.get("totalResults", "false").lower() == "true":
        body["totalResults"] = len(records)
    body.update({"count": len(page), "hasMore": offset + len(page) < len(records), "limit": limit, "offset": offset})
    if links:
        body["links"] = [{"rel": "self", "href": href, "name": resource.name, "kind": "collection"}]
    return body


def _sort_key(resource: Resource, record: Record, name: str) -> tuple[int, Any]:
    value = record.get(name)
    if value is None:
        return (1, 0)
    return (0, decimal(value) if resource.fields[name] in ("int", "num", "dec") else str(value))
