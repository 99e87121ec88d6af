"""The SuiteQL subset the sandbox runs: one table, a few predicates, no evaluation of user text.

Grammar (keywords case-insensitive)::

    query     := SELECT ( "*" | column ("," column)* ) FROM table
                 [ WHERE predicate ( AND predicate )* ] [ ORDER BY column [ASC | DESC] ] [";"]
    predicate := column ( "=" | "!=" | "<>" ) literal | column LIKE string | column IS [NOT] NULL
    literal   := 'string' ('' escapes a quote) | number

Tables: ``customer``, ``subsidiary``, ``accountingperiod``, ``item`` (the service sale items,
``itemtype = 'Service'``), ``revrecschedule`` (revenue recognition schedules) and ``transaction``
(sales orders, invoices, credit memos, payments and journal entries, with SuiteQL's ``type``
codes ``SalesOrd``, ``CustInvc``, ``CustCred``, ``CustPymt``, ``Journal``). Columns are the REST
field names in lower case (``companyname``, ``externalid``, ``trandate``, ...); a reference column
holds the target's internal id.

As in SuiteQL's REST answers, every value is a string, booleans are ``"T"``/``"F"``, dates are
written ``M/D/YYYY``, empty columns are left out of the row, and each row has ``"links": []``.
``LIKE`` uses ``%`` and ``_`` and is case-sensitive, as in Oracle (NetSuite's SQL dialect); a
date literal may be ``'YYYY-MM-DD'`` or ``'M/D/YYYY'``. Anything else is refused with 400
``INVALID_PARAMETER`` ("Invalid search query ..."), which is how NetSuite words SuiteQL errors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandboxes.netsuite.schema import BOOL, DATE, FLOAT, RECORD_TYPES, NsError
from sandboxes.netsuite.store import Record, Store

TABLES: dict[str, tuple[str, ...]] = {
    "customer": ("customer",),
    "subsidiary": ("subsidiary",),
    "accountingperiod": ("accountingPeriod",),
    "item": ("serviceSaleItem",),
    "transaction": ("salesOrder", "invoice", "creditMemo", "customerPayment", "journalEntry"),
    "revrecschedule": ("revRecSchedule",),
}
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><>|!=|=|,|\*|;))"
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "LIKE", "IS", "NOT", "NULL"}
Row = dict[str, Any]


def _invalid(message: str) -> NsError:
    detail = f"Invalid search query. Detailed unprocessed description follows. Search error occurred: {message}"
    return NsError(400, "INVALID_PARAMETER", detail, "q")


@dataclass(frozen=True)
class Query:
    """A parsed query: selected columns (None = all), table, predicates, ordering."""

    columns: list[str] | None
    table: str
    predicates: list[Callable[[Row], bool]]
    order: tuple[str, bool] | None


def _tokens(text: str) -> list[tuple[str, str]]:
    out, position, text = [], 0, text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _invalid(f"Unexpected character at position {position}: {text[position]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        out.append((kind, value))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return out


def columns_of(table: str) -> dict[str, str]:
    """Column name -> field kind of a SuiteQL table."""
    columns: dict[str, str] = {}
    for type_name in TABLES[table]:
        for name, kind in RECORD_TYPES[type_name].all_fields().items():
            columns.setdefault(name.lower(), kind)
    if table == "transaction":
        columns["type"] = "text"
    if table == "item":
        columns["itemtype"] = "text"
    return columns


class Parser:
    """Recursive descent over the token list; the result is data, never code."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise _invalid("The query is empty.")
        self._tokens = _tokens(text)
        self._at = 0

    def _peek(self) -> tuple[str, str]:
        return self._tokens[self._at] if self._at < len(self._tokens) else ("end", "")

    def _take(self, kind: str, value: str | None = None) -> str:
        found = self._peek()
        if found[0] != kind or (value is not None and found[1] != value):
            raise _invalid(f"Expected {value or kind} but found {found[1] or 'the end of the query'}.")
        self._at += 1
        return found[1]

    def _accept(self, kind: str, value: str) -> bool:
        if self._peek() == (kind, value):
            self._at += 1
            return True
        return False

    def parse(self) -> Query:
        """The whole query."""
        self._take("keyword", "SELECT")
        selected: list[str] | None = None
        if not self._accept("op", "*"):
            selected = [self._take("name").lower()]
            while self._accept("op", ","):
                selected.append(self._take("name").lower())
        self._take("keyword", "FROM")
        table = self._take("name").lower()
        if table not in TABLES:
            raise _invalid(f"Record '{table}' was not found.")
        columns = columns_of(table)
        for name in selected or []:
            if name not in columns:
                raise _invalid(f"Field '{name}' for record '{table}' was not found.")
        predicates: list[Callable[[Row], bool]] = []
        if self._accept("keyword", "WHERE"):
            predicates.append(self._predicate(table, columns))
            while self._accept("keyword", "AND"):
                predicates.append(self._predicate(table, columns))
        order = None
        if self._accept("keyword", "ORDER"):
            self._take("keyword", "BY")
            name = self._column(table, columns)
            descending = self._accept("keyword", "DESC")
            if not descending:
                self._accept("keyword", "ASC")
            order = (name, descending)
        self._accept("op", ";")
        if self._peek()[0] != "end":
            raise _invalid(f"Unexpected token {self._peek()[1]!r}.")
        return Query(selected, table, predicates, order)

    def _column(self, table: str, columns: dict[str, str]) -> str:
        name = self._take("name").lower()
        if name not in columns:
            raise _invalid(f"Field '{name}' for record '{table}' was not found.")
        return name

    def _predicate(self, table: str, columns: dict[str, str]) -> Callable[[Row], bool]:
        name = self._column(table, columns)
        if self._accept("keyword", "IS"):
            negate = self._accept("keyword", "NOT")
            self._take("keyword", "NULL")
            return lambda row: (row.get(name) is None) != negate
        if self._accept("keyword", "LIKE"):
            pattern = _like(self._literal("string"))
            return lambda row: row.get(name) is not None and pattern.fullmatch(row[name]) is not None
        kind, operator = self._peek()
        if kind != "op" or operator not in ("=", "!=", "<>"):
            raise _invalid(f"Expected a comparison after {name}.")
        self._at += 1
        wanted = _normalize(columns[name], self._literal(None))
        if operator == "=":
            return lambda row: row.get(name) == wanted
        return lambda row: row.get(name) is not None and row[name] != wanted

    def _literal(self, kind: str | None) -> str:
        found_kind, value = self._peek()
        if found_kind not in ("string", "number") or (kind is not None and found_kind != kind):
            raise _invalid(f"Expected a {'string' if kind else 'literal'} but found {value or 'the end'}.")
        self._at += 1
        return value[1:-1].replace("''", "'") if found_kind == "string" else value


