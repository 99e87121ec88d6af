"""The app factory: settings → the ASGI app the server runs, every API behind the governance pipeline.

``create_app`` decides everything that can be decided at start-up (governance, contracts,
the compiled chain of every route) and leaves to the lifespan only what needs I/O
(database, keys, Redis, vendor connectors). What it returns is a :class:`GatewayApp`: the
edge (:class:`policies.edge.Edge`, an ASGI app) around the Litestar app, which it exposes as
``litestar`` (routes, ``state``, ``lifespan()``; ``state`` is on the wrapper too). The edge
runs before Litestar routes a request, so it sees 404s, 405s and CORS preflights too, which
Litestar middleware does not; lifespan events pass through it to Litestar.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.response import Response

from core.logging import configure_logging
from gateway.chain import governance_chain
from gateway.components import Components
from gateway.dependencies import route_dependencies, route_options
from gateway.exceptions import exception_handlers, exception_to_response
from gateway.health import health_live, health_ready
from gateway.metrics import exposition
from gateway.routing import bind_contracts
from gateway.sandbox_credentials import with_sandbox_credentials
from gateway.settings import Settings, load_settings
from policies.edge import CorsAllowlist, Edge, EdgeConfig
from policies.governance import load_governance
from policies.pipeline import GovernanceMiddleware

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


class UngovernedRouteError(RuntimeError):
    """A route handler matches no contract operation and is not an explicit exemption."""

    def __init__(self, routes: list[str]) -> None:
        super().__init__(f"routes without a contract operation: {', '.join(routes)}")
        self.routes = routes


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    """Prometheus exposition: this process's metrics, or every worker's (see gateway.metrics)."""
    body, media_type = exposition()
    return Response(content=body, media_type=media_type)


class GatewayApp(Edge):
    """What the server runs: the edge around the gateway's Litestar app (an ASGI app itself)."""

    def __init__(self, litestar: Litestar, config: EdgeConfig) -> None:
        super().__init__(litestar, config)  # type: ignore[arg-type]  # Litestar types its ASGI events
        self.litestar = litestar
        """The Litestar app inside: routes, ``state`` and ``lifespan()``."""

    @property
    def state(self) -> State:
        """The Litestar app's state (settings, governance, components, services)."""
        return self.litestar.state


def create_app(
    settings: Settings | None = None,
    *,
    extra_route_handlers: Sequence[Any] = (),
    governed: bool = True,
    tracer_provider: TracerProvider | None = None,
    **overrides: Any,
) -> GatewayApp:
    """Build the gateway app: the edge around the Litestar app (see the module docstring).

    Args:
        settings: resolved settings (read from the environment when omitted).
        extra_route_handlers: more handlers, e.g. the benchmark's cheap route.
        governed: bind contracts and run the policy chain; ``False`` only for the
            benchmark's side-by-side baseline.
        tracer_provider: trace into this provider (tests) instead of the one
            ``otlp_endpoint`` configures; see :mod:`core.tracing`.
        overrides: settings to replace when ``settings`` is omitted.
    """
    if settings is None:
        settings = load_settings(overrides or None)
    # The sandboxes' credentials (random per state) reach the connectors as their settings.
    settings = with_sandbox_credentials(settings)
    configure_logging(settings.log_level, settings.log_redact_field_names)
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1" if settings.issuer.startswith("http://") else "0")
    governance = load_governance(settings.governance_path, own_issuer=settings.issuer)
    components = Components(settings, governance, tracer_provider=tracer_provider)
    chain = governance_chain(settings, governance, components)
    base_uri = settings.problem_base_uri
    # The app's state, which the dependency providers read (gateway.dependencies). Not empty:
    # Litestar replaces a falsy ``state`` argument with a new State of its own.
    state = State({"settings": settings, "governance": governance, "components": components})
    app = Litestar(
        route_handlers=[metrics, health_live, health_ready, *components.route_handlers(), *extra_route_handlers],
        dependencies=route_dependencies(state, components),
        opt=route_options(components),
        state=state,
        middleware=[
            DefineMiddleware(
                GovernanceMiddleware,  # type: ignore[arg-type]
                map_exception=exception_to_response(base_uri),
                problem_base_uri=base_uri,
                tracer=components.tracing.tracer,
            )
        ],
        exception_handlers=exception_handlers(base_uri),
        lifespan=[components.lifespan],
        openapi_config=None,
        # Litestar's default LoggingConfig would replace the root handler (our JSON lines)
        # with its own text formatter: logging is configured by core.logging alone.
        logging_config=None,
        debug=False,
    )
    cors = CorsAllowlist(governance.cors)
    edge_config = EdgeConfig(
        trusted_proxies=settings.trusted_proxy_networks,
        max_in_flight=settings.max_in_flight,
        cors=cors,
        public_https=settings.public_url.startswith("https://"),
        problem_base_uri=base_uri,
    )
    app.state.settings = settings
    app.state.governance = governance
    app.state.components = components
    app.state.chain = chain
    app.state.cors = cors
    if governed:
        table = bind_contracts(app, settings.contracts_path, chain)
        if table.handlers_without_operation:
            # Fail closed: a handler outside every contract would be served with no token
            # check and no scopes at all.
            raise UngovernedRouteError(table.handlers_without_operation)
        app.state.route_table = table
    else:
        app.state.route_table = None
    return GatewayApp(app, edge_config)
