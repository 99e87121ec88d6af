"""Each vendor, real or simulated: the composition root's one place for that choice.

For every vendor a system API talks to, :data:`VENDORS` says which settings section holds its
URL and credentials and how its sandbox is built. While the URL is empty the vendor is its
sandbox, in process: mounted under ``/sandbox/<name>`` (:mod:`gateway.sandbox_apps`) and
reached over ``httpx.ASGITransport`` at ``http://<name>.sandbox``; with the URL set it is the
network. :class:`VendorLinks` turns that choice into the
:class:`~apis.system.kit.link.VendorLink` each connector is handed — a traced client, the base
URL, the credentials and the vendor's circuit breaker — so nothing under ``apis/system``
knows that sandboxes exist.

Credentials come from the vendor's settings; for a sandbox, the composition root has filled
them from the sandbox credentials file (:mod:`gateway.sandbox_credentials`: random per state
directory, never a constant). NetSuite's with no configured key: the root generates a key pair
and uploads its certificate to the sandbox's control API with the sandbox's admin token (as an
administrator uploads one to the integration record), in process or at a standalone sandbox's
URL (``strata sandboxes serve``); a URL that refuses the upload is no sandbox, and the start
stops with a :class:`~core.settings.SettingsError` naming the settings to set. In production no
sandbox is ever built (nor a ``sandboxes`` module imported): a vendor without a URL is an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
from joserfc.jwk import ECKey, RSAKey

from core.settings import SettingsError
from core.tracing import TracedClient
from gateway.sandbox_credentials import admin_token

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from apis.system.erp.connectors.netsuite_http import NetSuiteCredentials
    from apis.system.erp.settings import NetSuiteSettings
    from apis.system.kit.circuit_breaker import CircuitBreaker
    from apis.system.kit.link import ApiKey, BasicCredentials, ClientSecret, VendorLink
    from gateway.settings import Settings

SANDBOX_SETUP_TIMEOUT_SECONDS = 10.0
"""Deadline of the certificate upload to a standalone NetSuite sandbox."""


@dataclass(frozen=True)
class Reach:
    """Where a vendor is reached: its base URL, and its sandbox app when it is one, in process."""

    base_url: str
    sandbox: Any | None = None
    admin_token: str = ""
    """The sandbox's control-API token, when the vendor is a sandbox (in process or standalone)."""

    def control_client(self) -> httpx.AsyncClient:
        """A plain client for set-up calls to a sandbox's control API (not vendor traffic: no trace, no breaker)."""
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        if self.sandbox is not None:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.sandbox), base_url=self.base_url, headers=headers
            )
        return httpx.AsyncClient(base_url=self.base_url, timeout=SANDBOX_SETUP_TIMEOUT_SECONDS, headers=headers)


class Vendor(NamedTuple):
    """One vendor a system API talks to."""

    name: str
    """The link's name, the sandbox's path segment (``/sandbox/<name>``) and, for an ERP, the
    ``STRATA_ERP_VENDOR`` value."""
    section: str
    """The settings section holding its ``url`` (the sandbox replaces it while empty) and credentials."""
    peer: str
    """Its name for the circuit breaker, metrics and traces."""
    credentials: Callable[[Settings, Reach], Awaitable[Any]]
    """The credentials its connector authenticates with."""
    sandbox: Callable[[Settings, Path, str], Any]
    """Builds its sandbox app from the settings, a state directory and its admin token."""
    credential_fields: tuple[str, ...]
    """The fields of its section holding its credentials: filled from the sandbox credentials file
    for a sandbox, required (and never a sandbox's value) with a URL."""
    authority: Callable[[Settings], str] | None = None
    """Base URL of its authorization server when not under its own URL (real vendor only)."""

    def url(self, settings: Settings) -> str:
        """The configured URL of the real vendor (empty: the sandbox)."""
        url: str = getattr(settings, self.section).url
        return url


# -- credentials ----------------------------------------------------------------------------------
async def _salesforce_credentials(settings: Settings, _: Reach) -> ClientSecret:
    from apis.system.kit.link import ClientSecret

    return ClientSecret(settings.salesforce.client_id, settings.salesforce.client_secret)