def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _normalize(kind: str, literal: str) -> str:
    """A literal in the string form rows use, so ``=`` compares like with like."""
    if kind == DATE:
        for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
            try:
                return format_value(DATE, dt.datetime.strptime(literal, fmt).date().isoformat())
            except ValueError:
                continue
        raise _invalid(f"Invalid date literal '{literal}'.")
    if kind == FLOAT:
        try:
            return format_value(FLOAT, float(literal))
        except ValueError:
            raise _invalid(f"Invalid number literal '{literal}'.") from None
    return literal


def format_value(kind: str, value: Any) -> str:
    """A value as SuiteQL writes it: strings, ``T``/``F``, ``M/D/YYYY``."""
    if kind == BOOL:
        return "T" if value else "F"
    if kind == DATE:
        day = dt.date.fromisoformat(value)
        return f"{day.month}/{day.day}/{day.year}"
    if kind == FLOAT:
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def rows(store: Store, table: str) -> list[Row]:
    """Every row of a table, as SuiteQL strings (None for empty columns)."""
    out: list[Row] = []
    for type_name in TABLES[table]:
        record_type = RECORD_TYPES[type_name]
        for record in store.all(type_name):
            row = _row(record_type.all_fields(), record)
            if table == "transaction":
                row["type"] = record_type.suiteql_type
            if table == "item":
                row["itemtype"] = "Service"
            out.append(row)
    return out


def _row(fields: dict[str, str], record: Record) -> Row:
    return {
        name.lower(): None if record.get(name) in (None, "") else format_value(kind, record[name])
        for name, kind in fields.items()
    }


def run(store: Store, text: str) -> list[dict[str, Any]]:
    """Every result row of ``text`` (paging is the caller's), as SuiteQL items."""
    query = Parser(text).parse()
    selected = [row for row in rows(store, query.table) if all(test(row) for test in query.predicates)]
    name, descending = query.order or ("id", False)
    numeric = columns_of(query.table)[name] == FLOAT or name == "id"
    present = [row for row in selected if row.get(name) is not None]

    def key(row: Row) -> Any:
        value = row[name]
        if numeric:
            return float(value)
        if columns_of(query.table)[name] == DATE:
            return dt.datetime.strptime(value, "%m/%d/%Y").date()
        return value

    present.sort(key=key, reverse=descending)
    missing = [row for row in selected if row.get(name) is None]
    ordered = present + missing
    columns = query.columns
    return [
        {"links": [], **{k: v for k, v in row.items() if v is not None and (columns is None or k in columns)}}
        for row in ordered
    ]
