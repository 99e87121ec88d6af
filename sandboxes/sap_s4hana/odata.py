"""SAP's OData V2 dialect: values, key predicates, ``$filter``, entities in ``d`` envelopes, errors.

* ``Edm.DateTime`` travels as ``"/Date(<ms since epoch>)/"`` (``DateTimeOffset`` with ``+0000``),
  ``Edm.Decimal`` as a JSON string, ``Edm.Boolean`` as JSON true/false; the store keeps dates as
  ISO strings and decimals as plain strings.
* Errors are ``{"error": {"code", "message": {"lang", "value"}, "innererror": {"application",
  "transactionid", "timestamp", "errordetails": [{"code", "message", "propertyref", "severity",
  "target"}]}}}`` (the shape of SAP Gateway's error response).
* ``$filter``: ``eq ne gt ge lt le``, ``and or not``, parentheses, ``startswith(p,'x')``,
  ``endswith(p,'x')``, ``substringof('x',p)`` (each alone or compared ``eq true``), string
  literals ``'..'`` (``''`` escapes a quote), numbers, ``datetime'2026-01-01T00:00:00'``, true/false.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from sandboxes.sap_s4hana.edmx import EntitySet, Prop

Record = dict[str, Any]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class SapError(Exception):
    """An error answer in SAP Gateway's format."""

    def __init__(
        self, status: int, code: str, message: str, *, target: str = "", headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target
        self.headers = headers or {}

    def body(self) -> Record:
        """The JSON error body."""
        detail = {"code": self.code, "message": self.message, "propertyref": "", "severity": "error",
                  "target": self.target, "transition": False}  # fmt: skip
        return {
            "error": {
                "code": self.code,
                "message": {"lang": "en", "value": self.message},
                "innererror": {
                    "application": {
                        "component_id": "",
                        "service_namespace": "/SAP/",
                        "service_id": "",
                        "service_version": "0001",
                    },
                    "transactionid": uuid.uuid4().hex.upper(),
                    "timestamp": dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S.%f")[:21],
                    "Error_Resolution": {"SAP_Transaction": "", "SAP_Note": "See SAP Note 1797736 for error analysis"},
                    "errordetails": [detail],
                },
            }
        }

    def encode(self) -> bytes:
        """The body as JSON bytes."""
        return msgspec.json.encode(self.body())


def not_found(entity: str) -> SapError:
    """SAP Gateway's 404 for a key that names no entity."""
    return SapError(404, "/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{entity}'")


def bad_request(message: str, code: str = "/IWBEP/CM_MGW_RT/000", target: str = "") -> SapError:
    """A 400 with SAP Gateway's generic message class."""
    return SapError(400, code, message, target=target)


# -- values ---------------------------------------------------------------------------------------
def date_literal(value: str) -> str:
    """An ISO date (or datetime) as ``/Date(ms)/``."""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"/Date({int((moment - _EPOCH).total_seconds() * 1000)})/"


def render_value(prop: Prop, value: Any) -> Any:
    """A stored value as SAP's JSON carries it."""
    if value is None:
        return None
    if prop.type == "Edm.DateTime":
        return date_literal(str(value))
    if prop.type == "Edm.DateTimeOffset":
        return date_literal(str(value))[:-2] + "+0000)/"
    if prop.type == "Edm.Decimal":
        return format(Decimal(str(value)), "f")
    return value


def parse_value(entity: EntitySet, name: str, value: Any) -> Any:
    """A body value of property ``name`` checked against the EDMX (type, ``MaxLength``), as stored."""
    prop = entity.props[name]
    if value is None:
        return None
    wrong = bad_request(f"Invalid value for property '{name}' of type '{prop.type}'", "/IWBEP/CM_MGW_RT/004", name)
    if prop.type == "Edm.String":
        if not isinstance(value, str):
            raise wrong
        if prop.max_length and len(value) > prop.max_length:
            raise bad_request(
                f"Value '{value}' is too long for property '{name}' (maximum length {prop.max_length})",
                "/IWBEP/CM_MGW_RT/004", name,
            )  # fmt: skip
        return value
    if prop.type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        match = _DATE.match(value) if isinstance(value, str) else None
        if match is None:
            raise wrong
        moment = _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))
        return moment.date().isoformat() if prop.type == "Edm.DateTime" else moment.isoformat()
    if prop.type == "Edm.Decimal":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise wrong
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise wrong from None
        if not number.is_finite():
            raise wrong
        return format(number, "f")
    if prop.type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise wrong
        return value
    return value


# -- keys -----------------------------------------------------------------------------------------
_KEY_PART = re.compile(r"\s*(?:(\w+)\s*=\s*)?('(?:[^']|'')*'|[^,]+)\s*(?:,|$)")


