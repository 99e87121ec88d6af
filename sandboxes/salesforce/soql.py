"""A small SOQL parser and evaluator: enough for what connectors and simple-salesforce send.

Supported: ``SELECT`` fields, ``COUNT()``, child-relationship subqueries
(``(SELECT … FROM OpportunityLineItems)``); ``FROM``; ``WHERE`` with ``= != <> < <= > >=``,
``IN``/``NOT IN``, ``LIKE``, ``AND``/``OR``/``NOT`` and parentheses; string, number, boolean,
``null``, date (``2024-05-01``), datetime (``2024-05-01T00:00:00Z``) literals and ``TODAY``,
``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``; ``ORDER BY`` (``ASC``/``DESC``,
``NULLS FIRST``/``LAST``); ``LIMIT``; ``OFFSET`` (at most 2,000, as in Salesforce).
Not supported: parent relationship paths (``Account.Name``), aggregates other than ``COUNT()``,
``GROUP BY``, semi-joins. They answer MALFORMED_QUERY or INVALID_FIELD.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandboxes.salesforce.schema import (
    BOOLEAN,
    CHILD_RELATIONSHIPS,
    DATE,
    DATETIME,
    ID,
    NUMBER_TYPES,
    REFERENCE,
    SfError,
    SObject,
    get_sobject,
    id15,
    parse_datetime,
)

MAX_OFFSET = 2000
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
)""",
    re.VERBOSE,
)
_KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "limit", "offset"}


@dataclass
class Token:
    kind: str
    text: str


@dataclass
class Query:
    """A parsed SELECT."""

    sobject: SObject
    fields: list[str] = field(default_factory=list)
    subqueries: list[Query] = field(default_factory=list)
    relationship: str | None = None
    count_only: bool = False
    where: Callable[[dict[str, Any]], bool] | None = None
    order: list[tuple[str, bool, bool]] = field(default_factory=list)
    """(field, descending, nulls first)."""
    limit: int | None = None
    offset: int = 0


