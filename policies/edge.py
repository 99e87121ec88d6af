"""The gateway's edge: what happens to every request before Litestar routes it.

:class:`Edge` is an ASGI app around the Litestar app (``gateway.app.create_app`` returns
one; it is what the server runs), so it runs for every HTTP request, matched route or not
(404s, 405s, CORS preflights included: Litestar middleware runs only on matched routes),
and passes lifespan events through untouched. In this order:

1. **identity headers stripped**: inbound headers that could pass for an identity
   established by Strata (:data:`IDENTITY_HEADER_PREFIXES`, :data:`IDENTITY_HEADER_NAMES`)
   are removed from ``scope["headers"]`` before any policy, handler or vendor sees them;
2. **trusted proxies**: only when the direct peer is inside ``trusted_proxies`` are
   ``Forwarded`` (RFC 7239, preferred when present) or ``X-Forwarded-For`` /
   ``X-Forwarded-Proto`` believed. The client is the right-most address that is not itself
   a trusted proxy; it replaces ``scope["client"]`` (and the proto ``scope["scheme"]``), so
   the pre-auth limit, audit and every policy see the real client;
3. **load shedding**: beyond ``max_in_flight`` requests in this process, a new request is
   answered at once with 503 ``overloaded`` + ``Retry-After: 1`` (``/health/*`` and
   ``/metrics`` are exempt), counted in ``strata_shed_requests_total``;
4. **CORS** per API version (governance ``cors``, a :class:`CorsAllowlist` that a governance
   reload replaces): a preflight from an allowlisted origin
   is answered here with 204; a preflight from any other origin, or to an API without CORS
   config, gets 403 problem+json ``cors-origin-not-allowed`` with no CORS header at all.
   Actual requests from allowlisted origins get ``Access-Control-Allow-Origin`` and
   ``Access-Control-Expose-Headers``; responses of a CORS-enabled API carry ``Vary: Origin``
   (cache correctness); nothing else gets CORS headers;
5. **security headers** on every response: ``X-Content-Type-Options: nosniff`` (once, the
   pipeline may have added it already), ``Cache-Control: no-store`` on ``/oauth/*`` and
   ``/gateway/*`` (plus ``Pragma: no-cache`` on the token endpoint, RFC 6749 §5.1),
   ``Strict-Transport-Security`` when the effective scheme or the public URL is https.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter

from core.correlation import REQUEST_ID, new_request_id
from core.problems import problem_body
from policies.governance import CorsConfig
from policies.pipeline import EDGE_RESPONSE_HEADERS, ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Headers = list[tuple[bytes, bytes]]
Decorate = Callable[..., Headers]

IDENTITY_HEADER_PREFIXES: tuple[bytes, ...] = (
    b"x-consumer-",
    b"x-authenticated-",
    b"x-credential-",
    b"x-user-",
)
"""Lower-case prefixes of inbound headers that claim an identity; always stripped."""
IDENTITY_HEADER_NAMES: frozenset[bytes] = frozenset(
    {b"x-client-id", b"x-forwarded-user", b"x-partner-id", b"x-customer-id"}
)
"""Lower-case names of inbound headers that claim an identity; always stripped."""

SHED_EXEMPT_PREFIXES = ("/health/", "/metrics")
CORS_ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent"
CORS_EXPOSE_HEADERS = "RateLimit, RateLimit-Policy, Retry-After, X-Request-ID, Deprecation, Sunset, Link"
HSTS_VALUE = b"max-age=31536000"
TOKEN_PATH = "/oauth/token"
NO_STORE_PREFIXES = ("/oauth/", "/gateway/")
WS_SCHEMES = {"http": "ws", "https": "wss"}

SHED_REQUESTS = Counter("strata_shed_requests_total", "Requests refused with 503 because too many were in flight")


class CorsAllowlist:
    """Governance ``cors``: API id (``<layer>/<api>/v<N>``) → allowlist, looked up by request path.

    Shared by the edge and the governance reload, which replaces it whole.
    """

    def __init__(self, cors: Mapping[str, CorsConfig] | None = None) -> None:
        self._by_base_path: dict[str, CorsConfig] = {}
        self.replace(cors or {})

    def replace(self, cors: Mapping[str, CorsConfig]) -> None:
        """Put a new allowlist in force (hot reload)."""
        # "/<layer>/<api>/v<N>" → allowlist, matched on path segments.
        self._by_base_path = {f"/{api_id}": allowlist for api_id, allowlist in cors.items()}

    def of(self, path: str) -> CorsConfig | None:
        """The allowlist of the API version ``path`` belongs to, if it has one."""
        if not self._by_base_path:
            return None
        parts = path.split("/", 4)  # "", layer, api, vN, rest
        if len(parts) < 4:
            return None
        return self._by_base_path.get("/".join(parts[:4]))


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """What the edge needs, resolved at start-up."""

    trusted_proxies: tuple[Network, ...] = ()
    max_in_flight: int = 0
    """0 = no load shedding."""
    cors: CorsAllowlist = field(default_factory=CorsAllowlist)
    """Governance ``cors``, replaced in place by a reload."""
    public_https: bool = False
    """The public URL is https: every response carries HSTS."""
    problem_base_uri: str = "https://strata.dev/problems/"


def _is_identity_header(name: bytes) -> bool:
    lowered = name.lower()
    return lowered in IDENTITY_HEADER_NAMES or lowered.startswith(IDENTITY_HEADER_PREFIXES)


# Every identity header name and prefix has "-" second ("x-"): the test a request's other headers need.
assert all(name[1:2] == b"-" for name in (*IDENTITY_HEADER_NAMES, *IDENTITY_HEADER_PREFIXES))


def strip_identity_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` without any inbound identity header (the same list when there is none)."""
    if type(headers) is list:
        # A plain loop, not any() over a generator: this runs on every request.
        for name, _ in headers:
            # A one-byte slice is a cached object: cheaper than startswith() with a tuple.
            if name[1:2] == b"-" and _is_identity_header(name):
                break
        else:
            return headers
    return [(name, value) for name, value in headers if not _is_identity_header(name)]


