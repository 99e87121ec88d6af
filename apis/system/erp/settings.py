"""Settings of the ERP system API: which ERP serves it, and each ERP's own section.

``STRATA_ERP_VENDOR`` picks the connector (:data:`apis.system.erp.vendors.ERP_VENDORS`);
``STRATA_NETSUITE_*``, ``STRATA_BUSINESS_CENTRAL_*`` and ``STRATA_ORACLE_FUSION_*`` configure each of them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from core.settings import SettingsSection

ErpVendor = Literal["netsuite", "business-central", "sap-s4hana", "oracle-fusion"]
"""The ERPs a connector exists for (the keys of ``ERP_VENDORS``)."""


def unused_credentials(auth: Literal["basic", "oauth2"]) -> tuple[str, ...]:
    """Of an ERP reached by Basic (``user``, ``password``) or OAuth 2.0 client credentials
    (``client_id``, ``client_secret``): the pair the configured ``auth`` does not use."""
    return ("client_id", "client_secret") if auth == "basic" else ("user", "password")


class ErpSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The choice of ERP behind ``/system/erp/v1``."""

    SECTION: ClassVar[str] = "erp"

    vendor: ErpVendor = "netsuite"
    """Which ERP serves ``/system/erp/v1``: ``netsuite``, ``business-central``, ``sap-s4hana`` or ``oracle-fusion``."""


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
    """Requests in flight to the NetSuite account (1-64): across every gateway process when
    ``redis_url`` is set, per process otherwise; keep it under the account's concurrency limit."""
    concurrency_on_redis_error: Literal["allow", "deny"] = "allow"
    """When Redis fails, ``allow`` caps per process only (NetSuite's 429 beyond its limit is
    retried); ``deny`` refuses NetSuite calls (a retryable 503) until Redis is back."""
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

    def unused_credentials(self) -> tuple[str, ...]:
        """The credential fields of the auth scheme not configured (not needed, so never required)."""
        return unused_credentials(self.auth)


class OracleFusionSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An Oracle Fusion Cloud ERP pod (Financials REST, Basic or OAuth 2.0 through the identity domain)."""

    SECTION: ClassVar[str] = "oracle_fusion"
    SECRETS: ClassVar[tuple[str, ...]] = ("password", "client_secret")

    url: str = ""
    """The pod's base URL (``https://<pod>.fa.<dc>.oraclecloud.com``); empty = the embedded sandbox, in process."""
    api_version: str = "11.13.18.05"
    """The REST resource version in every path (``/fscmRestApi/resources/<version>/...``)."""
    framework_version: str = "4"
    """``REST-Framework-Version`` sent on every call (4: ``o:errorDetails`` error bodies, row-match ``q``)."""
    auth: Literal["basic", "oauth2"] = "basic"
    """``basic`` (an integration user's name and password) or ``oauth2`` (client credentials at ``token_url``)."""
    user: str = ""
    """Integration user (Basic); empty with the embedded sandbox: its random one."""
    password: str = ""
    """Its password (read from the environment or a secret file; never logged)."""
    client_id: str = ""
    """Confidential application's client id in the identity domain (``oauth2``)."""
    client_secret: str = ""
    """Its client secret (``oauth2``; never logged)."""
    token_url: str = ""
    """The identity domain's token endpoint (``https://idcs-<id>.identity.oraclecloud.com/oauth2/v1/token``);
    empty = ``<url>/oauth2/v1/token`` (the sandbox's)."""
    scope: str = ""
    """Scope asked for with the client-credentials grant (the pod's ``urn:opc:resource:...`` audience)."""
    business_unit: str = "Strata Inc. BU"
    """Business unit used where a call names none (items, periods, new customers without a currency match)."""
    legal_entity: str = ""
    """Legal entity (name) of new customers without a currency match; empty = the business unit's."""
    transaction_source: str = "Strata Manual"
    """Receivables transaction source with manual numbering (our ``TransactionNumber`` is the dedup key)."""
    invoice_type: str = "Invoice"
    """Receivables transaction type of invoices."""
    credit_memo_type: str = "Credit Memo"
    """Receivables transaction type of credit memos."""
    receipt_method: str = "Manual"
    """Receipt method of standard receipts."""
    remittance_bank_account: str = "10271-17621-619"
    """Remittance bank account number of standard receipts."""
    journal_source: str = "Strata"
    """Journal source of journal batches."""
    journal_category: str = "Adjustment"
    """Journal category of journal batches."""
    order_hub: Literal["order-hub", "draft-receivable", "skip"] = "order-hub"
    """How sales orders are recorded: ``order-hub`` (Order Management's ``salesOrdersForOrderHub``),
    ``draft-receivable`` (Financials only: an incomplete receivables transaction, completed when
    invoiced) or ``skip`` (sales orders refused; invoices posted without one)."""
    source_system: str = "STRATA"
    """The source system Strata's references belong to (registered in Manage Trading Community Source
    Systems, enabled for Order Management with the order hub): customers' ``SourceSystem`` and order-hub
    orders' ``SourceTransactionSystem``."""
    timeout_ms: int = 10_000
    """Deadline of one Oracle (or identity domain) exchange, in milliseconds (1-300000)."""
    max_retries: int = 3
    """Retries of a read, and of each write step of a check-before-create procedure (0-10)."""
    backoff_base_ms: int = 500
    """First backoff in milliseconds (doubles per retry, full jitter; 0-60000)."""
    backoff_max_ms: int = 30_000
    """Longest backoff; a longer ``Retry-After`` is raised as a retryable error instead (1-600000)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_range("timeout_ms", 1, 300_000)
        self.check_range("max_retries", 0, 10)
        self.check_range("backoff_base_ms", 0, 60_000)
        self.check_range("backoff_max_ms", 1, 600_000)

    def unused_credentials(self) -> tuple[str, ...]:
        """The credential fields of the auth scheme not configured (not needed, so never required)."""
        return unused_credentials(self.auth)