def malformed(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise malformed(f"unexpected token: '{text[position : position + 20]}'")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class Parser:
    """Recursive descent over the tokens of one query."""

    def __init__(self, text: str, today: dt.date) -> None:
        self.tokens = tokenize(text)
        self.position = 0
        self.today = today

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.text.lower() in words

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed("unexpected end of query")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text.lower() != text:
            raise malformed(f"unexpected token: '{token.text}', expected '{text.upper()}'")

    def parse(self) -> Query:
        query = self.select(parent=None)
        if self.peek() is not None:
            raise malformed(f"unexpected token: '{self.take().text}'")
        return query

    def select(self, parent: SObject | None) -> Query:
        self.expect("select")
        raw_fields: list[str] = []
        subqueries_at: list[int] = []
        count_only = False
        while True:
            if self.at("(") and parent is None:
                self.take()
                subqueries_at.append(self.position)
                depth = 1
                while depth:
                    token = self.take()
                    depth += {"(": 1, ")": -1}.get(token.text, 0)
            elif self.at("count") and (nxt := self.peek(1)) is not None and nxt.text == "(":
                self.take()
                self.take()
                self.expect(")")
                count_only = True
            else:
                token = self.take()
                if token.kind != "word" or token.text.lower() in _KEYWORDS:
                    raise malformed(f"unexpected token: '{token.text}'")
                raw_fields.append(token.text)
            if not self.at(","):
                break
            self.take()
        self.expect("from")
        source = self.take().text
        if parent is None:
            sobject, relationship = get_sobject_for_query(source), None
        else:
            child = CHILD_RELATIONSHIPS.get(parent.name, {})
            match = next((name for name in child if name.lower() == source.lower()), None)
            if match is None:
                raise SfError(
                    400, "INVALID_TYPE", f"Didn't understand relationship '{source}' in FROM part of query call."
                )
            sobject, relationship = get_sobject(child[match][0]), match
        query = Query(sobject=sobject, relationship=relationship, count_only=count_only)
        query.fields = [self.field_name(sobject, name) for name in raw_fields]
        end = self.position
        for start in subqueries_at:
            self.position = start
            query.subqueries.append(self.select(parent=sobject))
            self.expect(")")
        self.position = end
        if self.at("where"):
            self.take()
            query.where = self.disjunction(sobject)
        if self.at("order"):
            self.take()
            self.expect("by")
            query.order = self.order_by(sobject)
        if self.at("limit"):
            self.take()
            query.limit = self.integer()
        if self.at("offset"):
            self.take()
            query.offset = self.integer()
            if query.offset > MAX_OFFSET:
                raise SfError(400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        return query

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or "." in token.text:
            raise malformed(f"unexpected token: '{token.text}'")
        return int(token.text)

    @staticmethod
    def field_name(sobject: SObject, name: str) -> str:
        canonical = sobject.canonical_field(name)
        if canonical is None:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{sobject.name}'. If you are attempting to use a custom field, "
                "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names.",
            )
        return canonical

    def order_by(self, sobject: SObject) -> list[tuple[str, bool, bool]]:
        order = []
        while True:
            name = self.field_name(sobject, self.take().text)
            descending = False
            if self.at("asc", "desc"):
                descending = self.take().text.lower() == "desc"
            nulls_first = not descending
            if self.at("nulls"):
                self.take()
                nulls_first = self.take().text.lower() == "first"
            order.append((name, descending, nulls_first))
            if not self.at(","):
                return order
            self.take()

    Predicate = Callable[[dict[str, Any]], bool]

    def disjunction(self, sobject: SObject) -> Predicate:
        parts = [self.conjunction(sobject)]
        while self.at("or"):
            self.take()
            parts.append(self.conjunction(sobject))
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self, sobject: SObject) -> Predicate:
        parts = [self.negation(sobject)]
        while self.at("and"):
            self.take()
            parts.append(self.negation(sobject))
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def negation(self, sobject: SObject) -> Predicate:
        if self.at("not"):
            self.take()
            inner = self.negation(sobject)
            return lambda r: not inner(r)
        if self.at("("):
            self.take()
            inner = self.disjunction(sobject)
            self.expect(")")
            return inner
        return self.comparison(sobject)

    def comparison(self, sobject: SObject) -> Predicate:
        name = self.field_name(sobject, self.take().text)
        kind = sobject.fields[name]
        negate = False
        if self.at("not"):
            self.take()
            negate = True
            if not self.at("in"):
                raise malformed("NOT must be followed by IN here")
        operator = self.take().text.lower()
        if operator == "in":
            self.expect("(")
            values = [self.literal(name, kind)]
            while self.at(","):
                self.take()
                values.append(self.literal(name, kind))
            self.expect(")")
            return lambda r: (_comparable(r.get(name), kind) in values) != negate
        if operator == "like":
            token = self.take()
            if token.kind != "string":
                raise malformed("LIKE needs a string literal")
            pattern = _like(token.text)
            return lambda r: isinstance(r.get(name), str) and pattern.match(r[name]) is not None
        if operator not in {"=", "!=", "<>", "<", "<=", ">", ">="}:
            raise malformed(f"unexpected token: '{operator}'")
        value = self.literal(name, kind)
        return _comparator(name, kind, operator, value)

    def literal(self, name: str, kind: str) -> Any:
        token = self.take()
        text = token.text
        if token.kind == "word" and text.lower() == "null":
            return None
        if kind in (DATE, DATETIME):
            return self.date_literal(token, name, kind)
        if kind == BOOLEAN:
            if text.lower() not in ("true", "false"):
                raise SfError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{name}' must be of type boolean",
                )
            return text.lower() == "true"
        if kind in NUMBER_TYPES:
            if token.kind != "number":
                raise SfError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{name}' must be of type double "
                    "and should not be enclosed in quotes",
                )
            return float(text)
        if token.kind != "string":
            raise malformed(f"unexpected token: '{text}'")
        return _comparable(_unquote(text), kind)

    def date_literal(self, token: Token, name: str, kind: str) -> Any:
        text = token.text.lower()
        day: dt.date | None = None
        if token.kind == "datetime":
            moment = parse_datetime(token.text)
            return moment if kind == DATETIME else moment.date()
        if token.kind == "date":
            day = dt.date.fromisoformat(token.text)
        elif text in ("today", "yesterday", "tomorrow"):
            day = self.today + dt.timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[text])
        elif text.startswith("last_n_days:"):
            day = self.today - dt.timedelta(days=int(text.split(":")[1]))
        if day is None:
            raise SfError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{name}' must be of type {kind} "
                "and should not be enclosed in quotes",
            )
        if kind == DATETIME:
            if token.kind == "date":
                raise SfError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{name}' must be of type dateTime "
                    "and should not be enclosed in quotes",
                )
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        return day


def get_sobject_for_query(name: str) -> SObject:
    try:
        return get_sobject(name)
    except SfError:
        raise SfError(
            400,
            "INVALID_TYPE",
            f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
        ) from None


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _like(quoted: str) -> re.Pattern[str]:
    """A regex for a LIKE literal (still quoted): ``%`` and ``_`` are wildcards unless escaped."""
    parts, escaped = [], False
    for char in quoted[1:-1]:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _comparable(value: Any, kind: str) -> Any:
    """A stored or literal value in a form Python compares as SOQL does."""
    if value is None:
        return None
    if kind in (ID, REFERENCE):
        return id15(value)
    if kind == DATETIME and isinstance(value, str):
        return parse_datetime(value)
    if kind == DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, str):
        return value.lower()
    if kind in NUMBER_TYPES:
        return float(value)
    return value


def _comparator(name: str, kind: str, operator: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    def check(record: dict[str, Any]) -> bool:
        current = _comparable(record.get(name), kind)
        if operator == "=":
            return bool(current == value)
        if operator in ("!=", "<>"):
            return bool(current != value)
        if current is None or value is None:
            return False
        return bool(
            {"<": current < value, "<=": current <= value, ">": current > value, ">=": current >= value}[operator]
        )

    return check


def sort_key(kind: str) -> Callable[[Any], Any]:
    return lambda value: _comparable(value, kind)