async def _business_central_credentials(settings: Settings, _: Reach) -> ClientSecret:
    from apis.system.kit.link import ClientSecret

    return ClientSecret(settings.business_central.client_id, settings.business_central.client_secret)


def _basic_or_client(section: str) -> Callable[[Settings, Reach], Awaitable[BasicCredentials | ClientSecret]]:
    """Credentials of an ERP reached by Basic or OAuth 2.0 client credentials (SAP, Oracle), as the
    section's ``auth`` says: the communication/integration user's, or the client's."""

    async def credentials(settings: Settings, _: Reach) -> BasicCredentials | ClientSecret:
        from apis.system.kit.link import BasicCredentials, ClientSecret

        erp = getattr(settings, section)
        if erp.auth == "oauth2":
            return ClientSecret(erp.client_id, erp.client_secret)
        return BasicCredentials(erp.user, erp.password)

    return credentials


async def _product_platform_credentials(settings: Settings, _: Reach) -> ApiKey:
    from apis.system.kit.link import ApiKey

    return ApiKey(settings.product_platform.api_key)


async def _avalara_credentials(settings: Settings, _: Reach) -> BasicCredentials:
    from apis.system.kit.link import BasicCredentials

    return BasicCredentials(settings.avalara.account_id, settings.avalara.license_key)


async def _stripe_credentials(settings: Settings, _: Reach) -> ApiKey:
    from apis.system.kit.link import ApiKey

    return ApiKey(settings.stripe.secret_key)


async def _netsuite_credentials(settings: Settings, reach: Reach) -> NetSuiteCredentials:
    """The configured certificate and key; else a key whose certificate is uploaded to the sandbox."""
    # Imported here: the start-up checks read this module before the CLI sets up the metrics'
    # multiprocess mode, and the connector's modules define metrics.
    from apis.system.erp.connectors.netsuite_http import NetSuiteCredentials, load_private_key

    netsuite = settings.netsuite
    key = load_private_key(netsuite)
    if not reach.admin_token:  # the real NetSuite: no control API to upload to
        if key is None:
            raise SettingsError(
                "netsuite_private_key (or netsuite_private_key_file) and netsuite_certificate_id are required "
                "with netsuite_url (or, for a standalone sandbox, sandbox_credentials_file)"
            )
        if not netsuite.certificate_id:
            raise SettingsError("netsuite_certificate_id: required with netsuite_private_key (the JWT kid)")
        return NetSuiteCredentials(netsuite.client_id, netsuite.certificate_id, key, netsuite.signing_algorithm)
    async with reach.control_client() as control:
        return await register_sandbox_certificate(control, netsuite, key)


def generate_key(algorithm: str) -> RSAKey | ECKey:
    """A fresh signing key: EC P-256 for ES256, RSA 2048 for PS256."""
    return ECKey.generate_key("P-256") if algorithm == "ES256" else RSAKey.generate_key(2048)


@cache
def sandbox_signing_key(algorithm: str) -> RSAKey | ECKey:
    """One generated key per process and algorithm for sandbox certificates.

    It only ever authenticates to a simulator, and an RSA key costs 0.1–0.7 s to generate:
    every gateway a test suite starts would otherwise make one.
    """
    return generate_key(algorithm)


async def register_sandbox_certificate(
    control: httpx.AsyncClient, settings: NetSuiteSettings, key: RSAKey | ECKey | None
) -> NetSuiteCredentials:
    """Upload the public key through the sandbox's control API (a generated key unless one is configured).

    ``control`` is bound to the sandbox's base URL.

    Raises:
        SettingsError: the URL is not a NetSuite sandbox taking certificate uploads.
    """
    from apis.system.erp.connectors.netsuite_http import NetSuiteCredentials

    algorithm = settings.signing_algorithm
    key = key or sandbox_signing_key(algorithm)
    certificate_id = settings.certificate_id or f"cert-{uuid.uuid4().hex[:16]}"
    upload = {
        "client_id": settings.client_id,
        "certificate_id": certificate_id,
        "public_key_pem": key.as_pem(private=False).decode(),
    }
    try:
        response = await control.post("/_control/certificates", json=upload)
        status, reason = response.status_code, f"it answered {response.status_code}"
    except httpx.HTTPError as error:
        status, reason = 0, type(error).__name__
    if status != 201:
        raise SettingsError(
            "netsuite_private_key (or netsuite_private_key_file) and netsuite_certificate_id are required: "
            f"{control.base_url} took no certificate upload ({reason}), so it is no NetSuite sandbox"
        )
    return NetSuiteCredentials(settings.client_id, certificate_id, key, algorithm)