def _is_port(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts ``"²"``, which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _parse_node(text: str) -> tuple[Address, int] | None:
    """An address (and port, 0 if none) of a ``for=`` node or an X-Forwarded-For item."""
    node = text.strip().strip('"').strip()
    port = 0
    if node.startswith("["):  # [v6] or [v6]:port
        end = node.find("]")
        if end < 0:
            return None
        host, rest = node[1:end], node[end + 1 :]
        if rest.startswith(":") and _is_port(rest[1:]):
            port = int(rest[1:])
        elif rest:
            return None
    elif node.count(":") == 1:  # v4:port
        host, _, port_text = node.partition(":")
        if not _is_port(port_text):
            return None
        port = int(port_text)
    else:
        host = node
    try:
        return ipaddress.ip_address(host), port if port <= 65535 else 0
    except ValueError:
        return None  # "unknown", an obfuscated node, garbage


def _forwarded_hops(values: list[str]) -> list[tuple[str, str]]:
    """``(for, proto)`` of each element of RFC 7239 ``Forwarded`` headers, in order."""
    hops: list[tuple[str, str]] = []
    for value in values:
        for element in value.split(","):
            node, proto = "", ""
            for pair in element.split(";"):
                key, _, item = pair.partition("=")
                key = key.strip().lower()
                if key == "for":
                    node = item.strip()
                elif key == "proto":
                    proto = item.strip().strip('"').lower()
            hops.append((node, proto))
    return hops


def _header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def resolve_client(
    peer: tuple[str, int] | None, headers: list[tuple[bytes, bytes]], networks: tuple[Network, ...]
) -> tuple[tuple[str, int], str] | None:
    """The real client and scheme when ``peer`` is a trusted proxy that forwarded them.

    Walks the forwarded chain from the right, skipping trusted proxies; the first address
    that is not a trusted proxy is the client. An entry that is not an address ends the
    walk (nothing left of it can be believed): the last address walked is the client.
    Returns None when nothing is to change (untrusted peer, no forwarding header).
    """
    if not networks or peer is None:
        return None
    try:
        peer_address = ipaddress.ip_address(peer[0])
    except ValueError:
        return None
    if not _trusted(peer_address, networks):
        return None
    forwarded = _header_values(headers, b"forwarded")
    if forwarded:
        hops = _forwarded_hops(forwarded)
    else:
        chain = [item for value in _header_values(headers, b"x-forwarded-for") for item in value.split(",")]
        protos = [item.strip().lower() for v in _header_values(headers, b"x-forwarded-proto") for item in v.split(",")]
        if len(protos) == len(chain):
            hops = list(zip(chain, protos, strict=True))
        else:  # one value set by the nearest proxy (the common case): it applies to the whole chain
            last_proto = protos[-1] if protos else ""
            hops = [(item, last_proto) for item in chain]
    if not hops:
        return None
    client: tuple[Address, int] | None = None
    scheme = ""
    for node, proto in reversed(hops):
        parsed = _parse_node(node)
        if parsed is None:
            break
        client, scheme = parsed, proto
        if not _trusted(parsed[0], networks):
            break
    if client is None:
        return None
    return (str(client[0]), client[1]), scheme if scheme in ("http", "https") else ""


class Edge:
    """The ASGI app around the gateway's app (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: EdgeConfig) -> None:
        self.app = app
        self.config = config
        self.cors = config.cors
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = strip_identity_headers(scope.get("headers", ()))
        scope["headers"] = headers
        if self.config.trusted_proxies:  # no proxy trusted (the default): nothing to resolve
            resolved = resolve_client(scope.get("client"), headers, self.config.trusted_proxies)
            if resolved is not None:
                scope["client"] = resolved[0]
                scheme = resolved[1]
                if scheme:
                    scope["scheme"] = scheme if scope["type"] == "http" else WS_SCHEMES[scheme]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path: str = scope["path"]
        cors = self.cors.of(path)
        origin = None
        if cors is not None or scope["method"] == "OPTIONS":
            origin = next((value.decode("latin-1") for name, value in headers if name.lower() == b"origin"), None)
        allowed_origin = origin if cors is not None and origin is not None and origin in cors.origins else None
        hsts = self.config.public_https or scope.get("scheme") == "https"
        if cors is None:  # most APIs: the decoration is one of eight, built once
            decorate = _PLAIN_DECORATORS[(path.startswith(NO_STORE_PREFIXES), path == TOKEN_PATH, hsts)]
        else:
            decorate = _decorator(path, True, allowed_origin, hsts)

        def decorated_send(message: Message) -> Awaitable[None]:
            # A plain function returning the server's awaitable: no coroutine of its own for
            # each message (the body passes through untouched).
            if message["type"] == "http.response.start":
                # The pipeline's headers of an ungoverned route (its request id) come first, as
                # if the pipeline had appended them: one copy of the start message, not two.
                headers = decorate(message.get("headers", []), scope.get(EDGE_RESPONSE_HEADERS, ()))
                message = {**message, "headers": headers}
            return send(message)

        limit = self.config.max_in_flight
        if limit and self.in_flight >= limit and not path.startswith(SHED_EXEMPT_PREFIXES):
            SHED_REQUESTS.inc()
            await self._problem(
                scope, decorated_send, 503, "overloaded", "Overloaded",
                "The gateway is serving as many requests as it can; retry shortly.",
                [(b"retry-after", b"1")],
            )  # fmt: skip
            return

        if scope["method"] == "OPTIONS" and origin is not None and _has(headers, b"access-control-request-method"):
            if allowed_origin is None or cors is None:
                await self._problem(
                    scope, decorated_send, 403, "cors-origin-not-allowed", "Origin not allowed",
                    "This origin may not call this API from a browser.", [],
                )  # fmt: skip
                return
            preflight = [
                (b"access-control-allow-origin", allowed_origin.encode("latin-1")),
                (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
                (b"access-control-max-age", str(cors.max_age).encode()),
                (b"content-length", b"0"),
            ]
            headers = decorate(preflight, (), preflight=True)
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        self.in_flight += 1
        try:
            await self.app(scope, receive, decorated_send)
        finally:
            self.in_flight -= 1

    async def _problem(
        self,
        scope: Scope,
        send: Send,
        status: int,
        problem: str,
        title: str,
        detail: str,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        incoming = next((v.decode("latin-1") for n, v in scope["headers"] if n.lower() == b"x-request-id"), "")
        request_id = incoming if REQUEST_ID.match(incoming) else new_request_id()
        body = problem_body(
            status=status,
            problem=problem,
            title=title,
            detail=detail,
            instance=scope["path"],
            request_id=request_id,
            base_uri=self.config.problem_base_uri,
        )
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _has(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _plain_decorator(no_store: bool, token: bool, hsts: bool) -> Decorate:
    """The edge's response headers of an API without CORS: fixed per (no-store, token, HSTS)."""
    replaced = {b"x-content-type-options"}
    added = [(b"x-content-type-options", b"nosniff")]
    if no_store:
        replaced.add(b"cache-control")
        added.append((b"cache-control", b"no-store"))
    if token:
        replaced.add(b"pragma")
        added.append((b"pragma", b"no-cache"))
    if hsts:
        replaced.add(b"strict-transport-security")
        added.append((b"strict-transport-security", HSTS_VALUE))
    frozen = frozenset(replaced)

    fixed = tuple(added)

    def decorate(headers: Headers, before: Iterable[tuple[bytes, bytes]], preflight: bool = False) -> Headers:
        out = [header for header in headers if header[0].lower() not in frozen]
        out += before
        out += fixed
        return out

    return decorate


_PLAIN_DECORATORS = {
    (no_store, token, hsts): _plain_decorator(no_store, token, hsts)
    for no_store in (False, True)
    for token in (False, True)
    for hsts in (False, True)
}
"""Built once: most responses belong to an API without CORS, whose decoration depends on nothing else."""


def _decorator(path: str, cors_api: bool, allowed_origin: str | None, hsts: bool) -> Decorate:
    """A function adding the edge's response headers to a response's header list.

    It takes the response's headers, the headers to append before the edge's own (the pipeline's
    request id on an ungoverned route), and whether the response answers a preflight.
    """
    no_store = path.startswith(NO_STORE_PREFIXES)
    token = path == TOKEN_PATH
    if not cors_api:
        return _PLAIN_DECORATORS[(no_store, token, hsts)]

    def decorate(headers: Headers, before: Iterable[tuple[bytes, bytes]], preflight: bool = False) -> Headers:
        replaced = {b"x-content-type-options"}
        if no_store:
            replaced.add(b"cache-control")
        if token:
            replaced.add(b"pragma")
        if hsts:
            replaced.add(b"strict-transport-security")
        out = [(name, value) for name, value in headers if name.lower() not in replaced]
        out += before
        out.append((b"x-content-type-options", b"nosniff"))
        if no_store:
            out.append((b"cache-control", b"no-store"))
        if token:
            out.append((b"pragma", b"no-cache"))
        if hsts:
            out.append((b"strict-transport-security", HSTS_VALUE))
        if cors_api:
            if not any(name.lower() == b"vary" and b"origin" in value.lower() for name, value in out):
                out.append((b"vary", b"Origin"))
            if allowed_origin is not None and not preflight:
                out = [(n, v) for n, v in out if not n.lower().startswith(b"access-control-")]
                out.append((b"access-control-allow-origin", allowed_origin.encode("latin-1")))
                out.append((b"access-control-expose-headers", CORS_EXPOSE_HEADERS.encode()))
        return out

    return decorate
