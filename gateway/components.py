"""Runtime components of one gateway process and their lifecycle.

Created by the app factory (no I/O), started and stopped by the app's lifespan. Policies
hold references to these objects from the start; the objects connect when started.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import httpx
import structlog
from joserfc.jwk import KeySet
from litestar import Litestar

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from apis.system.registry import SystemInputs
from core.audit import AuditLog, AuditRecord, now
from core.background import cancel_and_wait
from core.db import create_engine
from core.destinations import DestinationGuard, DestinationPolicy, Resolver, outbound_client, system_resolver
from core.idempotency_store import IdempotencyStore, RedisIdempotencyStore, SqlIdempotencyStore
from core.master_key import resolve_master_key
from core.migrations import prepare_schema
from core.tracing import Tracing
from gateway.settings import Settings
from gateway.vendor_checks import VendorCheckCache
from gateway.vendors import VendorLinks
from policies.alert_rules import AlertsConfig
from policies.authentication import JwksFetcher, TrustedIssuer
from policies.context import Principal
from policies.governance import Governance, IssuerConfig, issuer_key
from policies.oauth.token_standing import live_scopes
from policies.rate_limit_backends import RateLimitBackend, rate_limit_backend_for

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from apis.process.events import Subscriber
    from apis.system.registry import Service
    from policies.oauth import OAuthService

logger = structlog.get_logger("strata.components")
JWKS_FETCH_TIMEOUT = httpx.Timeout(5.0)


class _LocalKeys:
    """Verification keys of the embedded authorization server (read from the OAuth service)."""

    def __init__(self, components: Components) -> None:
        self.components = components

    def keyset(self) -> KeySet:
        oauth = self.components.oauth
        return oauth.keys.public_keyset() if oauth is not None else KeySet([])

    async def refresh(self) -> None:
        if self.components.oauth is not None:
            await self.components.oauth.keys.refresh()


class _Revocations:
    """In-memory revocation check, delegating to the OAuth service once it has started."""

    def __init__(self, components: Components) -> None:
        self.components = components

    def is_revoked(self, jti: str) -> bool:
        oauth = self.components.oauth
        return oauth.revocations.is_revoked(jti) if oauth is not None else False


class Components:
    """Everything with I/O that one gateway process owns."""

    def __init__(
        self, settings: Settings, governance: Governance, *, tracer_provider: TracerProvider | None = None
    ) -> None:
        self.settings = settings
        self.governance = governance
        self.engine = create_engine(settings.effective_database_url)
        self.audit = AuditLog(self.engine, retention_seconds=settings.audit_retention_days * 86400.0)
        self.audit_proxy = self.audit
        self.rate_limit_backend: RateLimitBackend = rate_limit_backend_for(settings.redis_url)
        self.idempotency_store: IdempotencyStore = (
            RedisIdempotencyStore(settings.redis_url) if settings.redis_url else SqlIdempotencyStore(self.engine)
        )
        self.revocations = _Revocations(self)
        self.oauth: OAuthService | None = None
        self.system_services: dict[str, Service] = {}
        """Each system API's service by its ``state_name`` (see :mod:`apis.system.registry`)."""
        self.http = outbound_client(JWKS_FETCH_TIMEOUT)
        """Fetches external issuers' key sets and sends alert webhooks, via :mod:`core.destinations` only."""
        self.resolve: Resolver = system_resolver
        """Host name → addresses for those fetches (read at each fetch)."""
        self.sandbox_apps: dict[str, Any] = {}
        """The sandbox apps mounted in this process, by vendor name (see :mod:`gateway.sandbox_apps`)."""
        self.circuit_breakers: dict[str, CircuitBreaker] = {}
        self.tracing = Tracing.from_settings(settings, tracer_provider)
        self.vendor_checks = VendorCheckCache(settings, self._preflight_links)
        """The preflight of ``GET /gateway/v1/vendors``: one run per few minutes in this process."""

    def circuit_breaker(self, vendor: str) -> CircuitBreaker:
        """The circuit breaker of ``vendor`` in this process (created on first use)."""
        breaker = self.circuit_breakers.get(vendor)
        if breaker is None:
            config = CircuitBreakerConfig(open_seconds=float(self.settings.circuit_open_seconds))
            breaker = self.circuit_breakers[vendor] = CircuitBreaker(vendor, config)
        return breaker

    def circuit_states(self) -> dict[str, tuple[str, float]]:
        """This process's breakers for the alert rules: vendor → (state, epoch the state began)."""
        return {vendor: (breaker.state, breaker.since) for vendor, breaker in self.circuit_breakers.items()}

    def trusted_issuers(self) -> tuple[TrustedIssuer, ...]:
        """The embedded issuer plus every external issuer of the governance file."""
        issuers = [
            TrustedIssuer(
                issuer=self.settings.issuer,
                audience=self.settings.issuer,
                keys=_LocalKeys(self),
                live_scopes=self._live_scopes,
            )
        ]
        for config in self.governance.issuers:
            if issuer_key(config.issuer) == issuer_key(self.settings.issuer):
                # The governance check refuses such a document; were one to get here, it must
                # not replace the built-in issuer (and its disabled-client check).
                logger.error("external issuer with the gateway's own URL ignored", issuer=config.issuer)
                continue
            issuers.append(
                TrustedIssuer(
                    issuer=config.issuer,
                    audience=config.audience,
                    keys=JwksFetcher(config.jwks_uri, self._issuer_fetch(config)),
                    algorithms=config.algorithms,
                    accepted_typ=frozenset(config.accepted_typ),
                    scopes_claim=config.scopes_claim,
                    partner_id_claim=config.partner_id_claim,
                    customer_id_claim=config.customer_id_claim,
                    tier_claim=None,
                    default_tier=config.tier,
                )
            )
        return tuple(issuers)

    def _live_scopes(
        self, client_id: str, claims: Mapping[str, Any], token_scopes: frozenset[str]
    ) -> frozenset[str] | None:
        """The scopes a token of the embedded server holds now, or None if refused (no I/O).

        The decision is :func:`policies.oauth.token_standing.live_scopes`, the one introspection
        uses too: disabled or deleted clients, tokens issued before a disable, scopes removed since.
        """
        oauth = self.oauth
        if oauth is None:
            return token_scopes
        return live_scopes(oauth.clients.cached_entry(client_id), claims, token_scopes)

    def live_client_settings(self, principal: Principal) -> tuple[str, tuple[str, ...] | None] | None:
        """Tier and limits override of an embedded-server client as they are now (cache, no I/O).

        A tier or override changed through the management API applies to live tokens too,
        whatever ``tier`` claim they were issued with.
        """
        if self.oauth is None or principal.issuer != self.settings.issuer:
            return None
        record = self.oauth.clients.cached(principal.client_id)
        return (record.tier, record.rate_limits) if record is not None else None

    def _issuer_fetch(self, config: IssuerConfig) -> Callable[[str], Awaitable[dict[str, Any]]]:
        """The JWKS fetch of one external issuer, under its destination policy."""
        policy = DestinationPolicy(
            allow_loopback=self.settings.allow_loopback_destinations,
            allow_private_network=config.allow_private_network,
        )

        async def fetch(url: str) -> dict[str, Any]:
            return await self._fetch_json(url, policy)

        return fetch

    async def _fetch_json(self, url: str, policy: DestinationPolicy) -> dict[str, Any]:
        async with DestinationGuard(policy, self.resolve).stream(self.http, "GET", url) as response:
            response.raise_for_status()  # a redirect too: it is never followed
            document = json.loads(await response.aread())
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not return a JSON object")
        return document

    def route_handlers(self) -> Sequence[Any]:
        """Handlers of every API this process serves, plus OAuth, docs and sandboxes."""
        from apis.experience.registry import experience_routers
        from apis.process.registry import process_routers
        from apis.system.registry import SYSTEM_APIS
        from gateway.contracts.docs import docs_route_handlers
        from gateway.management.routes import router as management_router
        from gateway.sandbox_apps import sandbox_mounts
        from policies.oauth import oauth_route_handlers

        handlers: list[Any] = [*oauth_route_handlers, *docs_route_handlers, management_router]
        handlers.extend(spec.router() for spec in SYSTEM_APIS)
        handlers.extend(process_routers())
        handlers.extend(experience_routers())
        handlers.extend(sandbox_mounts(self.settings, self.sandbox_apps))
        return handlers

    def vendor_links(self) -> VendorLinks:
        """How this process reaches each vendor (its sandbox in process, or the network)."""
        return VendorLinks(
            self.settings,
            sandbox_apps=self.sandbox_apps,
            breaker=self.circuit_breaker,
            tracer=self.tracing.tracer,
        )

    def _preflight_links(self) -> VendorLinks:
        """Links for the preflight: breakers of their own, so failed checks never open a vendor's
        circuit for the traffic of this process."""
        return VendorLinks(
            self.settings, sandbox_apps=self.sandbox_apps, breaker=CircuitBreaker, tracer=self.tracing.tracer
        )

    def system_inputs(self) -> SystemInputs:
        """What the system APIs' builders are handed: the settings, the vendor links, the state."""
        return SystemInputs(
            settings=self.settings,
            link=self.vendor_links().link,
            breaker=self.circuit_breaker,
            engine=self.engine,
            state_path=self.settings.state_path,
        )

    def record_auth_failure(self, client_id: str | None, source: str, reason: str) -> None:
        """Audit (and log) a failed client authentication at the token endpoint."""
        # An id we do not know is neither logged nor audited: it may be a secret pasted into the
        # wrong field. The audit row then says the claimed id was unknown.
        known = client_id is not None and self.oauth is not None and self.oauth.clients.cached(client_id) is not None
        if not known:
            client_id = None
            reason = f"unknown client id; {reason}"
        logger.info("client authentication failed", client_id=client_id, reason=reason[:300], source=source)
        self.audit.record(
            AuditRecord(
                at=now(),
                request_id="-",
                method="POST",
                route="/oauth/token",
                status=401,
                outcome="denied",
                client_id=client_id,
                policy="client_authentication",
                reason=reason[:300],
                source=source,
            )
        )

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Start every component; stop them in reverse order."""
        from apis.system.registry import SYSTEM_APIS
        from core.audit_query import AuditQuery
        from gateway.contracts.docs import build_docs_catalogue
        from gateway.governance_reload import GovernanceReloader
        from gateway.management.client_admin import ClientAdmin
        from gateway.metrics import multiprocess_dir, snapshot_periodically
        from policies.oauth import OAuthService

        await prepare_schema(self.engine, migrate=self.settings.migrates_at_start)
        self.audit.start()
        self.oauth = await OAuthService.start(
            self.settings,
            self.engine,
            self.settings.redis_url or None,
            on_auth_failure=self.record_auth_failure,
            key_encryption_secret=resolve_master_key(self.settings),
            # Introspection answers as this gateway's pipeline would (same leeway, reloads included).
            token_leeway_seconds=lambda: self.governance.authentication.leeway_seconds,
        )
        app.state.oauth = self.oauth
        app.state.client_admin = ClientAdmin(self.oauth.clients, lambda: app.state.governance.tiers)
        app.state.audit_query = AuditQuery(self.engine)
        reloader = GovernanceReloader(
            app, self.settings.governance_path, self.settings.reloaded_governance_path, self.settings.redis_url
        )
        await reloader.start()
        app.state.governance_reloader = reloader
        directory = multiprocess_dir()
        snapshots = asyncio.create_task(snapshot_periodically(directory)) if directory is not None else None
        app.state.docs = build_docs_catalogue(
            self.settings.contracts_path, problem_base_uri=self.settings.problem_base_uri
        )
        inputs = self.system_inputs()
        for spec in SYSTEM_APIS:
            service = await spec.build(inputs)
            self.system_services[spec.state_name] = service
            setattr(app.state, spec.state_name, service)
        process = None
        if self.settings.workflows_enabled:
            from apis.experience.registry import experience_background_jobs, experience_event_subscribers
            from apis.process.alerts.channels import alert_channel_subscribers
            from apis.process.alerts.schedule import business_alerts
            from apis.process.registry import background_jobs, workflow_specs
            from apis.process.runtime import ProcessRuntime, start_runtime

            def alert_rules() -> AlertsConfig:
                return cast(Governance, app.state.governance).alerts  # the live file: reloads apply

            alert_channels = alert_channel_subscribers(self.settings, client=self.http)  # closed with the components

            def event_subscribers(running: ProcessRuntime) -> list[Subscriber]:
                return [*experience_event_subscribers(running), *alert_channels]

            process = await start_runtime(
                self.settings,
                self.engine,
                self.system_services,
                workflows=workflow_specs(),
                event_subscribers=event_subscribers,
                jobs=[
                    *background_jobs(),
                    *experience_background_jobs(),
                    business_alerts(alert_rules, self.circuit_states),
                ],
                change_rules=lambda: self.governance.subscription_changes,
            )
        app.state.process = process
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight, so full collections scan only per-request garbage.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await cancel_and_wait(snapshots)
            await reloader.stop()
            if process is not None:
                from apis.process.runtime import stop_runtime

                await stop_runtime(process)
            for service in reversed(self.system_services.values()):
                await service.aclose()
            await self.oauth.stop()
            await self.rate_limit_backend.aclose()
            await self.idempotency_store.aclose()
            await self.audit.stop()
            await self.http.aclose()
            await self.engine.dispose()
            await self.tracing.shutdown()
            # What start-up froze is the collector's to see again: without this, a process that
            # starts gateways one after another (a test worker) never frees a stopped one, whose
            # objects sit in reference cycles (~6.5 MiB each; 2-3 GB over a test run).
            gc.unfreeze()
