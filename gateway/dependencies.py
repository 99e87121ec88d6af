"""What route handlers are given: the dependencies and route options the composition root registers.

A routes module declares what it needs by name and type — ``crm: CrmService``, ``process:
ProcessRuntime | None``, ``partner_portal: PartnerPortal``, ``management: ManagementSources`` — and
never reaches into ``app.state``: :func:`route_dependencies` maps each name to a Litestar
``Provide`` over the objects the lifespan builds. Providers read those objects at each request,
so an app whose lifespan runs again serves the services it built last.

Every provider is a function without parameters, run inline (``sync_to_thread=False``). Measured
in-process (``bench/dependencies.py``; figures in ``bench/README.md``): such a dependency adds
~1.5 µs to a request over the ``request.app.state`` read it replaces; a provider taking
``request`` or ``state`` ~4-6 µs (Litestar parses its parameters); a sync provider in the thread
pool ~78 µs; and the dependencies of one handler that do not depend on each other are resolved in
an anyio task group, ~60 µs. Hence one dependency per handler: its API's service, or a façade
holding what the API reads.

Dependencies resolve after the governance middleware has run the request policies (and before the
response policies): a refused request never builds one, and an error a provider raises reaches the
exception handlers and the response policies like a handler's.

The list cursor codec is a route option rather than a dependency (:mod:`apis.system.paging`): the
list handlers already declare their service, and a second dependency would cost the task group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from litestar.datastructures import State
from litestar.di import Provide

from apis.experience.console.auth import Console
from apis.experience.console.sessions import ConsoleSessions
from apis.experience.customer_portal.compose import CustomerPortal, OverviewCache
from apis.experience.operations.data import OperationsData
from apis.experience.partner_portal.routes import PartnerPortal
from apis.experience.partner_portal.webhooks.routes import PartnerWebhooks
from apis.experience.systems import PortalSystems
from apis.process.xref import XrefStore
from apis.system.paging import CURSOR_CODEC_OPT
from apis.system.registry import SYSTEM_APIS
from core.cursors import CursorCodec
from core.master_key import resolve_master_key
from gateway.management.sources import ManagementSources
from policies.oauth.clients import ClientRecord
from policies.usage import catalogue, client_usage

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime
    from gateway.components import Components

T = TypeVar("T")


RENAMED_SERVICES = {"data": "data_platform"}
"""System services declared under another name than their state name: ``data`` is a Litestar
reserved keyword (the request body)."""


def route_options(components: Components) -> dict[str, Any]:
    """The app-level ``opt`` every route handler inherits: the list cursor codec.

    The codec's key is derived from the master key on first use, so building the app does no I/O.
    """
    settings = components.settings
    return {CURSOR_CODEC_OPT: CursorCodec(lambda: resolve_master_key(settings))}


def route_dependencies(state: State, components: Components) -> dict[str, Provide]:
    """Every dependency a route handler may declare, by name (``state`` is the app's state)."""
    provided = {
        RENAMED_SERVICES.get(spec.state_name, spec.state_name): _inline(_attribute(state, spec.state_name))
        for spec in SYSTEM_APIS
    }
    provided.update(
        process=_inline(_process(state)),
        components=_inline(lambda: components),
        customer_portal=_inline(_customer_portal(state, components)),
        partner_portal=_inline(_partner_portal(state, components)),
        partner_webhooks=_inline(_once(lambda: _partner_webhooks(components))),
        console=_inline(_once(lambda: _console(state, components))),
        operations_data=_inline(_operations_data(state, components)),
        management=_inline(_management(state, components)),
    )
    return provided


def _inline(provide: Callable[[], Any]) -> Provide:
    return Provide(provide, sync_to_thread=False)


def _once(build: Callable[[], T]) -> Callable[[], T]:
    """``build``'s result, built at the first request that needs it and kept (it reads the master key)."""
    built: list[T] = []

    def provide() -> Any:  # Any: Litestar reads a provider's annotations, and T means nothing to it
        if not built:
            built.append(build())
        return built[0]

    return provide


def _attribute(state: State, name: str) -> Callable[[], Any]:
    def provide() -> Any:
        return state[name]  # an item, not getattr: State's __getattr__ is the slow path (~0.6 µs)

    return provide


def _process(state: State) -> Callable[[], ProcessRuntime | None]:
    # Litestar reads a provider's annotations at start-up: ``Any`` spares importing the engine here.
    def provide() -> Any:
        return state.get("process")

    return provide


def _portal_systems(state: State, components: Components) -> Callable[[], PortalSystems]:
    xref = XrefStore(components.engine)

    def systems() -> PortalSystems:
        return PortalSystems(state["crm"], state["billing"], state["payments"], state["product"], xref)

    return systems


def _customer_portal(state: State, components: Components) -> Callable[[], CustomerPortal]:
    systems = _portal_systems(state, components)
    seconds = components.settings.customer_portal_cache_seconds
    cache = OverviewCache(seconds)  # one per app: overviews outlive a request, not the process

    def provide() -> CustomerPortal:
        return CustomerPortal(systems(), cache, seconds)

    return provide


def _partner_portal(state: State, components: Components) -> Callable[[], PartnerPortal]:
    systems = _portal_systems(state, components)

    def provide() -> PartnerPortal:
        return PartnerPortal(systems(), components.idempotency_store, components.settings.problem_base_uri)

    return provide


def _partner_webhooks(components: Components) -> PartnerWebhooks:
    settings = components.settings
    return PartnerWebhooks.build(
        components.engine,
        resolve_master_key(settings),
        allow_loopback=settings.allow_loopback_destinations,
        secret_grace_hours=settings.partner_webhook_secret_grace_hours,
    )


def _console(state: State, components: Components) -> Console:
    settings = components.settings
    sessions = ConsoleSessions(
        components.engine,
        resolve_master_key(settings),
        idle_seconds=settings.console_session_idle_seconds,
        max_seconds=settings.console_session_max_seconds,
    )
    state.console_sessions = sessions  # beside the app's other stores, for operators' tooling
    return Console(
        sessions,
        issuer=settings.issuer,
        embedded=not settings.public_url,
        token_renew_seconds=settings.console_token_renew_seconds,
        session_max_seconds=settings.console_session_max_seconds,
        client_name=lambda client_id: getattr(state.oauth.clients.cached(client_id), "name", None),
    )


def _operations_data(state: State, components: Components) -> Callable[[], OperationsData]:
    def provide() -> OperationsData:
        return OperationsData(
            engine=components.engine,
            audit_query=state.audit_query,
            clients=state.oauth.clients,
            circuit_breakers=components.circuit_breakers,
            sla_seconds=components.settings.sla_seconds,
            catalogue=lambda: catalogue(state),
            client_usage=lambda record: client_usage(state, record),
        )

    return provide


def _management(state: State, components: Components) -> Callable[[], ManagementSources]:
    def usage(record: ClientRecord) -> Any:
        return client_usage(state, record)

    def provide() -> ManagementSources:
        return ManagementSources(
            admin=state.client_admin,
            audit_log=components.audit,
            audit_query=state.audit_query,
            issuer=components.settings.issuer,
            governance_reloader=state.governance_reloader,
            governance=lambda: state.governance,
            catalogue=lambda: catalogue(state),
            client_usage=usage,
            vendor_checks=components.vendor_checks,
        )

    return provide
