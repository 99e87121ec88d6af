"""What a policy sees: the per-request context, the principal, and a denial.

A policy gets a :class:`RequestContext` (narrow: method, path, headers, principal, the
route's compiled config) and returns ``None`` to continue or a :class:`Denial` to answer
with a problem. It never calls the next policy itself; the pipeline does.

Handlers reach the same context through :func:`request_context` (and the caller through
:func:`principal_of`): the pipeline keeps it in the ASGI scope's ``state`` under
:data:`CONTEXT_STATE_KEY`, and nothing else reads that key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from policies.routes import CompiledRoute

CONTEXT_STATE_KEY = "strata_context"
"""Key of the :class:`RequestContext` in the ASGI scope's ``state`` (``request.state``)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as established by the authentication policy."""

    subject: str
    """``sub`` of the token (the client id for client-credentials tokens)."""
    client_id: str
    issuer: str
    oauth_scopes: frozenset[str]
    """Granted OAuth scopes (never the ASGI scope)."""
    tier: str | None = None
    partner_id: str | None = None
    customer_id: str | None = None
    token_id: str | None = None
    """``jti`` of the access token, for revocation and audit."""
    expires_at: float | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CapturedResponse:
    """A handler's response, buffered so response policies can read and change it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """First value of a header (``name`` lower-case), or None."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(slots=True)
class Denial:
    """A policy's decision to stop the request with an RFC 9457 problem."""

    status: int
    problem: str
    """Suffix of the problem ``type`` under the configured base URI, or an absolute URI."""
    title: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    policy: str = ""
    """Name of the policy that denied (set by the pipeline)."""
    replay: CapturedResponse | None = None
    """A complete stored response to answer with instead of a problem (idempotent replay)."""


@dataclass(slots=True)
class RequestContext:
    """Per-request state shared by the policies of one route's chain."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Request headers with lower-case names (the first value of each)."""
    query_string: bytes
    path_params: Mapping[str, Any]
    source: str
    """Address of the caller (the direct peer until trusted proxies are configured)."""
    route: CompiledRoute
    request_id: str = ""
    traceparent: str = ""
    body: bytes = b""
    json_body: Any = None
    """The decoded JSON body once the request-limits policy has parsed it."""
    has_json_body: bool = False
    principal: Principal | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers every response of this request carries (added by policies)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space for policies that act on both request and response."""
    started_at: float = 0.0
    denied: Denial | None = None
    shadow_denials: list[str] = field(default_factory=list)
    """Policies in shadow mode that would have denied."""
    receive: Any = None
    """The ASGI ``receive`` callable; read the body through :func:`read_body` only."""
    body_read: bool = False


class Connection(Protocol):
    """What the accessors need of a request: its ASGI scope (a Litestar ``Request`` has one)."""

    @property
    def scope(self) -> Any:
        """The ASGI scope."""


def request_context(connection: Connection) -> RequestContext | None:
    """The pipeline's context of this request; ``None`` on a route the pipeline does not govern."""
    context = connection.scope.get("state", {}).get(CONTEXT_STATE_KEY)
    return context if isinstance(context, RequestContext) else None


def principal_of(connection: Connection) -> Principal | None:
    """Who is calling, as authentication established it; ``None`` on a public or ungoverned route."""
    context = request_context(connection)
    return context.principal if context is not None else None


class BodyTooLarge(Exception):
    """The request body exceeds the limit it was read with."""


async def read_body(ctx: RequestContext, max_bytes: int) -> bytes:
    """Read the whole request body once (idempotent), refusing more than ``max_bytes``.

    The declared ``Content-Length`` is checked before anything is read, so an oversized
    upload is refused without buffering it.
    """
    if ctx.body_read:
        return ctx.body
    declared = ctx.headers.get("content-length")
    # ASCII digits only: "²".isdigit() is true, and int("²") raises.
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await ctx.receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge()
        chunks.append(chunk)
        more = message.get("more_body", False)
    ctx.body = b"".join(chunks)
    ctx.body_read = True
    return ctx.body
