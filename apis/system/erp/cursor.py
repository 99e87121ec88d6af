"""Opaque list cursors of the ERP system API: base64url of ``{"k": <list>, "o": <offset>}``.

A cursor names the list it belongs to, so a cursor of the invoice list handed to the customer
search is refused (422 naming ``cursor``) instead of silently skipping rows. Connectors whose
vendor pages by offset (NetSuite SuiteQL, Business Central ``$skip``) share it.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from core.errors import InvalidInput

MAX_OFFSET = 10_000_000


class InvalidCursor(InvalidInput):
    """The cursor was not issued by this API for this list (or was tampered with)."""

    def __init__(self, detail: str = "cursor is not a cursor this API issued") -> None:
        super().__init__(detail, field_errors=[{"in": "query", "name": "cursor", "detail": detail}])


class _Cursor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    k: str
    o: int


def encode_offset(kind: str, offset: int) -> str:
    """The cursor of the page of list ``kind`` starting at ``offset``."""
    return base64.urlsafe_b64encode(msgspec.json.encode(_Cursor(k=kind, o=offset))).decode().rstrip("=")


def decode_offset(cursor: str, kind: str) -> int:
    """The offset behind a cursor of list ``kind``.

    Raises:
        InvalidCursor: not a cursor this API issued for this list.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = msgspec.json.decode(raw, type=_Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidCursor() from None
    if decoded.k != kind or not 0 <= decoded.o <= MAX_OFFSET:
        raise InvalidCursor()
    return decoded.o