def parse_key(entity: EntitySet, text: str) -> dict[str, str]:
    """``'1'`` or ``Customer='1',CompanyCode='1010'`` as {key property: value}; 400 when malformed."""
    parts = [m for m in _KEY_PART.finditer(text) if m.group(0).strip()]
    values: dict[str, str] = {}
    for index, match in enumerate(parts):
        name = match.group(1) or (entity.keys[index] if index < len(entity.keys) else "")
        raw = match.group(2).strip()
        if name not in entity.keys or not (raw.startswith("'") and raw.endswith("'")):
            raise bad_request(f"Invalid key predicate '{text}' for entity set '{entity.name}'", "/IWBEP/CM_MGW_RT/021")
        values[name] = raw[1:-1].replace("''", "'")
    if set(values) != set(entity.keys):
        raise bad_request(f"Invalid key predicate '{text}' for entity set '{entity.name}'", "/IWBEP/CM_MGW_RT/021")
    return values


def key_text(entity: EntitySet, record: Record) -> str:
    """The key predicate of ``record`` as SAP writes it in URIs."""
    quoted = {k: "'" + str(record.get(k, "")).replace("'", "''") + "'" for k in entity.keys}
    if len(entity.keys) == 1:
        return quoted[entity.keys[0]]
    return ",".join(f"{k}={v}" for k, v in quoted.items())


# -- $filter --------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(datetime'[^']*'|'(?:[^']|'')*'|\(|\)|,|-?\d+(?:\.\d+)?|[A-Za-z_][\w/]*)")
Predicate = Callable[[Record], bool]


def parse_filter(entity: EntitySet, text: str) -> Predicate:
    """``$filter`` as a predicate on stored records; 400 on syntax errors or unknown properties."""
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip() == "":
                break
            raise bad_request(f"Invalid filter expression: '{text}'", "/IWBEP/CM_MGW_RT/022")
        tokens.append(match.group(1))
        position = match.end()
    parser = _Filter(entity, tokens, text)
    predicate = parser.expression()
    if parser.index != len(tokens):
        raise bad_request(f"Invalid filter expression: '{text}'", "/IWBEP/CM_MGW_RT/022")
    return predicate


class _Filter:
    def __init__(self, entity: EntitySet, tokens: list[str], text: str) -> None:
        self.entity, self.tokens, self.text, self.index = entity, tokens, text, 0

    def _peek(self) -> str:
        return self.tokens[self.index] if self.index < len(self.tokens) else ""

    def _next(self) -> str:
        token = self._peek()
        if not token:
            raise bad_request(f"Invalid filter expression: '{self.text}'", "/IWBEP/CM_MGW_RT/022")
        self.index += 1
        return token

    def expression(self) -> Predicate:
        left = self._conjunction()
        while self._peek() == "or":
            self._next()
            left = _either(left, self._conjunction())
        return left

    def _conjunction(self) -> Predicate:
        left = self._unary()
        while self._peek() == "and":
            self._next()
            left = _both(left, self._unary())
        return left

    def _unary(self) -> Predicate:
        if self._peek() == "not":
            self._next()
            inner = self._unary()
            return lambda r: not inner(r)
        if self._peek() == "(":
            self._next()
            inner = self.expression()
            if self._next() != ")":
                raise bad_request(f"Invalid filter expression: '{self.text}'", "/IWBEP/CM_MGW_RT/022")
            return inner
        left = self._operand()
        operator = self._peek()
        if operator in ("eq", "ne", "gt", "ge", "lt", "le"):
            self._next()
            right = self._operand()
            return lambda r: _compare(operator, left(r), right(r))
        return lambda r: bool(left(r))

    def _operand(self) -> Callable[[Record], Any]:
        token = self._next()
        if token in ("startswith", "endswith", "substringof") and self._peek() == "(":
            self._next()
            first = self._operand()
            if self._next() != ",":
                raise bad_request(f"Invalid filter expression: '{self.text}'", "/IWBEP/CM_MGW_RT/022")
            second = self._operand()
            if self._next() != ")":
                raise bad_request(f"Invalid filter expression: '{self.text}'", "/IWBEP/CM_MGW_RT/022")
            if token == "startswith":
                return lambda r: str(first(r) or "").startswith(str(second(r)))
            if token == "endswith":
                return lambda r: str(first(r) or "").endswith(str(second(r)))
            return lambda r: str(first(r)) in str(second(r) or "")
        if token.startswith("datetime'"):
            value = dt.datetime.fromisoformat(token[9:-1]).date().isoformat()
            return lambda _r: value
        if token.startswith("'"):
            text = token[1:-1].replace("''", "'")
            return lambda _r: text
        if token in ("true", "false"):
            return lambda _r: token == "true"
        if token == "null":
            return lambda _r: None
        if token[0].isdigit() or token[0] == "-":
            number = Decimal(token)
            return lambda _r: number
        if token not in self.entity.props:
            raise bad_request(f"Property {token} not found in type '{self.entity.type_name}'", "/IWBEP/CM_MGW_RT/020")
        prop = self.entity.props[token]
        if prop.type == "Edm.Decimal":
            return lambda r: Decimal(str(r[token])) if r.get(token) is not None else None
        return lambda r: r.get(token)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda record: first(record) or second(record)


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda record: first(record) and second(record)


def _compare(operator: str, left: Any, right: Any) -> bool:
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        try:
            left, right = Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            return False
    if operator == "eq":
        return bool(left == right)
    if operator == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    return bool({"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[operator])
