"""The sandboxes' credentials: random per state directory, in ``<state>/sandbox-credentials.json``.

No credential of a sandbox is written in the code. The first gateway (or ``strata sandboxes
serve``) on a state directory draws every sandbox's credentials at random and writes them,
mode 0600, beside ``demo-clients.json``::

    {"stripe": {"secret_key": "sk_test_…", "webhook_secret": "whsec_…", "admin_token": "…"}, …}

A vendor's entry holds the fields of its settings section the sandbox accepts (the names of
``STRATA_<SECTION>_<FIELD>``) and ``admin_token``, which that sandbox's ``/_control`` API asks
for (``Authorization: Bearer <admin_token>``). The composition root reads the file and hands the
credentials to the connectors by filling the vendor's settings (:func:`with_sandbox_credentials`),
so a connector never knows where its credentials came from.

``STRATA_SANDBOX_CREDENTIALS_FILE`` points a gateway at the file of standalone sandboxes: a
vendor whose URL is set and whose credentials are not takes them from that file (refused in
production: :mod:`gateway.startup_checks`).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from core.settings import SettingsError

if TYPE_CHECKING:
    from gateway.settings import Settings

FILE_NAME = "sandbox-credentials.json"
ADMIN_TOKEN = "admin_token"
"""The key of a sandbox's control-API token in its entry."""
_PARTIAL_FILE_WAIT_SECONDS = 2.0

SandboxCredentials = dict[str, dict[str, str]]
"""Vendor name → its sandbox's settings fields (and ``admin_token``)."""


def _token(prefix: str = "", size: int = 24) -> str:
    return prefix + secrets.token_urlsafe(size)


SECTIONS: dict[str, str] = {
    "salesforce": "salesforce",
    "netsuite": "netsuite",
    "business-central": "business_central",
    "sap-s4hana": "sap_s4hana",
    "oracle-fusion": "oracle_fusion",
    "product-platform": "product_platform",
    "avalara": "avalara",
    "stripe": "stripe",
}
"""Each sandbox's vendor → the settings section its credentials fill (as in ``gateway.vendors.VENDORS``,
which imports this module)."""

GENERATORS: dict[str, Callable[[], dict[str, str]]] = {
    "salesforce": lambda: {"client_id": _token("3MVG9", 30), "client_secret": _token(size=32)},
    "netsuite": lambda: {"client_id": secrets.token_hex(32)},
    "business-central": lambda: {"client_id": str(uuid.uuid4()), "client_secret": _token(size=30)},
    "sap-s4hana": lambda: {
        "user": f"STRATA_COMM_{secrets.token_hex(4).upper()}",
        "password": _token(size=24),
        "client_id": f"sb-{secrets.token_hex(8)}",
        "client_secret": _token(size=24),
    },
    "oracle-fusion": lambda: {
        "user": f"strata.integration.{secrets.token_hex(4)}",
        "password": _token(size=24),
        "client_id": secrets.token_hex(16),
        "client_secret": _token(size=30),
    },
    "product-platform": lambda: {"api_key": _token("pp_test_")},
    "avalara": lambda: {
        "account_id": str(secrets.randbelow(9 * 10**9) + 10**9),
        "license_key": secrets.token_hex(8).upper(),
    },
    "stripe": lambda: {"secret_key": _token("sk_test_"), "webhook_secret": _token("whsec_")},
}
"""How each sandbox's credentials are drawn (shaped like the vendor's own, never a fixed value)."""


def generate() -> SandboxCredentials:
    """Fresh random credentials for every sandbox, each with its own admin token."""
    return {name: {**make(), ADMIN_TOKEN: _token(size=32)} for name, make in GENERATORS.items()}


def credentials_path(settings: Settings) -> Path:
    """The file in force: ``sandbox_credentials_file``, else ``<state>/sandbox-credentials.json``."""
    if settings.sandbox_credentials_file:
        return Path(settings.sandbox_credentials_file)
    return settings.state_path / FILE_NAME


