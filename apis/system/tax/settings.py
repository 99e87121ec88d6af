"""Settings of the tax system API's vendor, Avalara AvaTax (``STRATA_AVALARA_*``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import SettingsSection


class AvalaraSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The AvaTax account behind ``/system/tax/v1``."""

    SECTION: ClassVar[str] = "avalara"
    SECRETS: ClassVar[tuple[str, ...]] = ("license_key",)

    url: str = ""
    """AvaTax base URL (``https://rest.avatax.com``, or ``https://sandbox-rest.avatax.com`` for an
    Avalara sandbox account); empty = the embedded sandbox, in process."""
    account_id: str = ""
    """AvaTax account id (the user name of Basic auth; empty with the embedded sandbox: its random one
    from ``sandbox-credentials.json``, as for the license key)."""
    license_key: str = ""
    """AvaTax license key (the password of Basic auth; read from the environment or a secret file)."""
    company_codes: str = "STRATA-US,STRATA-DE,STRATA-GB"
    """The AvaTax company codes our legal entities sell under (``STRATA-<country>`` of each ERP
    legal entity), comma-separated: the preflight checks that each exists in the account."""

    @property
    def companies(self) -> tuple[str, ...]:
        """``company_codes`` split."""
        return tuple(code.strip() for code in self.company_codes.split(",") if code.strip())
