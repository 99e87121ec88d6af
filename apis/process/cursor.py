"""Opaque cursors of the process APIs' newest-first lists: the position ``(created_at, id)``."""

from __future__ import annotations

import base64

import msgspec

from core.errors import InvalidInput


class Position(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Where a page ended: the creation time and id of its last item."""

    created_at: float
    id: str


def encode_cursor(created_at: float, item_id: str) -> str:
    """Opaque cursor of the page after the item ``(created_at, item_id)``."""
    return base64.urlsafe_b64encode(msgspec.json.encode(Position(created_at, item_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names.

    Raises:
        InvalidInput: not a cursor this API issued (names the ``cursor`` parameter).
    """
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), type=Position)
    except (ValueError, msgspec.DecodeError):
        raise InvalidInput(
            "cursor is not one this API issued",
            field_errors=[{"in": "query", "name": "cursor", "detail": "not a cursor this API issued"}],
        ) from None
