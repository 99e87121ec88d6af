"""Stripe webhook signatures: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``.

Stripe signs ``"<t>.<raw body>"`` with HMAC-SHA256 and the endpoint's secret; the header may
carry several ``v1`` values (during a secret roll, one per secret) and other schemes (``v0``)
that are ignored. A delivery is accepted when any ``v1`` matches (compared in constant time
with :func:`hmac.compare_digest`) and ``t`` is within ``tolerance_seconds`` of now — the
official SDK's 300 s default, which bounds replays of a captured request.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from gateway.errors import PermanentError

DEFAULT_TOLERANCE_SECONDS = 300
HEADER = "Stripe-Signature"


class WebhookSignatureInvalid(PermanentError):
    """The webhook's signature is missing, malformed, wrong, or its timestamp is stale (400)."""

    status = 400
    problem = "webhook-signature-invalid"
    title = "Webhook signature invalid"


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: tuple[str, ...],
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``payload``; returns the signed timestamp.

    Args:
        payload: the raw request body, byte for byte as received.
        header: the ``Stripe-Signature`` value.
        secrets: the endpoint's signing secrets (``whsec_…``); more than one while rolling.
        tolerance_seconds: how far ``t`` may be from now, either way.
        now: the current Unix time (tests).

    Raises:
        WebhookSignatureInvalid: no valid ``v1`` for any secret, or ``t`` outside the tolerance.
    """
    if not header:
        raise WebhookSignatureInvalid(f"{HEADER} header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureInvalid(f"{HEADER} has no timestamp or no v1 signature")
    signed = f"{timestamp}.".encode() + payload
    expected = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets if secret]
    # Every pair is compared (no early exit on a match) so timing says nothing about which failed.
    matches = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    if not any(matches):
        raise WebhookSignatureInvalid(f"{HEADER} does not match the payload")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureInvalid(f"{HEADER} timestamp is outside the {int(tolerance_seconds)} s tolerance")
    return timestamp
