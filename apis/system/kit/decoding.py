"""Reading what vendors answer: lenient about what we do not use, strict about what we need.

Vendors add fields without notice, so nothing here refuses an unknown field. What a
connector or mapping *needs* is checked where it is read: a missing or ill-typed required
field is an :class:`~core.errors.UpstreamContractViolation` (502) naming the field and the
object it was missing from (``"NetSuite record lacks 'id'"``) — an upstream-contract error,
never a ``KeyError`` surfacing as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from core.errors import UpstreamContractViolation

S = TypeVar("S")
_DECODERS = {
    False: msgspec.json.Decoder(),
    True: msgspec.json.Decoder(float_hook=Decimal),
}
"""Plain JSON, and JSON with every non-integer number as an exact Decimal (amounts)."""


def decode_json(response: httpx.Response, *, display: str, strict: bool = True, decimals: bool = False) -> Any:
    """The response body as JSON.

    Args:
        response: the vendor's answer.
        display: the vendor's name in the error detail (``"Salesforce"``).
        strict: a body that is not JSON raises; otherwise it reads as ``None`` (an error
            answer whose status says enough).
        decimals: read non-integer numbers as :class:`~decimal.Decimal`.

    Raises:
        UpstreamContractViolation: the body is not JSON (and ``strict``).
    """
    try:
        return _DECODERS[decimals].decode(response.content)
    except msgspec.DecodeError:
        if not strict:
            return None
        raise UpstreamContractViolation(
            f"{display} answered {response.status_code} with a body that is not JSON"
        ) from None


def required(
    record: Any, name: str, *, what: str, kind: type | tuple[type, ...] = object, allow_empty: bool = True
) -> Any:
    """``record[name]``: present, not null, of ``kind`` (and not ``""`` unless ``allow_empty``).

    Args:
        record: a decoded JSON object (anything else lacks every field).
        name: the field.
        what: the object in the error detail (``"Stripe invoice"``, ``"NetSuite record"``).
        kind: the type(s) the value must have (a bool is never an ``int`` here).
        allow_empty: accept an empty string.

    Raises:
        UpstreamContractViolation: the field is missing, null, empty or of another type.
    """
    value = record.get(name) if isinstance(record, Mapping) else None
    types = kind if isinstance(kind, tuple) else (kind,)
    bool_as_int = isinstance(value, bool) and int in types and bool not in types  # True is an int to Python
    wrong_kind = not isinstance(value, kind) or bool_as_int
    if value is None or wrong_kind or (value == "" and not allow_empty):
        suffix = f" ({kind.__name__})" if isinstance(kind, type) and kind is not object else ""
        raise UpstreamContractViolation(f"{what} lacks '{name}'{suffix}")
    return value


def decode_struct(body: Any, kind: type[S], *, what: str) -> S:
    """``body`` (decoded JSON) as a ``kind`` struct: unknown fields ignored, text numbers accepted.

    Raises:
        UpstreamContractViolation: a field ``kind`` requires is missing or of another type
            (msgspec's message names it, e.g. ``Object missing required field `instance_url```).
    """
    try:
        return msgspec.convert(body, kind, strict=False)
    except msgspec.ValidationError as error:
        raise UpstreamContractViolation(f"{what}: {error}") from None
