"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1) and secrets at rest.

A secret is ``whsec_`` + base64 of 32 random bytes (the spec allows 24–64); the HMAC key is the
decoded bytes. A delivery carries three headers:

* ``webhook-id`` — the message id, the same on every retry and redelivery (here: the event id);
* ``webhook-timestamp`` — integer seconds since the epoch, when this attempt was signed;
* ``webhook-signature`` — ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per
  secret, space-separated: during a rotation's grace period the new and the old secret both
  sign, and a receiver holding either verifies.

Receivers must reject timestamps more than five minutes off (replay protection). Secrets are
stored as a JWE (``dir`` + ``A256GCM``) under a key derived from the master key for this use
only (see ``policies/oauth/keys.py``, which does the same for signing keys); they are never
logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from core.sealing import Sealer

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
SEAL_PURPOSE = "partner-webhook-secret"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


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


class SecretBox:
    """Encrypts and decrypts webhook secrets with a key derived from the master key (:mod:`core.sealing`)."""

    def __init__(self, master_key: str) -> None:
        self._sealer = Sealer(master_key, SEAL_PURPOSE)

    def seal(self, secret: str) -> str:
        """``secret`` as a compact JWE."""
        return self._sealer.seal(secret.encode())

    def open(self, sealed: str) -> str:
        """The secret inside ``sealed``.

        Raises:
            core.sealing.SealBroken: it was sealed under another master key.
        """
        return self._sealer.open(sealed).decode()
