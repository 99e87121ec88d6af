"""The OData v4 query subset the sandbox understands: ``$filter $select $expand $orderby $top $skip``.

``$filter`` grammar (OData v4 URL conventions §5.1.1, the part a connector needs)::

    expr       := and_expr ('or' and_expr)*
    and_expr   := unary ('and' unary)*
    unary      := 'not' unary | '(' expr ')' | function | comparison
    function   := ('startswith' | 'endswith' | 'contains') '(' property ',' literal ')'
    comparison := property ('eq'|'ne'|'gt'|'ge'|'lt'|'le') literal
    literal    := 'text' ('' escapes a quote) | number | true | false | null | date | guid

Code properties compare case-insensitively (BC stores them upper-cased); dates compare as ISO
strings. Server-driven paging: a page holds at most the server's page size, or fewer when the
client sends ``Prefer: odata.maxpagesize=<n>``; ``@odata.nextLink`` repeats the query with
``$skiptoken=<last id of the page>`` (keyset paging on ``id``, so inserts between pages neither
skip nor repeat a record).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.business_central.schema import BcError, Entity, property_not_found

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<date>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+Z?)?)|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_/.]*)"
    r"|(?P<punct>[(),]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains"}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _syntax(text: str, detail: str) -> BcError:
    return BcError(400, "BadRequest", f"Invalid filter expression '{text}': {detail}.")


class _Parser:
    def __init__(self, text: str, entity: Entity) -> None:
        self.text, self.entity = text, entity
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise _syntax(text, f"unexpected character at position {position}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1].lower() != expected):
            raise _syntax(self.text, f"expected {expected or 'more input'}")
        self.index += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise _syntax(self.text, f"unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return predicate

    def expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token[1].lower() == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while (token := self.peek()) is not None and token[1].lower() == "and":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def unary(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise _syntax(self.text, "expression expected")
        if token[1].lower() == "not":
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if token[1] == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if token[0] == "word" and token[1].lower() in _FUNCTIONS:
            return self.function()
        return self.comparison()

    def property(self) -> str:
        kind, name = self.take()
        if kind != "word":
            raise _syntax(self.text, f"property expected, found '{name}'")
        if name not in self.entity.fields:
            raise property_not_found(name, self.entity.type_name)
        return name

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind in ("guid", "date"):
            return value
        if kind == "num":
            return Decimal(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "word" and value.lower() == "null":
            return None
        raise _syntax(self.text, f"literal expected, found '{value}'")

    def function(self) -> Predicate:
        name = self.take()[1].lower()
        self.take("(")
        prop = self.property()
        self.take(",")
        value = self.literal()
        self.take(")")
        if not isinstance(value, str):
            raise _syntax(self.text, f"{name} needs a text literal")
        code = self.entity.fields[prop].startswith("code")
        needle = value.lower() if code else value

        def test(record: Record) -> bool:
            have = record.get(prop)
            if not isinstance(have, str):
                return False
            have = have.lower() if code else have
            if name == "startswith":
                return have.startswith(needle)
            if name == "endswith":
                return have.endswith(needle)
            return needle in have

        return test

    def comparison(self) -> Predicate:
        prop = self.property()
        _kind, op = self.take()
        if op.lower() not in _OPS:
            raise _syntax(self.text, f"operator expected after {prop}, found '{op}'")
        op = op.lower()
        value = _normalise(self.entity.fields[prop], self.literal())

        def test(record: Record) -> bool:
            have = _normalise(self.entity.fields[prop], record.get(prop))
            if op == "eq":
                return bool(have == value)
            if op == "ne":
                return bool(have != value)
            if have is None or value is None:
                return False
            try:
                return bool({"gt": have > value, "ge": have >= value, "lt": have < value, "le": have <= value}[op])
            except TypeError:
                return False

        return test


def _normalise(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind.startswith("code") or kind == "guid":
        return str(value).lower()
    if kind in ("decimal", "int"):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def parse_filter(text: str | None, entity: Entity) -> Predicate:
    """A predicate for ``$filter`` (everything passes when absent)."""
    if not text or not text.strip():
        return lambda _record: True
    return _Parser(text, entity).parse()


def parse_select(text: str | None, entity: Entity) -> list[str] | None:
    """The properties of ``$select``, checked to exist; None = all."""
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in entity.fields:
            raise property_not_found(name, entity.type_name)
    return names


def parse_expand(text: str | None, entity: Entity) -> list[str]:
    """The navigation properties of ``$expand``, checked to exist."""
    if not text:
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in entity.navigation:
            raise property_not_found(name, entity.type_name)
    return names


def parse_count(name: str, value: str | None) -> int | None:
    """``$top`` / ``$skip`` as a non-negative integer."""
    if value is None:
        return None
    if not value.isdigit():
        raise BcError(400, "BadRequest", f"Invalid value '{value}' for the query option '{name}'.")
    return int(value)


def check_orderby(value: str | None) -> None:
    """Only ``id`` (ascending) ordering is served: every list is in ``id`` order."""
    if value is not None and value.strip().lower() not in ("id", "id asc"):
        raise BcError(400, "BadRequest_NotSupported", f"The $orderby '{value}' is not supported by this sandbox.")


def max_page_size(prefer: str, server_page_size: int) -> int:
    """``Prefer: odata.maxpagesize=<n>`` lowers the page size (never raises it)."""
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer or "")
    if match and int(match[1]) > 0:
        return min(int(match[1]), server_page_size)
    return server_page_size


def etag(record_id: str, version: int) -> str:
    """A weak etag in BC's shape: ``W/"<base64 of '<n>;<version>;'>"``."""
    raw = f"'{len(record_id)};{version}{record_id[:8]};'"
    return 'W/"' + base64.b64encode(raw.encode()).decode() + '"'
