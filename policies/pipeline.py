"""The governance pipeline: the compiled policy chain of the matched route, run per request.

Order (``docs/architecture.md``, "One request"), declared once as one literal tuple in the composition
root (``gateway.chain``, see :mod:`policies.chain`) — no priorities spread over files::

    correlation → lifecycle → request limits → pre-auth limit → authentication
    → authorization → rate limit → request contract → idempotency → handler
    ← response contract ← idempotency (store) ← response decoration ← audit/metrics

:class:`GovernanceMiddleware` runs as ASGI middleware on every route. Litestar builds the
middleware stack per route, so ``scope["route_handler"].opt["strata_route"]`` carries the
route's :class:`~policies.routes.CompiledRoute`, compiled once at start-up (its request,
response and completion policies); a route without one (OAuth, docs, metrics, sandboxes)
only gets correlation: its request id is echoed, with the security headers, by the edge's one
send wrapper (:data:`EDGE_RESPONSE_HEADERS`), so the response's start message is copied once.

Handler exceptions are turned into problems *inside* the pipeline, so response policies,
audit and metrics see them like any other response.

With a tracer (``core.tracing``), a request is a server span and every request and
response hook that runs is a child span named after its policy (completion hooks, i.e.
audit and metrics, are not: a span would cost more than they do); without one, or when the
request is not sampled, the only per-request cost of tracing is testing ``tracer``. Either
way the request's ids are in :data:`~core.correlation.CURRENT` while it is handled,
for log lines and vendor calls.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import structlog

from core.correlation import CURRENT, correlation_ids
from core.problems import problem_body
from policies.base import AWAIT
from policies.context import CONTEXT_STATE_KEY, CapturedResponse, Denial, RequestContext, read_body
from policies.correlation import correlate
from policies.routes import CompiledRoute
from policies.spans import end_server_span, start_server_span, traced_hook

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

logger = structlog.get_logger("strata.pipeline")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ExceptionMapper = Callable[[Exception, str, str], CapturedResponse]

ROUTE_OPT_KEY = "strata_route"
EDGE_RESPONSE_HEADERS = "strata.edge_response_headers"
"""Scope key: raw headers the edge (:class:`policies.edge.Edge`) appends to the response, before its
own, when the request took the ungoverned path (the request id the pipeline chose)."""
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


_HEADER_NAMES: dict[bytes, str] = {}
"""Raw header name → lower-case ``str``, for the names seen so far (clients send the same few)."""
_HEADER_NAMES_MAX = 1024
"""Beyond this many distinct names (a client inventing them), names are decoded without caching."""
_NAME_BYTES: dict[str, bytes] = {}
"""Policy header name → its ``latin-1`` bytes (policies use a handful of fixed names)."""


def _header_name(raw_name: bytes) -> str:
    name = raw_name.decode("latin-1").lower()
    if len(_HEADER_NAMES) < _HEADER_NAMES_MAX:
        _HEADER_NAMES[raw_name] = name
    return name


def _name_bytes(name: str) -> bytes:
    encoded = _NAME_BYTES.get(name)
    if encoded is None:
        encoded = name.encode("latin-1")
        if len(_NAME_BYTES) < _HEADER_NAMES_MAX:
            _NAME_BYTES[name] = encoded
    return encoded


def request_headers(scope: Scope, ctx_state: dict[str, Any]) -> dict[str, str]:
    """Lower-case header map (first value wins); records header size and credential count."""
    headers: dict[str, str] = {}
    size = 0
    authorizations = 0
    names = _HEADER_NAMES
    for raw_name, raw_value in scope["headers"]:
        size += len(raw_name) + len(raw_value) + 4
        name = names.get(raw_name) or _header_name(raw_name)
        if name == "authorization":
            authorizations += 1
        if name not in headers:
            headers[name] = raw_value.decode("latin-1")
    ctx_state["header_bytes"] = size
    ctx_state["authorization_count"] = authorizations
    return headers


def denial_response(denial: Denial, ctx: RequestContext, base_uri: str) -> CapturedResponse:
    """The HTTP response of a denial: a problem+json body, or a stored replay."""
    if denial.replay is not None:
        return denial.replay
    body = problem_body(
        status=denial.status,
        problem=denial.problem,
        title=denial.title,
        detail=denial.detail,
        instance=ctx.path,
        request_id=ctx.request_id,
        errors=denial.errors,
        extensions=denial.extensions,
        base_uri=base_uri,
    )
    headers = [(b"content-type", b"application/problem+json")]
    headers.extend((name.encode("latin-1"), value.encode("latin-1")) for name, value in denial.headers.items())
    return CapturedResponse(status=denial.status, headers=headers, body=body)


class GovernanceMiddleware:
    """ASGI middleware running the compiled policy chain of the matched route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        map_exception: ExceptionMapper,
        problem_base_uri: str,
        tracer: Tracer | None = None,
    ) -> None:
        self.app = app
        self.map_exception = map_exception
        self.problem_base_uri = problem_base_uri
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        route: CompiledRoute | None = handler.opt.get(ROUTE_OPT_KEY) if handler is not None else None
        if route is None:
            # Routes outside the contracts: the request id (echoed by the edge) and the security
            # headers (the edge's) only, no span; inline, as a coroutine less counts here.
            incoming = incoming_traceparent = None
            for raw_name, value in scope["headers"]:
                name = raw_name.lower()
                if name == b"x-request-id" and incoming is None:
                    incoming = value.decode("latin-1")
                elif name == b"traceparent" and incoming_traceparent is None:
                    incoming_traceparent = value.decode("latin-1")
            ids = correlation_ids(incoming, incoming_traceparent)
            scope.setdefault("state", {})["request_id"] = ids[0]
            # The edge's one send wrapper appends these to the response's headers (before its
            # own): no second wrapper copying the start message. The traceparent is not echoed
            # here (these routes answer as before), but it is in every log line of the request.
            scope[EDGE_RESPONSE_HEADERS] = ((b"x-request-id", ids[0].encode()),)
            ids_token = CURRENT.set(ids)
            try:
                await self.app(scope, receive, send)
            finally:
                CURRENT.reset(ids_token)
            return
        state: dict[str, Any] = {}
        client = scope.get("client")
        ctx = RequestContext(
            method=scope["method"],
            path=scope["path"],
            headers=request_headers(scope, state),
            query_string=scope.get("query_string", b""),
            path_params=scope.get("path_params", {}),
            source=client[0] if client else "",
            route=route,
            state=state,
            started_at=time.perf_counter(),
            receive=receive,
        )
        correlate(ctx)
        request_state = scope.setdefault("state", {})
        request_state["request_id"] = ctx.request_id
        # Handlers reach the principal and annotate the audit record through this (see observe.py).
        request_state[CONTEXT_STATE_KEY] = ctx
        tracer = self.tracer
        span = span_token = None
        if tracer is not None:
            span, span_token = start_server_span(tracer, ctx)
            if not span.is_recording():
                tracer = None  # not sampled: no policy spans either (vendors still get the traceparent)
        ids_token = CURRENT.set((ctx.request_id, ctx.traceparent))
        status = 500
        try:
            response = await self._run(ctx, scope, send, tracer)
            status = response.status if response is not None else ctx.state.get("streamed_status", 500)
        finally:
            for policy, complete_now in route.completion_steps:
                try:  # not spanned: audit and metrics cost less than a span would
                    if complete_now is not None:
                        complete_now(ctx, status)
                    else:
                        await policy.on_complete(ctx, status)
                except Exception:  # completion hooks (audit, metrics) never fail a request
                    logger.exception("on_complete of %s failed", policy.name)
            CURRENT.reset(ids_token)
            if span is not None:
                end_server_span(span, span_token, ctx, status)

    async def _run(
        self, ctx: RequestContext, scope: Scope, send: Send, tracer: Tracer | None
    ) -> CapturedResponse | None:
        route = ctx.route
        for policy, request_now in route.request_steps:
            if tracer is not None:
                denial = await traced_hook(tracer, policy.name, "request", policy.on_request(ctx))
            elif request_now is not None:
                # The hook's synchronous form (no coroutine); AWAIT: it needs I/O after all.
                outcome = request_now(ctx)
                denial = await policy.on_request(ctx) if outcome is AWAIT else outcome
            else:
                denial = await policy.on_request(ctx)
            if denial is None:
                continue
            if policy.mode == "shadow":
                ctx.shadow_denials.append(policy.name)
                continue
            denial.policy = policy.name
            if denial.replay is None:
                ctx.denied = denial
            else:  # an idempotent replay answers the request; it is not a refusal
                ctx.state["replayed"] = True
            response = denial_response(denial, ctx, self.problem_base_uri)
            await self._send(response, ctx, send)
            return response
        if not ctx.body_read:
            await self._read_remaining_body(ctx)
        response = await self._call_handler(ctx, scope)
        for policy, response_now in route.response_steps:
            if tracer is not None:
                await traced_hook(tracer, policy.name, "response", policy.on_response(ctx, response))
            elif response_now is not None:
                response_now(ctx, response)
            else:
                await policy.on_response(ctx, response)
        # Not through _send: a coroutine less on every governed response.
        await send(start_message(response, ctx))
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
        return response

    async def _read_remaining_body(self, ctx: RequestContext) -> None:
        """Buffer the body for the handler when no policy read it (request limits off)."""
        await read_body(ctx, 1 << 62)

    async def _call_handler(self, ctx: RequestContext, scope: Scope) -> CapturedResponse:
        body_sent = False

        async def replay_receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": ctx.body, "more_body": False}
            return await ctx.receive()  # type: ignore[no-any-return]

        captured = CapturedResponse(status=500, headers=[], body=b"")
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                # Litestar writes lower-case header names already.
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay_receive, capture)
        except Exception as exc:  # every failure becomes a problem inside the pipeline
            return self.map_exception(exc, ctx.path, ctx.request_id)
        captured.body = b"".join(chunks)
        return captured

    @staticmethod
    async def _send(response: CapturedResponse, ctx: RequestContext, send: Send) -> None:
        """Send ``response`` with the policies' headers (see :func:`start_message`)."""
        await send(start_message(response, ctx))
        await send({"type": "http.response.body", "body": response.body, "more_body": False})


def start_message(response: CapturedResponse, ctx: RequestContext) -> Message:
    """The ``http.response.start`` message of ``response``, with the policies' headers."""
    # Policy headers (correlation, rate limit, lifecycle) replace a handler's header of
    # the same name; Link is the exception, as several links may coexist.
    policy_headers = [(_name_bytes(name), value.encode("latin-1")) for name, value in ctx.response_headers]
    replaced = {name for name, _ in policy_headers if name != b"link"}
    replaced.add(b"content-length")
    headers = [header for header in response.headers if header[0] not in replaced]
    headers += policy_headers
    headers += SECURITY_HEADERS
    headers.append((b"content-length", str(len(response.body)).encode()))
    return {"type": "http.response.start", "status": response.status, "headers": headers}
