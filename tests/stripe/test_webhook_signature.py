"""Stripe-Signature verification: HMAC-SHA256 over "<t>.<raw body>", 300 s tolerance, several v1."""

from __future__ import annotations

import hashlib
import hmac

import pytest

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
