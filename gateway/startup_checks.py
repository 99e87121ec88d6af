"""What a gateway refuses to start with: one line per problem, naming the setting and the fix.

In **every** mode a vendor URL set together with an empty credential or a sandbox's own
credential is refused: placeholder credentials never travel to a real vendor. A demo gateway
with mounted sandboxes listens on loopback only, unless ``allow_public_sandboxes``.

In **production** (``STRATA_MODE=production``, ``strata serve --production``) nothing of the
demo world may be left: no sandbox for any vendor the configuration uses (every system API is
served, and the ERP of ``erp_vendor``), no secret left empty or at a sandbox's value, no master
key created on the fly, no plain ``http://`` issuer on a public host, no per-process backend
(SQLite, in-memory rate limits, in-memory lock-out counters) shared by several workers, no demo
seeding, no sandbox credentials file, no alert mail in the clear to another machine.

:func:`startup_problems` only reads settings and files: the CLI prints its lines and exits 2
before anything starts, and the ASGI factory refuses the same list (:mod:`gateway.asgi`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from apis.system.erp.vendors import ERP_VENDORS
from core.master_key import MASTER_KEY_FILE_NAME
from gateway.sandbox_credentials import ADMIN_TOKEN, FILE_NAME, SandboxCredentials, read_credentials
from gateway.settings import Settings, secret_keys, settings_environment
from gateway.vendors import VENDORS, Vendor

OPTIONAL_SECRETS = frozenset(
    {
        "data_s3_secret_access_key",
        "alert_webhook_url",
        "alert_webhook_secret",
        "alert_slack_webhook_url",
        "alert_smtp_password",
    }
)
"""Secrets that may stay empty: boto3 then uses its own credential chain (role, profile, environment);
without an alert channel, alerts go to the event stream only (an unsigned webhook, SMTP without login)."""


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) means this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _env(key: str) -> str:
    return f"STRATA_{key.upper()}"


def used_vendors(settings: Settings) -> list[Vendor]:
    """The vendors this configuration talks to: every system API is served; one ERP is chosen."""
    erps = set(ERP_VENDORS)
    return [vendor for vendor in VENDORS if vendor.name not in erps or vendor.name == settings.erp.vendor]


def _sandbox_values(settings: Settings) -> set[str]:
    """Every credential value of the sandbox credentials files this gateway could know of."""
    values: set[str] = set()
    paths = [settings.state_path / FILE_NAME]
    if settings.sandbox_credentials_file:
        paths.append(settings.state_path.joinpath(settings.sandbox_credentials_file))
    for path in paths:
        try:
            found: SandboxCredentials | None = read_credentials(path)
        except ValueError:
            found = None
        for entry in (found or {}).values():
            values.update(value for key, value in entry.items() if key != ADMIN_TOKEN and value)
    return values


def _unused_credentials(section: object) -> tuple[str, ...]:
    """Credential fields a section does not need: those of the auth scheme it did not choose (SAP and
    Oracle offer Basic or OAuth 2.0); none for a vendor with one scheme."""
    unused = getattr(section, "unused_credentials", None)
    return tuple(unused()) if unused is not None else ()


def placeholder_problems(settings: Settings) -> list[str]:
    """Every mode: a vendor URL set with an empty credential, or with a sandbox's own."""
    problems = []
    sandbox_values = _sandbox_values(settings)
    from_file = bool(settings.sandbox_credentials_file) and settings.mode != "production"
    for vendor in VENDORS:
        url = vendor.url(settings)
        if not url:
            continue
        section = getattr(settings, vendor.section)
        fields = [*vendor.credential_fields, *(f for f in section.SECRETS if f not in vendor.credential_fields)]
        if vendor.name == "netsuite" and not from_file and not section.certificate_id:
            problems.append(
                f"netsuite_certificate_id: empty while netsuite_url is set ({url}); set STRATA_NETSUITE_CERTIFICATE_ID "
                "to the id NetSuite showed when the certificate was uploaded"
            )
        fields = [f for f in fields if f not in _unused_credentials(section)]
        for field in fields:
            key = section.key(field)
            value = getattr(section, field)
            if vendor.name == "netsuite" and field == "private_key" and (value or section.private_key_file):
                continue
            if not value and not from_file:
                problems.append(
                    f"{key}: empty while {vendor.section}_url is set ({url}), so no real credential would go to "
                    f"the vendor; set {_env(key)} (or {_env(key)}_FILE)"
                )
            elif value and value in sandbox_values and not from_file:
                problems.append(
                    f"{key}: holds a sandbox's credential while {vendor.section}_url is set ({url}); set the "
                    f"vendor's own in {_env(key)} (or {_env(key)}_FILE)"
                )
    return problems


