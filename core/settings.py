"""Settings: frozen objects, read once at start-up.

:class:`CoreSettings` holds what every layer may read (host, port, database, Redis, the
issuer, the policies' and the workflow engine's knobs …). Each system API owns the settings
of its vendor as a :class:`SettingsSection` next to its code
(``apis/system/<domain>/settings.py``); the composition root (:mod:`gateway.settings`)
assembles the full settings from this core and every section, and loads them with the one
loader, :func:`core.settings_loader.resolve_settings`. Core and the policies only ever see
:class:`CoreSettings`.

Sources, highest precedence first:

1. command-line flags and keyword overrides (``strata serve --port 9000``, ``{"netsuite_max_retries": 2}``),
2. ``STRATA_<NAME>`` environment variables,
3. the TOML file named by ``STRATA_CONFIG``,
4. the defaults written in the structs.

Every setting has one flat name: a core field's own (``port``), a section's field prefixed with
the section (``netsuite_max_retries`` is ``settings.netsuite.max_retries``). The flat name is
the keyword override, the TOML key and, upper-cased after ``STRATA_``, the environment
variable (``STRATA_NETSUITE_MAX_RETRIES``); a TOML file may also group a section's keys in a
table (``[netsuite]`` then ``max_retries = 2``).

A wrong value raises :class:`SettingsError`, whose message names the flat key and the allowed
values; the CLI turns it into exit code 2 and never prints a traceback. Each struct lists its
secrets in ``SECRETS`` (never logged; :mod:`gateway.startup_checks` refuses their defaults in
production). Every secret can also be read from a file, the way containers mount secrets:
``STRATA_<NAME>_FILE`` names it (``STRATA_STRIPE_SECRET_KEY_FILE=/run/secrets/stripe``).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

import msgspec

from core import cadence
from core.personal_data import PERSONAL_FIELDS
from core.webhook_signing import is_secret as is_webhook_secret

ENV_PREFIX = "STRATA_"
DEFAULT_PORT = 8080
DEFAULT_TOKEN_TTL_SECONDS = 900
DEFAULT_IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONTRACTS = Path(__file__).resolve().parent / "contracts"
"""Where an installed wheel carries the contracts (``pyproject.toml`` force-includes ``contracts/``
there); absent in a checkout, which reads ``<checkout>/contracts``."""

# Names of log-event keys redacted by default as personal data (see core.logging); secrets
# and credentials are redacted whatever this list says.
DEFAULT_LOG_REDACT_FIELDS = ",".join(sorted({*PERSONAL_FIELDS, "billing_address", "address"}))
"""Every name of :data:`core.personal_data.PERSONAL_FIELDS`, and whole addresses."""
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

PolicyMode = Literal["enforce", "shadow", "off"]
LogLevel = Literal["debug", "info", "warning", "error"]
Mode = Literal["demo", "production"]
BackendErrorMode = Literal["allow", "deny"]


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the key and what is allowed."""


class SettingsSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The settings of one system API's vendor (a ``[<section>]`` of the full settings).

    Subclasses name their section (``SECTION = "netsuite"``, the prefix of their flat keys) and
    their secrets (``SECRETS``), put a docstring under every field, and check their values in
    ``__post_init__`` with :meth:`check_range` (calling ``super().__post_init__()``, which
    checks that every ``url`` / ``*_url`` field is an http(s) URL).
    """

    SECTION: ClassVar[str] = ""
    """Name of the section: the attribute of the full settings and the prefix of the flat keys."""
    SECRETS: ClassVar[tuple[str, ...]] = ()
    """Fields holding secrets: never logged, never echoed."""

    def key(self, field: str) -> str:
        """The flat key of ``field`` (``max_retries`` → ``netsuite_max_retries``), as errors name it."""
        return f"{self.SECTION}_{field}"

    def check_range(self, field: str, low: int, high: int) -> None:
        """Refuse ``field`` outside ``low..high``, naming its flat key."""
        _check_range(self.key(field), getattr(self, field), low, high)

    def __post_init__(self) -> None:
        for field in self.__struct_fields__:
            if field == "url" or field.endswith("_url"):
                _check_web_url(self.key(field), getattr(self, field))


class CoreSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What every layer reads from its environment, resolved once (vendors' settings excluded)."""

    SECRETS: ClassVar[tuple[str, ...]] = (
        "master_key",
        "alert_webhook_url",
        "alert_webhook_secret",
        "alert_slack_webhook_url",
        "alert_smtp_password",
    )
    """Fields holding secrets: never logged, never echoed."""

    mode: Mode = "demo"
    """``demo`` (the embedded default: sandboxes for vendors without a URL, demo seeding) or
    ``production``, which refuses to start while anything of the demo world would be left
    (see :mod:`gateway.startup_checks`)."""
    migrate: bool = False
    """Whether ``strata serve`` migrates the database (ours and the workflow engine's) at start. Demo
    mode always does; otherwise ``strata db upgrade`` is the deployment's migration step and the
    server only checks the schema is current, so its database role needs no DDL (``serve --migrate``)."""
    host: str = "127.0.0.1"
    """Interface the server binds."""
    admin_port: int = 0
    """Port of the admin listener (metrics of every worker, detailed readiness, docs and, with
    ``admin_management``, the management API), one for the whole group of workers; 0 = none
    (they are then served on the public port, except in production)."""
    admin_host: str = "127.0.0.1"
    """Interface the admin listener binds."""
    admin_management: bool = False
    """Serve the management API (``/gateway/v1``) on the admin listener only, not on the public port."""
    allow_public_sandboxes: bool = False
    """Let a demo gateway listen on a non-loopback interface while sandboxes are mounted (anyone
    who reaches the port then reaches the simulated vendors and their control APIs)."""
    sandbox_credentials_file: str = ""
    """The ``sandbox-credentials.json`` of standalone sandboxes (``strata sandboxes serve``): a
    vendor whose URL is set and whose credentials are not takes them from this file. Refused in
    production. Empty = ``<state_dir>/sandbox-credentials.json`` for the embedded sandboxes."""
    port: int = DEFAULT_PORT
    """TCP port the server binds (1-65535)."""
    workers: int = 1
    """Server worker processes (1-64). More than one needs Redis for shared limits."""
    state_dir: str = "var"
    """Directory for the embedded database, sandbox state and demo credentials."""
    public_url: str = ""
    """External base URL (issuer and absolute links); defaults to http://host:port."""
    database_url: str = ""
    """SQLAlchemy async URL; defaults to SQLite under ``state_dir``."""
    redis_url: str = ""
    """Redis URL for shared rate limits, revocation and idempotency; empty = in-process."""
    governance_file: str = ""
    """Governance config (tiers, limits, issuers); defaults to contracts/governance.yaml."""
    contracts_dir: str = ""
    """Directory of OpenAPI contracts; defaults to the project's ``contracts/``."""
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    """Lifetime of issued access tokens (60-86400)."""
    idempotency_retention_seconds: int = DEFAULT_IDEMPOTENCY_RETENTION_SECONDS
    """How long a stored idempotent response is replayed (60-604800)."""
    audit_retention_days: int = 90
    """Audit records older than this are purged, hourly (1-3650)."""
    response_contract_mode: PolicyMode = "shadow"
    """Response contract policy: enforce (502 on drift), shadow (log + count) or off."""
    log_level: LogLevel = "info"
    """Minimum level of log lines."""
    build_sandboxes_at_start: bool = True
    """Build the embedded sandboxes while starting, so no first request pays for it (their
    seeding blocks the event loop for a moment); tests that start hundreds of gateways turn it
    off and build each sandbox on first use."""
    workflows_enabled: bool = True
    """Run the durable workflow engine in this process (the process APIs). Off, process API
    calls answer 503; tests that start hundreds of gateways for other things turn it off."""
    executor_id: str = ""
    """This process's id in the workflow engine. Empty = the lowest free slot ``<host>:<port>:<n>``
    (each worker of ``serve --workers N`` its own); set, the process takes that id whatever holds it.
    See :mod:`apis.process.executor_leases`."""
    executor_lease_seconds: int = 60
    """How long an executor's lease runs without a heartbeat before a live process takes its pending
    workflows over (5-3600). Longer than the longest workflow step."""
    release_version: str = ""
    """The release this process reports running (the workflow engine's launch log line). Empty =
    the installed package's version. Workflows are labelled with the workflow version, not this (see
    :mod:`apis.process.workflow_versions`); tests set it to play an older and a newer release."""
    workflow_step_attempts: int = 5
    """Attempts of a workflow step failing with a retryable error (timeout, 429, 5xx)."""
    workflow_backoff_base_ms: int = 1000
    """Durable pause after a step's first failed attempt (doubles per attempt, jittered)."""
    workflow_backoff_max_ms: int = 300_000
    """Longest durable pause between attempts; a longer ``Retry-After`` is capped to it."""
    outbox_retention_hours: int = 168
    """How long delivered business events stay in the outbox before they are purged."""
    event_stream: str = "strata:events"
    """Redis stream carrying business events between processes (with ``redis_url``)."""
    master_data_ttl_seconds: int = 30
    """How long workflows reuse items, prices, legal entities and periods they looked up (0 = never)."""
    reconciliation_schedule_hour: int = 2
    """Hour of the day (UTC, 0–23) from which each process starts the daily reconciliation of the
    previous month, once per day across every process; -1 = no daily run."""
    inbox_sweep_seconds: int = 60
    """How often each process with the engine starts the workflows of stored Stripe events whose
    workflow was not started at intake (stored by a gateway without the engine, or before an
    upgrade; 1–86,400). Events received by a process with the engine start theirs before the 2xx."""
    ledger_posting_window_minutes: int = 0
    """Invoices post to the ERP at the next multiple of this many minutes after midnight UTC (the
    workflow waits durably until then); 0 = post at once."""
    customer_portal_cache_seconds: int = 5
    """How long a customer-portal overview is reused per customer in this process (0 = never;
    0–300); the ``ETag`` changes as soon as a fresh composition differs."""
    partner_webhook_max_attempts: int = 6
    """Attempts of one partner webhook delivery before it is marked ``dead`` (1–20)."""
    partner_webhook_backoff_base_ms: int = 60_000
    """Pause after a failed webhook attempt; doubles per attempt (0–3,600,000)."""
    partner_webhook_backoff_max_ms: int = 3_600_000
    """Longest pause between two webhook attempts (1–86,400,000)."""
    partner_webhook_timeout_seconds: int = 5
    """How long a partner's endpoint may take to answer one delivery (1–30)."""
    partner_webhook_concurrency_per_partner: int = 4
    """Attempts of one partner's webhook deliveries in flight at once, across every process (1–100):
    a slow or dead endpoint holds this many of its own partner's slots, never another partner's."""
    partner_webhook_rate_per_partner: int = 20
    """Attempts of one partner's webhook deliveries started per second, across every process (1–10,000)."""
    partner_webhook_secret_grace_hours: int = 24
    """After a secret rotation, deliveries are signed with the old secret too for this long (0–168)."""
    alert_webhook_url: str = ""
    """Where business alert events (``strata.alert.*``) are also POSTed, through the outbound
    destination policy; none when empty. A secret (``STRATA_ALERT_WEBHOOK_URL_FILE`` reads it from
    a file): incoming-webhook URLs carry their credential in the path, so it is not in the
    governance file, which the management API shows."""
    alert_webhook_secret: str = ""
    """Signs every alert webhook delivery with Standard Webhooks headers (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``), the partner webhooks' scheme: ``whsec_`` +
    base64 of 24–64 random bytes. A secret (``STRATA_ALERT_WEBHOOK_SECRET_FILE``); empty = unsigned."""
    alert_slack_webhook_url: str = ""
    """A Slack incoming webhook (or a compatible one: Mattermost, Rocket.Chat) business alerts are
    posted to as ``{"text": ..., "blocks": [...]}``, through the outbound destination policy; none
    when empty. A secret (``STRATA_ALERT_SLACK_WEBHOOK_URL_FILE``): the URL is the credential."""
    alert_smtp_host: str = ""
    """SMTP server business alerts are e-mailed through; none when empty (then ``alert_smtp_from``
    and ``alert_smtp_to`` are not needed)."""
    alert_smtp_port: int = 587
    """Port of the SMTP server (1-65535): 587 for submission with STARTTLS, 25 for a relay."""
    alert_smtp_from: str = ""
    """Sender address of alert e-mails."""
    alert_smtp_to: str = ""
    """Recipients of alert e-mails, comma-separated (``ops@example.com, erp-team@example.com``)."""
    alert_smtp_username: str = ""
    """SMTP login user; empty = no login."""
    alert_smtp_password: str = ""
    """SMTP login password, a secret (``STRATA_ALERT_SMTP_PASSWORD_FILE``)."""
    alert_smtp_starttls: bool = True
    """Upgrade the SMTP connection with STARTTLS before logging in and sending (refused if the
    server does not offer it). Only a relay on this machine should go without."""
    allow_loopback_destinations: bool = False
    """Let the gateway send to loopback addresses (127.0.0.0/8, ::1, ``localhost``), over
    ``http://`` too: partner webhook URLs, clients' ``jwks_uri`` and external issuers'
    ``jwks_uri`` — for a demo or tests on one machine, never in production. Off, each of those
    must be ``https://`` on public addresses only (see :mod:`core.destinations`)."""
    circuit_open_seconds: int = 30
    """How long a vendor's circuit stays open after 5 outages in a row before one trial call is
    let through (1–3600): calls meanwhile fail at once instead of waiting on a vendor that is down."""
    default_sla_seconds: int = 300
    """End-to-end target (accepted → completed, p95) of a workflow ``workflow_sla_seconds`` does not
    name, shown on the operations dashboard (1–604800)."""
    workflow_sla_seconds: str = ""
    """Per-workflow end-to-end targets as a JSON object of seconds, e.g.
    ``{"quote-to-cash": 300, "customer-sync": 3600}``; workflows not named get ``default_sla_seconds``."""
    token_exchange_ttl_seconds: int = 300
    """Lifetime of a customer-bound token issued by RFC 8693 token exchange (30–3600); never
    longer than the subject token it was exchanged for."""
    console_session_idle_seconds: int = 1800
    """A console session ends after this long without a request (60–86400)."""
    console_session_max_seconds: int = 43_200
    """A console session ends this long after sign-in, however busy (300–604800)."""
    console_token_renew_seconds: int = 60
    """The console renews its access token when less than this is left of it (0–3600; a value
    at least the token lifetime renews on every request)."""
    customer_sync_interval_minutes: int = 0
    """Minutes between scheduled customer syncs of every CRM account (each interval once across
    every process, on the epoch's boundaries: a divisor of 60, of a day in hours, or a week —
    see core.cadence); 0 = no scheduled sync (runs on demand only)."""
    customer_sync_interval_seconds: int = 0
    """Seconds between scheduled customer syncs, for a cadence under a minute (a divisor of 60;
    tests use it); when set it replaces ``customer_sync_interval_minutes``. 0 = unset."""
    seed_demo: bool = True
    """Seed demo OAuth clients and sandbox data when the state is empty."""
    master_key: str = ""
    """Key encrypting signing keys at rest (at least 32 characters); see core.master_key."""
    master_key_file: str = ""
    """File holding the master key (a secret mount), read when ``master_key`` is empty."""
    problem_base_uri: str = "https://strata.dev/problems/"
    """Base URI of the ``type`` of every problem+json body Strata writes."""
    trusted_proxies: str = ""
    """Comma-separated CIDRs of reverse proxies whose ``Forwarded`` / ``X-Forwarded-*`` headers
    are believed; empty = trust none (the direct peer is the client)."""
    max_in_flight: int = 512
    """Requests served at once by one process before new ones are shed with 503 (0 = off)."""
    otlp_endpoint: str = ""
    """Base URL of an OpenTelemetry collector speaking OTLP over HTTP/protobuf, e.g.
    ``http://127.0.0.1:4318``; spans are posted to ``<endpoint>/v1/traces``. Empty = tracing
    off (no spans are created at all)."""
    log_redact_fields: str = DEFAULT_LOG_REDACT_FIELDS
    """Comma-separated log-event keys holding personal data, redacted wherever they appear
    (nested too, case-insensitive). Credentials (Authorization, tokens, secrets, query strings)
    are always redacted; empty = redact only those."""

    def __post_init__(self) -> None:
        _check_range("port", self.port, 1, 65535)
        _check_range("workers", self.workers, 1, 64)
        _check_range("executor_lease_seconds", self.executor_lease_seconds, 5, 3600)
        _check_range("circuit_open_seconds", self.circuit_open_seconds, 1, 3600)
        _check_range("token_ttl_seconds", self.token_ttl_seconds, 60, 86400)
        _check_range("idempotency_retention_seconds", self.idempotency_retention_seconds, 60, 604800)
        _check_range("audit_retention_days", self.audit_retention_days, 1, 3650)
        _check_range("max_in_flight", self.max_in_flight, 0, 1_000_000)
        if self.admin_port:
            _check_range("admin_port", self.admin_port, 1, 65535)
            if self.admin_port == self.port:
                raise SettingsError(f"admin_port: {self.admin_port} is the public port too; choose another")
        _check_range("workflow_step_attempts", self.workflow_step_attempts, 1, 50)
        _check_range("workflow_backoff_base_ms", self.workflow_backoff_base_ms, 0, 600_000)
        _check_range("workflow_backoff_max_ms", self.workflow_backoff_max_ms, 1, 3_600_000)
        _check_range("outbox_retention_hours", self.outbox_retention_hours, 1, 24 * 365)
        _check_range("master_data_ttl_seconds", self.master_data_ttl_seconds, 0, 86_400)
        _check_range("reconciliation_schedule_hour", self.reconciliation_schedule_hour, -1, 23)
        _check_range("inbox_sweep_seconds", self.inbox_sweep_seconds, 1, 86_400)
        _check_range("ledger_posting_window_minutes", self.ledger_posting_window_minutes, 0, 1440)
        _check_range("customer_portal_cache_seconds", self.customer_portal_cache_seconds, 0, 300)
        _check_range("default_sla_seconds", self.default_sla_seconds, 1, 604_800)
        _ = self.workflow_sla_targets  # validate the JSON object at start-up
        _check_range("token_exchange_ttl_seconds", self.token_exchange_ttl_seconds, 30, 3600)
        _check_range("console_session_idle_seconds", self.console_session_idle_seconds, 60, 86_400)
        _check_range("console_session_max_seconds", self.console_session_max_seconds, 300, 604_800)
        _check_range("console_token_renew_seconds", self.console_token_renew_seconds, 0, 3600)
        _check_range("partner_webhook_max_attempts", self.partner_webhook_max_attempts, 1, 20)
        _check_range("partner_webhook_backoff_base_ms", self.partner_webhook_backoff_base_ms, 0, 3_600_000)
        _check_range("partner_webhook_backoff_max_ms", self.partner_webhook_backoff_max_ms, 1, 86_400_000)
        _check_range("partner_webhook_timeout_seconds", self.partner_webhook_timeout_seconds, 1, 30)
        _check_range("partner_webhook_concurrency_per_partner", self.partner_webhook_concurrency_per_partner, 1, 100)
        _check_range("partner_webhook_rate_per_partner", self.partner_webhook_rate_per_partner, 1, 10_000)
        _check_range("partner_webhook_secret_grace_hours", self.partner_webhook_secret_grace_hours, 0, 168)
        self._check_alert_channels()
        _check_range("customer_sync_interval_minutes", self.customer_sync_interval_minutes, 0, 7 * 24 * 60)
        _check_range("customer_sync_interval_seconds", self.customer_sync_interval_seconds, 0, 59)
        for key, seconds in (
            ("customer_sync_interval_minutes", self.customer_sync_interval_minutes * 60),
            ("customer_sync_interval_seconds", self.customer_sync_interval_seconds),
        ):
            problem = cadence.check_every(key, seconds)
            if problem is not None:
                allowed = cadence.ALLOWED_MINUTES if key.endswith("minutes") else "the divisors of 60"
                raise SettingsError(f"{problem}; allowed values are 0 and {allowed}")
        _ = self.trusted_proxy_networks  # validate the CIDR list at start-up
        _ = self.log_redact_field_names  # validate the field list at start-up
        # Every endpoint URL (``*_url``), whoever added it; the two database URLs differ. Each
        # vendor section checks its own.
        web_urls = [name for name in CoreSettings.__struct_fields__ if name.endswith("_url")]
        for key in [*(name for name in web_urls if name not in ("database_url", "redis_url")), "otlp_endpoint"]:
            _check_web_url(key, getattr(self, key))
        if self.otlp_endpoint and not urlsplit(self.otlp_endpoint).hostname:
            raise SettingsError(f"otlp_endpoint: {self.otlp_endpoint!r} has no host (e.g. http://127.0.0.1:4318)")
        schemes = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
        if self.redis_url and not self.redis_url.startswith(schemes):
            raise SettingsError(
                f"redis_url: {self.redis_url.partition(':')[0][:40]!r} is not a Redis scheme (the URL is not "
                "shown: it may hold a password); it must start with redis://, rediss://, unix:// or, for a "
                "Redis Cluster, redis+cluster:// or rediss+cluster://"
            )

    # Derived values: computed here so every consumer agrees on them.
    @property
    def state_path(self) -> Path:
        """Absolute path of the state directory."""
        return Path(self.state_dir).resolve()

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed; a bare address is a one-address network."""
        networks = []
        for item in self.trusted_proxies.split(","):
            text = item.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise SettingsError(
                    f"trusted_proxies: {text!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8, ::1)"
                ) from None
        return tuple(networks)

    @property
    def alert_smtp_recipients(self) -> tuple[str, ...]:
        """``alert_smtp_to`` as a list of addresses."""
        return tuple(address.strip() for address in self.alert_smtp_to.split(",") if address.strip())

    def _check_alert_channels(self) -> None:
        if self.alert_webhook_secret and not is_webhook_secret(self.alert_webhook_secret):
            # The value is a secret: never echoed.
            raise SettingsError("alert_webhook_secret: not whsec_ followed by base64 of 24 to 64 bytes")
        _check_range("alert_smtp_port", self.alert_smtp_port, 1, 65535)
        if not self.alert_smtp_host:
            return
        if "@" not in self.alert_smtp_from:
            raise SettingsError(f"alert_smtp_from: {self.alert_smtp_from[:100]!r} is not an e-mail address")
        if not self.alert_smtp_recipients:
            raise SettingsError("alert_smtp_to: no recipient; comma-separated e-mail addresses are needed")
        for address in self.alert_smtp_recipients:
            if "@" not in address:
                raise SettingsError(f"alert_smtp_to: {address[:100]!r} is not an e-mail address")

    @property
    def log_redact_field_names(self) -> frozenset[str]:
        """``log_redact_fields`` parsed (lower-case names)."""
        names = set()
        for item in self.log_redact_fields.split(","):
            text = item.strip()
            if not text:
                continue
            if not _FIELD_NAME.match(text):
                raise SettingsError(
                    f"log_redact_fields: {text!r} is not a field name (letters, digits, '_', '-', '.'; "
                    "comma-separated, e.g. email,phone,tax_id)"
                )
            names.add(text.lower())
        return frozenset(names)

    @property
    def workflow_sla_targets(self) -> dict[str, int]:
        """``workflow_sla_seconds`` parsed: workflow name → target seconds (only the workflows it names)."""
        if not self.workflow_sla_seconds.strip():
            return {}
        example = '(e.g. {"quote-to-cash": 300})'
        try:
            parsed = msgspec.json.decode(self.workflow_sla_seconds)
        except msgspec.DecodeError:
            raise SettingsError(f"workflow_sla_seconds: not a JSON object {example}") from None
        if not isinstance(parsed, dict):
            raise SettingsError(f"workflow_sla_seconds: not a JSON object {example}")
        targets = {}
        for workflow, seconds in parsed.items():
            if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 604_800:
                raise SettingsError(f"workflow_sla_seconds: {workflow}: {seconds!r} is not a whole number 1..604800")
            targets[workflow] = seconds
        return targets

    def sla_seconds(self, workflow: str) -> int:
        """The end-to-end target of ``workflow``."""
        return self.workflow_sla_targets.get(workflow, self.default_sla_seconds)

    @property
    def otlp_traces_url(self) -> str:
        """Where spans are posted (OTLP/HTTP signal path under the endpoint), or empty."""
        return f"{self.otlp_endpoint.rstrip('/')}/v1/traces" if self.otlp_endpoint else ""

    @property
    def issuer(self) -> str:
        """OAuth issuer and base of every absolute link (no trailing slash)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the state directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.state_path / 'strata.db'}"

    @property
    def migrates_at_start(self) -> bool:
        """Whether a start migrates the schema (demo mode, or ``migrate``) instead of checking it."""
        return self.mode == "demo" or self.migrate

    @property
    def contracts_path(self) -> Path:
        """Directory holding the OpenAPI contracts: the configured one; else the installed package's
        copy; else the checkout's ``contracts/``."""
        if self.contracts_dir:
            return Path(self.contracts_dir)
        return BUNDLED_CONTRACTS if BUNDLED_CONTRACTS.is_dir() else PROJECT_ROOT / "contracts"

    @property
    def governance_path(self) -> Path:
        """The governance file in force: the configured one; else a reloaded copy in the state
        directory, if a reload wrote one; else the bundled ``contracts/governance.yaml``."""
        if self.governance_file:
            return Path(self.governance_file)
        reloaded = self.reloaded_governance_path
        return reloaded if reloaded.exists() else self.contracts_path / "governance.yaml"

    @property
    def reloaded_governance_path(self) -> Path:
        """Where a governance reload writes: the configured file, or ``<state>/governance.yaml``
        (never the bundled file, which belongs to the source tree)."""
        return Path(self.governance_file) if self.governance_file else self.state_path / "governance.yaml"


def _check_range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{key}: {value} is out of range; allowed values are {low}..{high}")


def _check_web_url(key: str, value: str) -> None:
    if value and not value.startswith(("http://", "https://")):
        raise SettingsError(f"{key}: {value!r} is not an http:// or https:// URL")
