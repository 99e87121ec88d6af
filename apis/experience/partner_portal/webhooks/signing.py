"""Partner webhook secrets at rest; the signatures themselves are :mod:`core.webhook_signing`'s
(Standard Webhooks v1, shared with the alert webhook) and re-exported here.

Secrets are stored as a JWE (``dir`` + ``A256GCM``) under a key derived from the master key for
this use only (see ``policies/oauth/keys.py``, which does the same for signing keys); they are
never logged.
"""

from __future__ import annotations

from core.sealing import Sealer
from core.webhook_signing import SECRET_PREFIX, new_secret, sign, signature_header

__all__ = ["SEAL_PURPOSE", "SECRET_PREFIX", "SecretBox", "new_secret", "sign", "signature_header"]

SEAL_PURPOSE = "partner-webhook-secret"


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