# -- sandboxes ------------------------------------------------------------------------------------
def _salesforce_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.salesforce import create_salesforce_sandbox

    crm = settings.salesforce
    return create_salesforce_sandbox(
        state_dir=state_dir, client_id=crm.client_id, client_secret=crm.client_secret, admin_token=token
    )


def _netsuite_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.netsuite import create_netsuite_sandbox

    # No certificate is registered here: the root uploads its public key through the sandbox's
    # POST /_control/certificates when it builds the link (see _netsuite_credentials).
    return create_netsuite_sandbox(state_dir=state_dir, client_id=settings.netsuite.client_id, admin_token=token)


def _business_central_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.business_central import create_business_central_sandbox

    bc = settings.business_central
    return create_business_central_sandbox(
        state_dir=state_dir,
        tenant=bc.tenant_id,
        environment=bc.environment,
        client_id=bc.client_id,
        client_secret=bc.client_secret,
        admin_token=token,
    )


def _basic_or_client_sandbox(
    section: str, factory: Callable[[], Callable[..., Any]]
) -> Callable[[Settings, Path, str], Any]:
    """The sandbox builder of an ERP reached by Basic or OAuth 2.0 (SAP, Oracle): it accepts both
    credential pairs of the section; ``factory`` imports its ``create_*_sandbox`` when first built."""

    def build(settings: Settings, state_dir: Path, token: str) -> Any:
        erp = getattr(settings, section)
        return factory()(
            state_dir=state_dir, user=erp.user, password=erp.password, client_id=erp.client_id,
            client_secret=erp.client_secret, admin_token=token,
        )  # fmt: skip

    return build


def _create_sap_s4hana_sandbox() -> Callable[..., Any]:
    from sandboxes.sap_s4hana import create_sap_s4hana_sandbox

    return create_sap_s4hana_sandbox


def _create_oracle_fusion_sandbox() -> Callable[..., Any]:
    from sandboxes.oracle_fusion import create_oracle_fusion_sandbox

    return create_oracle_fusion_sandbox


def _product_platform_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.product_platform import create_product_platform_sandbox

    return create_product_platform_sandbox(
        state_dir=state_dir, api_key=settings.product_platform.api_key, admin_token=token
    )


def _avalara_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.avalara import create_avalara_sandbox

    tax = settings.avalara
    return create_avalara_sandbox(
        state_dir=state_dir, account_id=tax.account_id, license_key=tax.license_key, admin_token=token
    )


def _stripe_sandbox(settings: Settings, state_dir: Path, token: str) -> Any:
    from sandboxes.stripe import create_stripe_sandbox

    stripe = settings.stripe
    return create_stripe_sandbox(
        state_dir=state_dir,
        secret_key=stripe.secret_key,
        admin_token=token,
        webhook_url=stripe.webhook_url,
        webhook_secret=stripe.webhook_secrets[0] if stripe.webhook_secrets else "",
    )


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "salesforce",
        "salesforce",
        "salesforce",
        _salesforce_credentials,
        _salesforce_sandbox,
        ("client_id", "client_secret"),
    ),
    Vendor("netsuite", "netsuite", "netsuite", _netsuite_credentials, _netsuite_sandbox, ("client_id",)),
    Vendor(
        "business-central",
        "business_central",
        "business_central",
        _business_central_credentials,
        _business_central_sandbox,
        ("client_id", "client_secret"),
        authority=lambda settings: settings.business_central.login_url,
    ),
    Vendor(
        "sap-s4hana",
        "sap_s4hana",
        "sap_s4hana",
        _basic_or_client("sap_s4hana"),
        _basic_or_client_sandbox("sap_s4hana", _create_sap_s4hana_sandbox),
        ("user", "password", "client_id", "client_secret"),
        authority=lambda settings: settings.sap_s4hana.token_url,
    ),
    Vendor(
        "oracle-fusion",
        "oracle_fusion",
        "oracle_fusion",
        _basic_or_client("oracle_fusion"),
        _basic_or_client_sandbox("oracle_fusion", _create_oracle_fusion_sandbox),
        ("user", "password", "client_id", "client_secret"),
        authority=lambda settings: settings.oracle_fusion.token_url,
    ),
    Vendor(
        "product-platform",
        "product_platform",
        "product-platform",
        _product_platform_credentials,
        _product_platform_sandbox,
        ("api_key",),
    ),
    Vendor("avalara", "avalara", "avalara", _avalara_credentials, _avalara_sandbox, ("account_id", "license_key")),
    Vendor("stripe", "stripe", "stripe", _stripe_credentials, _stripe_sandbox, ("secret_key", "webhook_secret")),
)
"""Every vendor reached over HTTP, in sandbox mount order."""
VENDOR_BY_NAME = {vendor.name: vendor for vendor in VENDORS}


