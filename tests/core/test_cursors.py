"""The one cursor codec: a cursor opens only in the list, with the filters and under the key it was made."""

from __future__ import annotations

import base64
import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cursors import (
    CURSOR_KEY_PURPOSE,
    MAX_CURSOR_CHARS,
    TAG_BYTES,
    CursorCodec,
    InvalidCursor,
    Keyset,
    as_position,
)
from core.errors import InvalidInput
from core.master_key import derive_key

KEY = "k" * 32
OTHER_KEY = "o" * 32
ACCOUNTS = "GET /system/crm/v1/accounts"
CONTACTS = "GET /system/crm/v1/contacts"
FILTERS = {"query:name_prefix": "Acme", "audience:partner": None}


class Struct(msgspec.Struct, frozen=True, array_like=True):
    tag: str
    company: int
    link: str | None


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec(KEY)


@pytest.mark.parametrize(
    ("position", "into"),
    [
        ("001Qy000000AbCdEAF", str),
        (4200, int),
        (Keyset(1_765_000_000.123456, "txn_01JXYZ"), Keyset),
        (Struct("a1b2", 2, "https://api.example/companies(x)/items?$skiptoken=7"), Struct),
    ],
)
def test_a_cursor_opens_to_its_position_in_its_list_with_its_filters(
    codec: CursorCodec, position: object, into: type
) -> None:
    cursor = codec.encode(position, list_id=ACCOUNTS, filters=FILTERS)
    assert codec.decode(cursor, into, list_id=ACCOUNTS, filters=dict(FILTERS)) == position


def test_cursors_are_compact_and_url_safe(codec: CursorCodec) -> None:
    cursor = codec.encode("001Qy000000AbCdEAF", list_id=ACCOUNTS, filters=FILTERS)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # base64url without padding: no escaping in a query
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert raw[:-TAG_BYTES] == b'"001Qy000000AbCdEAF"'  # the payload is the position's JSON, nothing more
    assert len(cursor) == 48  # 20 bytes of position + 16 of tag


def test_a_cursor_of_another_list_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode("001Qy000000AbCdEAF", list_id=ACCOUNTS)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, str, list_id=CONTACTS)


@pytest.mark.parametrize(
    "other",
    [
        {"query:name_prefix": "Acm"},
        {"query:name_prefix": "Acme", "query:parent_id": "001Qy000000AbCdEAF"},
        {},
        {"query:name_prefix": "Acme", "audience:partner": "P-1"},
    ],
)
def test_a_cursor_of_the_same_list_with_other_filters_is_refused(codec: CursorCodec, other: dict[str, str]) -> None:
    cursor = codec.encode("001Qy000000AbCdEAF", list_id=ACCOUNTS, filters=FILTERS)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, str, list_id=ACCOUNTS, filters=other)


def test_a_filter_set_to_none_is_a_filter_not_given(codec: CursorCodec) -> None:
    cursor = codec.encode(7, list_id=ACCOUNTS, filters={"query:name_prefix": "Acme"})
    assert codec.decode(cursor, int, list_id=ACCOUNTS, filters={"query:name_prefix": "Acme", "query:x": None}) == 7


def test_a_cursor_signed_under_another_master_key_is_refused(codec: CursorCodec) -> None:
    foreign = CursorCodec(OTHER_KEY).encode("001Qy000000AbCdEAF", list_id=ACCOUNTS, filters=FILTERS)
    with pytest.raises(InvalidCursor):
        codec.decode(foreign, str, list_id=ACCOUNTS, filters=FILTERS)


def test_a_changed_position_or_tag_is_refused(codec: CursorCodec) -> None:
    raw = base64.urlsafe_b64decode(_padded(codec.encode(100, list_id=ACCOUNTS)))
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    forged_payload = b"5" + payload[1:] + tag  # another offset under the old tag
    forged_tag = payload + bytes([tag[0] ^ 1]) + tag[1:]
    for raw_forgery in (forged_payload, forged_tag, payload, tag, b"", payload + tag[:-1]):
        with pytest.raises(InvalidCursor):
            codec.decode(_unpadded(raw_forgery), int, list_id=ACCOUNTS)


def test_the_same_bytes_spelled_otherwise_are_refused(codec: CursorCodec) -> None:
    cursor = codec.encode("001Qy000000AbCdEAF", list_id=ACCOUNTS)
    assert len(cursor) % 4 == 0
    cursor = codec.encode("001Qy000000AbCdEA", list_id=ACCOUNTS)  # 35 bytes: the last character has spare bits
    assert len(cursor) % 4 == 3
    respelled = cursor[:-1] + _BASE64URL_ALPHABET[_BASE64URL_ALPHABET.index(cursor[-1]) ^ 1]
    assert base64.urlsafe_b64decode(_padded(respelled)) == base64.urlsafe_b64decode(_padded(cursor))
    with pytest.raises(InvalidCursor):
        codec.decode(respelled, str, list_id=ACCOUNTS)


@pytest.mark.parametrize(
    "cursor",
    ["", "Zm9yZ2Vk", "not a cursor", "abc=", "a", "é" * 10, "Zm9y\nZ2Vk", "+/+/", "x" * (MAX_CURSOR_CHARS + 4)],
)
def test_anything_else_is_refused(codec: CursorCodec, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, str, list_id=ACCOUNTS)


def test_a_signed_position_of_another_type_is_refused(codec: CursorCodec) -> None:
    # e.g. a NetSuite offset after the ERP was switched to Business Central under the same key
    cursor = codec.encode(40, list_id=ACCOUNTS)
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, Struct, list_id=ACCOUNTS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_no_input_escapes_as_anything_but_invalid_cursor(text: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(KEY).decode(text, object, list_id=ACCOUNTS)


def test_invalid_cursor_is_a_422_naming_the_cursor() -> None:
    error = InvalidCursor()
    assert isinstance(error, InvalidInput) and error.status == 422
    assert error.field_errors == [{"in": "query", "name": "cursor", "detail": "cursor is not a cursor this API issued"}]


def test_the_key_is_derived_for_cursors_alone_and_only_when_first_needed() -> None:
    asked: list[int] = []

    def master_key() -> str:
        asked.append(1)
        return KEY

    lazy = CursorCodec(master_key)
    assert asked == []
    cursor = lazy.encode("x", list_id=ACCOUNTS)
    lazy.decode(cursor, str, list_id=ACCOUNTS)
    assert asked == [1]
    assert CursorCodec(KEY).decode(cursor, str, list_id=ACCOUNTS) == "x"
    assert derive_key(KEY, CURSOR_KEY_PURPOSE) not in {derive_key(KEY, "console-session"), derive_key(KEY, "")}


def test_a_position_is_taken_as_issued_or_as_its_json() -> None:
    issued = Struct("t", 1, None)
    assert as_position(issued, Struct) is issued
    assert as_position(["t", 1, None], Struct) == issued
    for wrong in ("forged", ["t"], {"k": 1}, True):
        with pytest.raises(InvalidCursor):
            as_position(wrong, Struct)


_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _padded(cursor: str) -> str:
    return cursor + "=" * (-len(cursor) % 4)


def _unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
