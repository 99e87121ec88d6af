"""Stripe-Signature verification: HMAC-SHA256 over "<t>.<raw body>", 300 s tolerance, several v1."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apis.system.payments.webhook import WebhookSignatureInvalid, verify_signature

SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","object":"event","type":"invoice.paid"}'
NOW = 1_800_000_000


def _v1(body: bytes, t: int, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_good_signature_verifies_and_returns_its_timestamp() -> None:
    assert verify_signature(BODY, f"t={NOW},v1={_v1(BODY, NOW)}", (SECRET,), now=NOW + 10) == NOW


def test_a_tampered_body_or_timestamp_is_refused() -> None:
    header = f"t={NOW},v1={_v1(BODY, NOW)}"
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_signature(BODY.replace(b"paid", b"void"), header, (SECRET,), now=NOW)
    with pytest.raises(WebhookSignatureInvalid, match="does not match"):
        verify_signature(BODY, f"t={NOW + 1},v1={_v1(BODY, NOW)}", (SECRET,), now=NOW)


def test_a_stale_or_future_timestamp_is_refused_beyond_300_seconds() -> None:
    header = f"t={NOW},v1={_v1(BODY, NOW)}"
    assert verify_signature(BODY, header, (SECRET,), now=NOW + 300) == NOW
    with pytest.raises(WebhookSignatureInvalid, match="tolerance"):
        verify_signature(BODY, header, (SECRET,), now=NOW + 301)
    with pytest.raises(WebhookSignatureInvalid, match="tolerance"):
        verify_signature(BODY, header, (SECRET,), now=NOW - 301)


def test_any_of_several_v1_values_may_match_and_v0_is_ignored() -> None:
    header = f"t={NOW},v1={'0' * 64},v0={_v1(BODY, NOW)},v1={_v1(BODY, NOW)}"
    assert verify_signature(BODY, header, (SECRET,), now=NOW) == NOW
    only_v0 = f"t={NOW},v0={_v1(BODY, NOW)}"
    with pytest.raises(WebhookSignatureInvalid, match="no v1"):
        verify_signature(BODY, only_v0, (SECRET,), now=NOW)


def test_a_rolled_secret_keeps_verifying_with_the_old_one_listed() -> None:
    header = f"t={NOW},v1={_v1(BODY, NOW, 'whsec_old')}"
    assert verify_signature(BODY, header, ("whsec_new", "whsec_old"), now=NOW) == NOW
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(BODY, header, ("whsec_new",), now=NOW)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", f"v1={_v1(BODY, NOW)}", f"t={NOW}"])
def test_missing_or_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(BODY, header, (SECRET,), now=NOW)


GOOD = _v1(BODY, NOW)
MALFORMED = {
    "superscript digit t (isdigit() but not int())": f"t=\u00b2,v1={GOOD}",
    "Arabic-Indic digits t (int() would take them)": f"t=\u0661\u0668\u0660\u0660,v1={GOOD}",
    "non-ASCII v1 (compare_digest raises TypeError)": f"t={NOW},v1=" + "\u00e9" * 64,
    "latin-1 v1 of the right length": f"t={NOW},v1=" + "\u00ff" * 64,
    "upper-case hex v1": f"t={NOW},v1={GOOD.upper()}",
    "short v1": f"t={NOW},v1={GOOD[:63]}",
    "long v1": f"t={NOW},v1={GOOD}0",
    "empty t": f"t=,v1={GOOD}",
    "t without =": f"t,v1={GOOD}",
    "negative t": f"t=-{NOW},v1={GOOD}",
    "signed t": f"t=+{NOW},v1={GOOD}",
    "t with underscores (int() would take them)": f"t=1_800_000_000,v1={GOOD}",
    "t with inner spaces": f"t= {NOW} ,v1={GOOD}",
    "t too long": f"t={'9' * 13},v1={GOOD}",
    "duplicate t": f"t={NOW},t={NOW},v1={GOOD}",
    "many commas": f"t={NOW},v1={GOOD}" + "," * 100,
    "huge header": f"t={NOW},v1={GOOD},v0={'a' * 5000}",
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_headers_are_refused_as_invalid_signatures(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(BODY, header, (SECRET,), now=NOW)


def test_what_stripe_sends_still_verifies() -> None:
    """The SDK's own rules (stripe/_webhook.py): v0 and unknown schemes ignored, any v1 may match."""
    stripe_like = f"t={NOW},v1={GOOD},v0={'ab' * 32}"
    assert verify_signature(BODY, stripe_like, (SECRET,), now=NOW) == NOW
    rolling = f"t={NOW},v1={_v1(BODY, NOW, 'whsec_new')},v1={GOOD},v0={'0' * 64},scheme2=anything"
    assert verify_signature(BODY, rolling, (SECRET,), now=NOW) == NOW
    assert verify_signature(BODY, f" t={NOW} , v1={GOOD},", (SECRET,), now=NOW) == NOW


# Arbitrary text, weighted towards what a parser trips on: latin-1 (how header bytes arrive),
# Unicode digits, separators, and the item names the parser looks for.
_ALPHABET = st.one_of(
    st.characters(max_codepoint=0xFF),
    st.characters(categories=["Nd", "No"]),
    st.sampled_from(list(", =\tvt01f")),
)
_HEXISH = st.text(st.sampled_from(list("0123456789abcdefABCDEF\u00b2\u0661\u00e9")), min_size=63, max_size=65)
_ITEM = st.one_of(
    st.text(_ALPHABET, max_size=20),
    st.builds(
        lambda key, value: f"{key}={value}",
        st.sampled_from(["t", "v1", "v0", " t", "v1 "]),
        st.one_of(st.text(_ALPHABET), _HEXISH),
    ),
    st.just(f"v1={GOOD}"),
    st.just(f"t={NOW}"),
)
_HEADER = st.one_of(st.text(), st.text(_ALPHABET), st.lists(_ITEM, max_size=20).map(",".join))


@settings(max_examples=500, deadline=None)
@given(header=_HEADER)
def test_any_header_verifies_or_is_refused_never_crashes(header: str) -> None:
    with contextlib.suppress(WebhookSignatureInvalid):
        assert verify_signature(BODY, header, (SECRET,), now=NOW) == NOW