def sandbox_base_url(name: str) -> str:
    """The base URL a connector is given for a sandbox in process (``http://<name>.sandbox``)."""
    return f"http://{name}.sandbox"


class VendorLinks:
    """Builds the link to each vendor for one gateway process."""

    def __init__(
        self,
        settings: Settings,
        *,
        sandbox_apps: dict[str, Any],
        breaker: Callable[[str], CircuitBreaker],
        tracer: Tracer | None,
    ) -> None:
        """
        Args:
            settings: the full settings.
            sandbox_apps: the sandbox apps mounted in this process, by vendor name (read when a
                link is built, so a test may wrap one before the start); a sandbox missing from it
                is built and added.
            breaker: the circuit breaker of a vendor in this process, by its peer name.
            tracer: makes every vendor exchange a client span (None: tracing off).
        """
        self.settings = settings
        self.sandbox_apps = sandbox_apps
        self._breaker = breaker
        self._tracer = tracer

    async def link(self, name: str) -> VendorLink[Any]:
        """The link to vendor ``name``: the network while its URL is set, else its sandbox in process."""
        from apis.system.kit.link import VendorLink

        vendor = VENDOR_BY_NAME[name]
        url = vendor.url(self.settings)
        if not url and self.settings.mode == "production":
            raise SettingsError(f"{vendor.section}_url: required in production (no sandbox is ever mounted)")
        if url:
            # A standalone sandbox named by sandbox_credentials_file takes the certificate upload.
            standalone = bool(self.settings.sandbox_credentials_file) and self.settings.mode != "production"
            reach = Reach(url.rstrip("/"), admin_token=admin_token(self.settings, name) if standalone else "")
            client: httpx.AsyncClient = TracedClient(tracer=self._tracer, peer_service=vendor.peer)
            authority = vendor.authority(self.settings) if vendor.authority is not None else ""
        else:
            app = self.sandbox_apps.get(name)
            if app is None:
                app = self.sandbox_apps[name] = build_sandbox(vendor, self.settings)
            reach = Reach(sandbox_base_url(name), app, admin_token(self.settings, name))
            client = TracedClient(
                transport=httpx.ASGITransport(app=app),
                base_url=reach.base_url,
                tracer=self._tracer,
                peer_service=vendor.peer,
            )
            authority = ""
        try:
            credentials = await vendor.credentials(self.settings, reach)
        except BaseException:
            await client.aclose()
            raise
        return VendorLink(
            client=client,
            base_url=url or reach.base_url,
            credentials=credentials,
            breaker=self._breaker(vendor.peer),
            auth_url=authority,
            redis_url=self.settings.redis_url,
        )


def build_sandbox(vendor: Vendor, settings: Settings) -> Any:
    """The sandbox app of ``vendor`` on this state, with its admin token from the credentials file."""
    return vendor.sandbox(settings, sandbox_state_dir(settings, vendor.name), admin_token(settings, vendor.name))


def sandbox_state_dir(settings: Settings, name: str) -> Path:
    """Where the sandbox of vendor ``name`` persists its state (under the state directory)."""
    return settings.state_path / "sandboxes" / name
