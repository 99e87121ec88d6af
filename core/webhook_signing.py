"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1): one scheme for every
webhook the gateway sends (partners' subscriptions and the operator's alert webhook).

A secret is ``whsec_`` + base64 of 32 random bytes (the spec allows 24–64); the HMAC key is the
decoded bytes. A delivery carries three headers:

* ``webhook-id`` — the message id, the same on every retry and redelivery (here: the event id);
* ``webhook-timestamp`` — integer seconds since the epoch, when this attempt was signed;
* ``webhook-signature`` — ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per
  secret, space-separated: during a rotation's grace period the new and the old secret both
  sign, and a receiver holding either verifies.

Receivers must reject timestamps more than five minutes off (replay protection).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def is_secret(value: str) -> bool:
    """Whether ``value`` is a usable secret: ``whsec_`` + base64 of 24 to 64 bytes."""
    if not value.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64


def _key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One ``v1,<signature>`` of a message under ``secret``."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key_bytes(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(message_id: str, timestamp: int, body: bytes, signing_secrets: Iterable[str]) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(message_id, timestamp, body, secret) for secret in signing_secrets)


def signed_headers(message_id: str, timestamp: int, body: bytes, signing_secrets: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(message_id, timestamp, body, signing_secrets),
    }
