"""Client secrets: generation, salted HMAC storage and constant-time verification.

RFC 6749 §2.3.1 leaves the form of a client password to the server. Strata issues
high-entropy random secrets (256 bits, URL-safe), so a slow password hash adds nothing: a
keyed HMAC-SHA256 with a per-client random salt is enough to make the stored value useless
to anyone who reads the database, and it verifies in microseconds on the token endpoint.
Secrets are shown once, at creation, and never stored or logged in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32
"""Entropy of a generated client secret (bytes before base64url encoding)."""
SALT_BYTES = 16
"""Size of the per-client HMAC key."""


def generate_secret() -> str:
    """A fresh client secret: 32 random bytes, base64url without padding (43 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def generate_salt() -> str:
    """A fresh per-client salt, hex encoded."""
    return secrets.token_hex(SALT_BYTES)


def hash_secret(secret: str, salt: str) -> str:
    """HMAC-SHA256 of ``secret`` keyed by ``salt`` (hex), as a hex string."""
    return hmac.new(bytes.fromhex(salt), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_secret(secret: str, salt: str, expected_hash: str) -> bool:
    """Whether ``secret`` matches the stored hash; constant time in the secret's content."""
    try:
        candidate = hash_secret(secret, salt)
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(candidate, expected_hash)
