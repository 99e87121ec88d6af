"""Small secrets sealed at rest with the master key: JWE compact, ``dir`` + ``A256GCM`` (RFC 7516).

A :class:`Sealer` is built from the master key (:func:`core.master_key.resolve_master_key`)
and a *purpose*: the content key is the purpose's key (:func:`core.master_key.derive_key`), so a value
sealed for one purpose (console sessions, webhook secrets, ...) cannot be opened as another's.
A sealed value also binds an *aad* string (e.g. the row id) when one is given, so a sealed
value copied onto another row does not open there.
"""

from __future__ import annotations

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from core.master_key import derive_key

_ALGORITHMS = ["dir", "A256GCM"]


class SealBroken(ValueError):
    """A sealed value cannot be opened: another master key, another purpose, or tampered."""


class Sealer:
    """Seals and opens short byte strings under a key derived from the master key."""

    def __init__(self, master_key: str, purpose: str) -> None:
        self._key = OctKey.import_key(derive_key(master_key, purpose))

    def seal(self, plaintext: bytes, aad: str = "") -> str:
        """The JWE compact serialization of ``plaintext``."""
        # The binding travels inside the authenticated plaintext (joserfc refuses unregistered
        # header parameters), ahead of a NUL that an aad string cannot contain.
        if "\x00" in aad:
            raise ValueError("aad must not contain NUL")
        bound = aad.encode("utf-8") + b"\x00" + plaintext
        return jwe.encrypt_compact({"alg": "dir", "enc": "A256GCM"}, bound, self._key, algorithms=_ALGORITHMS)

    def open(self, sealed: str, aad: str = "") -> bytes:
        """The plaintext of ``sealed``; :class:`SealBroken` if it does not open (or ``aad`` differs)."""
        try:
            obj = jwe.decrypt_compact(sealed, self._key, algorithms=_ALGORITHMS)
        except (JoseError, ValueError):
            raise SealBroken("the sealed value does not open with this key") from None
        bound_to, _, plaintext = (obj.plaintext or b"").partition(b"\x00")
        if bound_to != aad.encode("utf-8"):
            raise SealBroken("the sealed value belongs to another record")
        return plaintext
