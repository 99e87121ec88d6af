"""Settings of the ERP system API: which ERP serves it, and each ERP's own section.

``STRATA_ERP_VENDOR`` picks the connector (:data:`apis.system.erp.vendors.ERP_VENDORS`);
``STRATA_NETSUITE_*`` and ``STRATA_BUSINESS_CENTRAL_*`` configure each of them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from core.settings import SettingsSection

ErpVendor = Literal["netsuite", "business-central", "sap-s4hana"]
"""The ERPs a connector exists for (the keys of ``ERP_VENDORS``)."""


class ErpSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The choice of ERP behind ``/system/erp/v1``."""

    SECTION: ClassVar[str] = "erp"

    vendor: ErpVendor = "netsuite"
    """Which ERP serves ``/system/erp/v1``: ``netsuite`` or ``business-central``."""


class NetSuiteSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A NetSuite account (SuiteTalk REST, machine-to-machine OAuth)."""

    SECTION: ClassVar[str] = "netsuite"
    SECRETS: ClassVar[tuple[str, ...]] = ("private_key",)

    url: str = ""
    """NetSuite account base URL (``https://<account>.suitetalk.api.netsuite.com``); empty = the
    embedded sandbox, in process."""
    client_id: str = ""
    """Client id of the integration record (the JWT assertion's ``iss``; empty with the embedded sandbox:
    its random one from ``sandbox-credentials.json``)."""
    certificate_id: str = ""
    """Certificate id NetSuite showed when the public key was uploaded (the assertion's ``kid``).
    Empty with the embedded sandbox: a key pair is generated at start and its certificate uploaded."""
    private_key: str = ""
    """PEM private key of that certificate (RSA for PS256/384/512; EC P-256, P-384 or P-521 for
    ES256/384/512); never logged."""
    private_key_file: str = ""
    """File holding the PEM private key (a secret mount), read when ``netsuite_private_key`` is empty."""
    signing_algorithm: Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] = "PS256"
    """Signature algorithm of the JWT client assertion (Oracle accepts these six; not RS256)."""
    max_concurrency: int = 4
    """Requests in flight to NetSuite from this process (1-64); keep it under the account's limit."""
    timeout_ms: int = 10_000
    """Deadline of one NetSuite exchange, in milliseconds (1-300000)."""
    max_retries: int = 3
    """Retries of a read, an ``eid:`` upsert or an idempotency-keyed posting (0-10)."""
    backoff_base_ms: int = 500
    """First retry backoff in milliseconds (doubles per retry, full jitter; 0-60000)."""
    backoff_max_ms: int = 30_000
    """Longest backoff in milliseconds; a longer ``Retry-After`` is answered as 503 instead (1-600000)."""
    lists_file: str = ""
    """JSON file with the account's internal ids of currencies, GL accounts and terms
    (``{"currencies": {"EUR": "2"}, "accounts": {"4000": "54"}, "terms": {"Net 30": "3"},
    "base_currency": "USD"}``); empty = the sandbox account's ids."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_range("max_concurrency", 1, 64)
        self.check_range("timeout_ms", 1, 300_000)
        self.check_range("max_retries", 0, 10)
        self.check_range("backoff_base_ms", 0, 60_000)
        self.check_range("backoff_max_ms", 1, 600_000)


class BusinessCentralSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A Business Central environment (API v2.0, Entra ID client credentials)."""

    SECTION: ClassVar[str] = "business_central"
    SECRETS: ClassVar[tuple[str, ...]] = ("client_secret",)

    url: str = ""
    """Business Central API host (``https://api.businesscentral.dynamics.com``); empty = the
    embedded sandbox, in process (its token endpoint too)."""
    login_url: str = "https://login.microsoftonline.com"
    """Entra ID authority the client-credentials token is asked from when ``business_central_url`` is set."""
    tenant_id: str = "strata-sandbox.onmicrosoft.com"
    """Entra tenant (id or domain) of the Business Central environment."""
    environment: str = "sandbox"
    """Business Central environment name (``production``, ``sandbox``, ...)."""
    client_id: str = ""
    """Entra application (client) id with the ``API.ReadWrite.All`` application permission (empty with
    the embedded sandbox: its random one from ``sandbox-credentials.json``, as for the secret)."""
    client_secret: str = ""
    """Its client secret (read from the environment or a secret file)."""
    company: str = "Strata Inc."
    """Company (legal entity) used where a call names none: new customers, items, periods."""
    timeout_ms: int = 10_000
    """Deadline of one Business Central (or Entra) exchange."""
    max_retries: int = 3
    """Retries of a read, and of each write step of a check-before-create procedure."""
    backoff_base_ms: int = 500
    """First backoff step (doubles per retry, full jitter; never shorter than ``Retry-After``)."""
    backoff_max_ms: int = 30_000
    """Longest backoff; a longer ``Retry-After`` is raised as a retryable error instead."""


class SapS4HanaSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An SAP S/4HANA Cloud (public edition) tenant, reached through communication arrangements."""

    SECTION: ClassVar[str] = "sap_s4hana"
    SECRETS: ClassVar[tuple[str, ...]] = ("password", "client_secret")

    url: str = ""
    """API host of the tenant (``https://my123456-api.s4hana.cloud.sap``); empty = the embedded sandbox."""
    auth: Literal["basic", "oauth2"] = "basic"
    """``basic``: the communication user's name and password; ``oauth2``: client credentials of the
    communication arrangement's OAuth 2.0 client."""
    token_url: str = ""
    """OAuth 2.0 token endpoint (empty: ``<url>/sap/bc/sec/oauth2/token``)."""
    user: str = ""
    """Communication user (``auth=basic``; empty with the embedded sandbox: its random one)."""
    password: str = ""
    """Its password (read from the environment or a secret file)."""
    client_id: str = ""
    """OAuth 2.0 client id (``auth=oauth2``)."""
    client_secret: str = ""
    """Its secret."""
    company_code: str = "1710"
    """Company code used where a call names none: new customers, items' prices, posting periods."""
    sales_organization: str = ""
    """Sales organisation of ``company_code`` (empty: the company code's number, as SAP's best practices number it)."""
    distribution_channel: str = "10"
    """Distribution channel of new customers' sales area and of orders."""
    division: str = "00"
    """Division of new customers' sales area and of orders."""
    timeout_ms: int = 10_000
    """Deadline of one exchange with the tenant, in milliseconds (1-300000)."""
    max_retries: int = 3
    """Retries of a read, and of each write step of a check-before-create procedure (0-10)."""
    backoff_base_ms: int = 500
    """First retry backoff in milliseconds (doubles per retry, full jitter; 0-60000)."""
    backoff_max_ms: int = 30_000
    """Longest backoff; a longer ``Retry-After`` is raised as a retryable error instead (1-600000)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_range("timeout_ms", 1, 300_000)
        self.check_range("max_retries", 0, 10)
        self.check_range("backoff_base_ms", 0, 60_000)
        self.check_range("backoff_max_ms", 1, 600_000)