def loopback_problems(settings: Settings) -> list[str]:
    """Demo: sandboxes are mounted only while the server listens on loopback."""
    if settings.mode == "production" or settings.allow_public_sandboxes or is_loopback_host(settings.host):
        return []
    mounted = [vendor.name for vendor in VENDORS if not vendor.url(settings)]
    if not mounted:
        return []
    return [
        f"host: {settings.host} is not loopback while the sandboxes of {', '.join(mounted)} are mounted (anyone "
        "reaching the port would reach them); listen on 127.0.0.1, set each vendor's URL, or pass "
        "--allow-public-sandboxes (STRATA_ALLOW_PUBLIC_SANDBOXES=true)"
    ]


def production_problems(settings: Settings) -> list[str]:
    """Production: nothing of the demo world left."""
    if settings.mode != "production":
        return []
    problems = []
    for vendor in used_vendors(settings):
        if not vendor.url(settings):
            key = f"{vendor.section}_url"
            problems.append(
                f"{key}: not set, so the {vendor.name} sandbox would be mounted; set {_env(key)} to the vendor's URL"
            )
    problems.extend(_secret_problems(settings))
    bc = settings.business_central
    if settings.erp.vendor == "business-central" and bc.tenant_id == Settings().business_central.tenant_id:
        problems.append(
            f"business_central_tenant_id: still the sandbox's tenant ({bc.tenant_id}); set "
            "STRATA_BUSINESS_CENTRAL_TENANT_ID to the Entra tenant of the environment"
        )
    if not settings.master_key and not settings.master_key_file:
        problems.append(
            f"master_key: would be created automatically in {settings.state_path / MASTER_KEY_FILE_NAME}; set "
            "STRATA_MASTER_KEY_FILE (a secret mount) or STRATA_MASTER_KEY"
        )
    issuer = urlsplit(settings.issuer)
    if issuer.scheme == "http" and not is_loopback_host(issuer.hostname or ""):
        problems.append(
            f"public_url: the issuer {settings.issuer} is plain http:// on a non-loopback host; set "
            "STRATA_PUBLIC_URL to the https:// URL clients use"
        )
    if settings.workers > 1:
        if not settings.database_url or settings.database_url.startswith("sqlite"):
            problems.append(
                f"database_url: SQLite with {settings.workers} workers; set STRATA_DATABASE_URL to PostgreSQL "
                "(postgresql+asyncpg://…)"
            )
        if not settings.redis_url:
            problems.append(
                f"redis_url: rate limits would be counted per process with {settings.workers} workers; set "
                "STRATA_REDIS_URL"
            )
            problems.append(
                f"redis_url: failed-login lock-out counters would be per process with {settings.workers} workers; "
                "set STRATA_REDIS_URL"
            )
    if settings.alert_smtp_host and not settings.alert_smtp_starttls and not is_loopback_host(settings.alert_smtp_host):
        # Alert mails name customers, deals and amounts, and a login would cross in the clear.
        problems.append(
            f"alert_smtp_starttls: off for the SMTP server {settings.alert_smtp_host}, which is not on this machine, "
            "so alert mails (and the SMTP login) would cross the network unencrypted; set "
            "STRATA_ALERT_SMTP_STARTTLS=true, or relay through an MTA on this machine"
        )
    if settings.seed_demo:
        problems.append("seed_demo: demo seeding is on; set STRATA_SEED_DEMO=false (or strata serve --no-seed)")
    if settings.sandbox_credentials_file:
        problems.append(
            "sandbox_credentials_file: sandbox credentials are for demos and tests; unset "
            "STRATA_SANDBOX_CREDENTIALS_FILE and give each vendor its own credentials"
        )
    return problems


def _secret_problems(settings: Settings) -> list[str]:
    """Production: each secret of what is used is set, to no built-in default and no sandbox's value."""
    used_sections = {vendor.section for vendor in used_vendors(settings)}
    vendor_sections = {vendor.section for vendor in VENDORS}
    checked_by_placeholders = {
        getattr(settings, vendor.section).key(field)
        for vendor in used_vendors(settings)
        if vendor.url(settings)
        for field in (*vendor.credential_fields, *getattr(settings, vendor.section).SECRETS)
    }
    problems = []
    values, defaults = settings_environment(settings), settings_environment(Settings())
    for key in secret_keys(settings):
        if key == "master_key" or key in OPTIONAL_SECRETS or key in checked_by_placeholders:
            continue
        section_name = next((name for name in vendor_sections if key.startswith(f"{name}_")), None)
        if section_name is not None and section_name not in used_sections:
            continue  # the ERP not chosen
        if section_name is not None and key[len(section_name) + 1 :] in _unused_credentials(
            getattr(settings, section_name)
        ):
            continue  # the secret of the auth scheme not configured
        value, default = values[_env(key)], defaults[_env(key)]
        if key == "netsuite_private_key" and (value or settings.netsuite.private_key_file):
            continue
        if not value or value == default:
            problems.append(f"{key}: has no value of its own; set {_env(key)} (or {_env(key)}_FILE)")
    return problems


def startup_problems(settings: Settings) -> list[str]:
    """Every reason not to start, one line each (empty: start)."""
    return [*production_problems(settings), *placeholder_problems(settings), *loopback_problems(settings)]
