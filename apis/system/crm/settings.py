"""Settings of the CRM system API's vendor, Salesforce (``STRATA_SALESFORCE_*``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import SettingsSection


class SalesforceSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Salesforce org behind ``/system/crm/v1``."""

    SECTION: ClassVar[str] = "salesforce"
    SECRETS: ClassVar[tuple[str, ...]] = ("client_secret",)

    url: str = ""
    """Salesforce base URL; empty = the embedded sandbox, in process."""
    client_id: str = ""
    """Connected-app consumer key for the Salesforce client-credentials flow (empty with the embedded
    sandbox: its random one from ``sandbox-credentials.json``, as for the secret)."""
    client_secret: str = ""
    """Connected-app consumer secret (read from the environment or a secret file)."""
