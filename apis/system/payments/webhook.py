"""Stripe webhook signatures: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``.

Stripe signs ``"<t>.<raw body>"`` with HMAC-SHA256 and the endpoint's secret; the header may
carry several ``v1`` values (during a secret roll, one per secret) and other schemes (``v0``)
that are ignored. A delivery is accepted when any ``v1`` matches (compared in constant time
with :func:`hmac.compare_digest`) and ``t`` is within ``tolerance_seconds`` of now — the
official SDK's 300 s default, which bounds replays of a captured request.

The header comes from anyone who can reach the endpoint (no token guards it), decoded from
latin-1, so it is parsed strictly before any arithmetic or comparison: at most
:data:`MAX_HEADER_CHARS` characters and :data:`MAX_ITEMS` comma-separated items, ``t`` once
and as 1 to :data:`MAX_TIMESTAMP_DIGITS` ASCII digits (``str.isdigit`` also accepts ``"²"``,
which ``int`` refuses), every ``v1`` as 64 lower-case hex digits (what Stripe sends: the
hex digest of HMAC-SHA256). Anything else is :class:`WebhookSignatureInvalid` (400), never
an exception of Python's own. The official SDK (``stripe/_webhook.py``,
``WebhookSignature._get_timestamp_and_signatures``) is laxer — it takes the first ``t``
through ``int()`` and compares any ``v1`` string — but every header Stripe sends passes both:
items are split on ``,`` then on the first ``=``, unknown schemes are ignored, and an
upper-case ``v1`` could never match the SDK's lower-case digest either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from core.errors import PermanentError

DEFAULT_TOLERANCE_SECONDS = 300
HEADER = "Stripe-Signature"
MAX_HEADER_CHARS = 2048
"""Longest header accepted: Stripe's is about 150 characters (t, one v1, one v0), 220 while rolling."""
MAX_ITEMS = 16
"""Most comma-separated items accepted: t, one v1 per secret being rolled, v0, room for new schemes."""
MAX_TIMESTAMP_DIGITS = 12
"""Unix seconds have 10 digits until the year 2286; 12 leaves room without accepting absurd numbers."""
_TIMESTAMP = re.compile(rf"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")  # [0-9], not \d: ASCII digits only
_V1 = re.compile(r"[0-9a-f]{64}")
_OWS = " \t"
"""Optional whitespace around an item (RFC 9110 §5.6.3); ``str.strip()`` would take Unicode spaces too."""


class WebhookSignatureInvalid(PermanentError):
    """The webhook's signature is missing, malformed, wrong, or its timestamp is stale (400)."""

    status = 400
    problem = "webhook-signature-invalid"
    title = "Webhook signature invalid"


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """``(t, [v1, …])`` of a ``Stripe-Signature`` value; the rules are in the module docstring.

    Raises:
        WebhookSignatureInvalid: the header is missing or malformed. The message never quotes it.
    """
    if not header:
        raise WebhookSignatureInvalid(f"{HEADER} header is missing")
    if len(header) > MAX_HEADER_CHARS:
        raise WebhookSignatureInvalid(f"{HEADER} is longer than {MAX_HEADER_CHARS} characters")
    items = header.split(",")
    if len(items) > MAX_ITEMS:
        raise WebhookSignatureInvalid(f"{HEADER} has more than {MAX_ITEMS} items")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in items:
        key, _, value = item.strip(_OWS).partition("=")
        if key == "t":
            if timestamp is not None:
                raise WebhookSignatureInvalid(f"{HEADER} has more than one t")
            if not _TIMESTAMP.fullmatch(value):
                raise WebhookSignatureInvalid(f"{HEADER} t must be 1 to {MAX_TIMESTAMP_DIGITS} ASCII digits")
            timestamp = int(value)
        elif key == "v1":
            if not _V1.fullmatch(value):
                raise WebhookSignatureInvalid(f"{HEADER} v1 must be 64 lower-case hex digits")
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureInvalid(f"{HEADER} has no timestamp or no v1 signature")
    return timestamp, signatures


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
        WebhookSignatureInvalid: a missing or malformed header, no valid ``v1`` for any secret,
            or ``t`` outside the tolerance.
    """
    timestamp, signatures = parse_header(header)
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