def read_credentials(path: Path) -> SandboxCredentials | None:
    """The credentials in ``path``, or None when there is no such file.

    Raises:
        SettingsError: the file exists but is no credentials file.
    """
    deadline = time.monotonic() + _PARTIAL_FILE_WAIT_SECONDS
    while True:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SettingsError(f"sandbox_credentials_file: cannot read {str(path)!r} ({exc.strerror})") from None
        if raw or time.monotonic() > deadline:
            break
        time.sleep(0.01)  # another process created it a moment ago and is writing it
    try:
        return msgspec.json.decode(raw, type=SandboxCredentials)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise SettingsError(
            f"sandbox_credentials_file: {str(path)!r} is not a sandbox credentials file "
            "(written by strata serve or strata sandboxes serve)"
        ) from None


def load_or_create(path: Path) -> SandboxCredentials:
    """The credentials in ``path``, drawn and written (mode 0600) if the file does not exist yet.

    Several processes may start on one state at once (granian workers): the file is created
    exclusively, so exactly one draws and the others read what it wrote.
    """
    found = read_credentials(path)
    if found is not None:
        return found if set(GENERATORS) <= set(found) else _add_missing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn = generate()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        found = read_credentials(path)
        assert found is not None
        return found
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(drawn, indent=2) + "\n")
    return drawn


def _add_missing(path: Path) -> SandboxCredentials:
    """Draw credentials for the sandboxes a file made by an older release lacks (a new vendor) and
    rewrite it, keeping every entry it had. Under an exclusive lock: processes starting together
    on that state add the same entries (the first writes, the others read what it wrote)."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = read_credentials(path)
        assert found is not None
        missing = {
            name: {**make(), ADMIN_TOKEN: _token(size=32)} for name, make in GENERATORS.items() if name not in found
        }
        if not missing:
            return found
        merged = {**found, **missing}
        partial = path.with_name(path.name + ".new")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps(merged, indent=2) + "\n")
        os.replace(partial, path)  # readers see the old file or the whole new one
        return merged


def credentials_in_force(settings: Settings) -> SandboxCredentials | None:
    """The sandbox credentials this gateway uses, or None when it uses none.

    None in production, and when every vendor has a URL and no ``sandbox_credentials_file`` is
    named. With embedded sandboxes and no such file, the state's file is created if need be; a
    named file must exist (standalone sandboxes write it as they start).

    Raises:
        SettingsError: the named file is missing or no credentials file.
    """
    if settings.mode == "production":
        return None
    path = credentials_path(settings)
    if settings.sandbox_credentials_file:
        found = read_credentials(path)
        if found is None:
            raise SettingsError(
                f"sandbox_credentials_file: {str(path)!r} does not exist (strata sandboxes serve writes "
                "<its state dir>/sandbox-credentials.json as it starts)"
            )
        return found
    if all(getattr(settings, section).url for section in SECTIONS.values()):
        return None
    return load_or_create(path)


def with_sandbox_credentials(settings: Settings) -> Settings:
    """``settings`` with each sandbox's credentials filled in where the vendor's are not set.

    A vendor without a URL (its embedded sandbox), and with ``sandbox_credentials_file`` a vendor
    with a URL too (a standalone sandbox), gets every field of its entry that is empty in its
    settings section; what is configured stays. In production the settings are returned as they are.
    """
    credentials = credentials_in_force(settings)
    if credentials is None:
        return settings
    sections: dict[str, object] = {}
    for name, section_name in SECTIONS.items():
        entry = credentials.get(name)
        if entry is None or (getattr(settings, section_name).url and not settings.sandbox_credentials_file):
            continue
        section = sections.get(section_name, getattr(settings, section_name))
        missing = {
            field: value
            for field, value in entry.items()
            if field != ADMIN_TOKEN and field in section.__struct_fields__ and not getattr(section, field)  # type: ignore[attr-defined]
        }
        if missing:
            sections[section_name] = msgspec.structs.replace(section, **missing)  # type: ignore[type-var]
    return msgspec.structs.replace(settings, **sections) if sections else settings


def admin_token(settings: Settings, vendor: str) -> str:
    """The control-API token of ``vendor``'s sandbox (empty when this gateway has no sandbox credentials)."""
    credentials = credentials_in_force(settings)
    return (credentials or {}).get(vendor, {}).get(ADMIN_TOKEN, "")


def admin_headers(settings: Settings, vendor: str) -> dict[str, str]:
    """The ``Authorization`` header a sandbox's ``/_control`` API asks for."""
    return {"Authorization": f"Bearer {admin_token(settings, vendor)}"}
