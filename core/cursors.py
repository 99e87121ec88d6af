"""One cursor codec for every list Strata serves: opaque, signed, and bound to its list.

A list answers ``next_cursor`` (and ``Link: <…>; rel="next"``), and the caller sends that cursor
back unchanged. Who does what:

* **Services, stores and connectors page in typed positions**: the last id of a page (CRM, Stripe),
  an offset (NetSuite SuiteQL), a vendor's page token (product platform), a :class:`Keyset`
  ``(created_at, id)`` (the process and webhook stores), a small struct around a vendor's next link
  (Business Central). A page says where the next one starts (``Page.next_position``); callers in the
  same process (workflows, reconciliation) hand that position straight back.
* **The HTTP boundary signs and verifies** (:mod:`apis.system.paging`): a list route seals the next
  position into a cursor under its list id and the request's filters, and opens the cursor it was
  sent under the same two. Services never see a signature, and every list of every layer follows
  the same rules.

A cursor is base64url without padding of ``payload ‖ tag``. ``payload`` is the position's JSON;
``tag`` is the first 16 bytes of HMAC-SHA256 (RFC 2104; 128 bits, the shortest its §5 recommends
for SHA-256) over the list id, the filters and the payload, under the cursor key that
:func:`core.master_key.derive_key` gives this purpose alone. Whoever base64-decodes a cursor can
read its position (a position is never a secret) but cannot change it: a forged or tampered cursor,
a cursor of another list, of the same list with other filters, or one signed under another master
key fails the tag and is :class:`InvalidCursor`, a 422 problem naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from core.errors import InvalidInput
from core.master_key import derive_key

T = TypeVar("T")

CURSOR_KEY_PURPOSE = "list-cursor-v1"
"""The purpose the cursor key is derived for (a new format takes a new purpose)."""
TAG_BYTES = 16
"""Bytes of the HMAC-SHA256 tag a cursor carries."""
MAX_CURSOR_CHARS = 4096
"""Longer input is refused before any decoding (the contracts allow 512)."""
INVALID_CURSOR_DETAIL = "cursor is not a cursor this API issued"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidCursor(InvalidInput):
    """The cursor was not issued by this API for this list and these filters (or was changed)."""

    def __init__(self, detail: str = INVALID_CURSOR_DETAIL) -> None:
        super().__init__(detail, field_errors=[{"in": "query", "name": "cursor", "detail": detail}])


class Keyset(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Where a page of a list ordered by ``(created_at, id)`` ended: the creation time and id of its last item."""

    created_at: float
    id: str


def as_position(value: object, into: type[T]) -> T:
    """``value`` as a position of type ``into``: as a page gave it, or as a cursor's JSON carried it.

    Raises:
        InvalidCursor: ``value`` is no position of that type (e.g. a cursor of another connector).
    """
    try:
        return msgspec.convert(value, into)
    except msgspec.ValidationError:
        raise InvalidCursor() from None


class CursorCodec:
    """Seals positions into cursors and opens them, under one list id and one set of filters.

    Args:
        master_key: the master key (:func:`core.master_key.resolve_master_key`), or a function
            returning it, called on first use (so an app can be built before its state exists).
    """

    def __init__(self, master_key: str | Callable[[], str]) -> None:
        self._master_key = master_key
        self._mac: hmac.HMAC | None = None

    def encode(self, position: object, *, list_id: str, filters: Mapping[str, object] | None = None) -> str:
        """The cursor of ``position`` in list ``list_id`` filtered by ``filters``.

        ``filters`` map names to JSON-encodable values; a ``None`` value counts as absent, so a
        filter added to a list later leaves the cursors already issued valid.
        """
        payload = msgspec.json.encode(position)
        return _encoded(payload + self._tag(list_id, filters, payload))

    def decode(self, cursor: str, into: type[T], *, list_id: str, filters: Mapping[str, object] | None = None) -> T:
        """The position of type ``into`` that ``cursor`` carries.

        Raises:
            InvalidCursor: not a cursor this codec issued for ``list_id`` and ``filters``.
        """
        if len(cursor) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(cursor):
            raise InvalidCursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        if _encoded(raw) != cursor:
            raise InvalidCursor()  # the same bytes spelled otherwise (spare bits set): not as issued
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if not payload or not hmac.compare_digest(tag, self._tag(list_id, filters, payload)):
            raise InvalidCursor()
        try:
            return msgspec.json.decode(payload, type=into)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # Signed by us, yet not a position of this type: issued by an older format or another
            # connector behind the same list (the ERP after a vendor switch).
            raise InvalidCursor() from None

    def _tag(self, list_id: str, filters: Mapping[str, object] | None, payload: bytes) -> bytes:
        # A JSON array ends where it ends, so list id and filters cannot bleed into the payload.
        bound = {name: value for name, value in (filters or {}).items() if value is not None}
        mac = self._keyed().copy()
        mac.update(msgspec.json.encode([list_id, bound], order="sorted"))
        mac.update(payload)
        return mac.digest()[:TAG_BYTES]

    def _keyed(self) -> hmac.HMAC:
        # One keyed HMAC, copied per cursor: cheaper than keying each time, and unlike the one-shot
        # hmac.digest() it keeps the GIL (that one releases it, and on a busy server the request
        # then waits for another thread: ~60 µs measured in the running gateway).
        if self._mac is None:
            master_key = self._master_key() if callable(self._master_key) else self._master_key
            self._mac = hmac.new(derive_key(master_key, CURSOR_KEY_PURPOSE), digestmod=hashlib.sha256)
        return self._mac


def _encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
