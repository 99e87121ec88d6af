"""The master key that encrypts signing keys at rest.

From ``STRATA_MASTER_KEY``, else the file named by ``STRATA_MASTER_KEY_FILE`` (a secret
mount), else — the embedded default — ``<state dir>/master.key``, created once with mode
0600. Losing it makes the stored signing keys unreadable (new ones are then issued by
``strata keys rotate`` on a fresh state); it is never logged.

Nothing uses the master key itself as a key: :func:`derive_key` gives each purpose (sealing console
sessions, sealing webhook secrets, signing list cursors, ...) a key of its own, so a value made for
one purpose is worthless for another.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from core.settings import CoreSettings, SettingsError

MASTER_KEY_FILE_NAME = "master.key"
MIN_MASTER_KEY_LENGTH = 32


def resolve_master_key(settings: CoreSettings) -> str:
    """The master key for these settings, creating the embedded default file if needed."""
    if settings.master_key:
        return _checked(settings.master_key, "master_key")
    if settings.master_key_file:
        try:
            return _checked(Path(settings.master_key_file).read_text().strip(), "master_key_file")
        except OSError as exc:
            raise SettingsError(f"master_key_file: cannot read {settings.master_key_file!r} ({exc.strerror})") from None
    path = settings.state_path / MASTER_KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _checked(path.read_text().strip(), str(path))
    with os.fdopen(descriptor, "w") as handle:
        key = secrets.token_urlsafe(32)
        handle.write(key + "\n")
    return key


def derive_key(master_key: str, purpose: str) -> bytes:
    """The 32-byte key of ``purpose`` under ``master_key``: SHA-256 of ``strata:<purpose>:`` and the key.

    The purpose comes first and ends at a colon, so no two purposes share a key; the master key is
    at least :data:`MIN_MASTER_KEY_LENGTH` random characters, so the digest is as good as a KDF here.
    """
    return hashlib.sha256(f"strata:{purpose}:".encode() + master_key.encode("utf-8")).digest()


def _checked(key: str, source: str) -> str:
    if len(key) < MIN_MASTER_KEY_LENGTH:
        raise SettingsError(f"{source}: the master key must be at least {MIN_MASTER_KEY_LENGTH} characters")
    return key
