"""The OAuth service: stores, Authlib core and the async request path around it.

:class:`OAuthService` owns the client store, the signing keys, the revocation list and the
synchronous Authlib server. Its ``token`` / ``introspect`` / ``revoke`` coroutines are the
one code path every caller goes through (the Litestar handlers and the CLI's
:func:`request_token`): parse the form body (RFC 6749 Appendix B), refuse callers that
failed authentication too often, make sure the claimed client is in the cache, run the
synchronous core, then do the I/O it asked for (audit callback, revocation write).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import structlog
from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import OAuth2Error
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from core.background import cancel_and_wait
from core.destinations import DestinationPolicy
from core.settings import CoreSettings
from policies.oauth.auth_failures import AuthFailureLimiter
from policies.oauth.client_assertion import SharedJtiGuard, unverified_claims, unverified_kid
from policies.oauth.client_jwks import ClientJwksCache
from policies.oauth.clients import ClientStore
from policies.oauth.introspection import StrataIntrospectionEndpoint
from policies.oauth.keys import SigningKeyStore
from policies.oauth.metadata import authorization_server_metadata
from policies.oauth.revocation import RevocationList
from policies.oauth.revocation_endpoint import StrataRevocationEndpoint
from policies.oauth.server import (
    CLIENT_AUTH_FAILED,
    INTROSPECTION_PATH,
    NO_STORE_HEADERS,
    REVOCATION_PATH,
    TOKEN_PATH,
    Headers,
    OAuthHttpRequest,
    OAuthResponse,
    StrataAuthorizationServer,
    claimed_client_id,
)

log = structlog.get_logger(__name__)

CLIENT_UNDER_ATTACK = Counter(
    "strata_oauth_client_failure_signals_total",
    "Times a client id reached the failed-authentication signal threshold (from any address; never a lock-out)",
)

AuthFailureCallback = Callable[[str | None, str, str], Awaitable[None] | None]
"""``on_auth_failure(client_id, source, reason)``: called for every failed client authentication."""

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
STORE_REFRESH_SECONDS = 5.0
"""How often signing keys are re-read, to see rotations made by other processes."""
CLIENT_CHANGE_POLL_SECONDS = 0.5
"""How often changed clients are read (one indexed query): a client disabled by another
process is refused here within about this long."""


class TokenRequestError(Exception):
    """The token endpoint refused a request made through :func:`request_token`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> OAuthResponse:
    """An RFC 6749 §5.2 error response."""
    merged = {"Content-Type": "application/json", **NO_STORE_HEADERS, **(headers or {})}
    return OAuthResponse(status, {"error": error, "error_description": description}, merged)


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """Parse an ``application/x-www-form-urlencoded`` body; ValueError says what is wrong.

    Parameters must not repeat (RFC 6749 §3.2).
    """
    if content_type.split(";", 1)[0].strip().lower() != FORM_MEDIA_TYPE:
        raise ValueError(f"The body must be {FORM_MEDIA_TYPE}.")
    if len(body) > MAX_FORM_BYTES:
        raise ValueError("The body is too large.")
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (UnicodeError, ValueError):
        raise ValueError("The body is not a valid form encoding.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise ValueError("A parameter is repeated.")
        form[name] = value
    return form


class OAuthService:
    """The embedded authorization server: create with :meth:`start`, close with :meth:`stop`."""

    def __init__(
        self,
        settings: CoreSettings,
        clients: ClientStore,
        keys: SigningKeyStore,
        revocations: RevocationList,
        *,
        on_auth_failure: AuthFailureCallback | None = None,
        scopes_supported: Sequence[str] | None = None,
        token_leeway_seconds: Callable[[], float] | None = None,
        failure_limiter: AuthFailureLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.issuer = settings.issuer
        self.clients = clients
        self.keys = keys
        self.revocations = revocations
        self.on_auth_failure = on_auth_failure
        self.scopes_supported = scopes_supported
        self.failure_limiter = failure_limiter or AuthFailureLimiter()
        self.server = StrataAuthorizationServer(
            clients,
            keys,
            issuer=self.issuer,
            token_ttl_seconds=settings.token_ttl_seconds,
            revocations=revocations,
            exchange_ttl_seconds=settings.token_exchange_ttl_seconds,
            client_jwks=ClientJwksCache(policy=DestinationPolicy(allow_loopback=settings.allow_loopback_destinations)),
        )
        introspection = StrataIntrospectionEndpoint(self.server, revocations)
        if token_leeway_seconds is not None:
            introspection.leeway_seconds = token_leeway_seconds
        self.server.register_endpoint(introspection)
        self.server.register_endpoint(StrataRevocationEndpoint(self.server))
        self._refresh_task: asyncio.Task[None] | None = None
        self.jti_guard: SharedJtiGuard | None = None

    @classmethod
    async def start(
        cls,
        settings: CoreSettings,
        engine: AsyncEngine,
        redis_url: str | None = None,
        on_auth_failure: AuthFailureCallback | None = None,
        *,
        scopes_supported: Sequence[str] | None = None,
        key_encryption_secret: str | None = None,
        token_leeway_seconds: Callable[[], float] | None = None,
    ) -> OAuthService:
        """Load (or create) signing keys and clients, start the revocation list and refreshers.

        The schema must exist (``core.migrations.create_schema``).

        Args:
            settings: issuer (``settings.issuer``) and token lifetime come from here.
            engine: the state database engine.
            redis_url: Redis for revocation pub/sub, the shared assertion ``jti`` claims and the
                failed-authentication counters; None polls the table and counts in memory.
            on_auth_failure: ``(client_id, source, reason)`` callback, sync or async.
            scopes_supported: scopes advertised in the metadata; omitted when None.
            key_encryption_secret: encrypts signing keys at rest (from a secret file).
            token_leeway_seconds: the resource side's clock leeway, so that introspection calls a
                token active exactly when the gateway accepts it (default: none).
        """
        _allow_plain_http_issuer(settings.issuer)
        clients = ClientStore(engine)
        await clients.refresh()
        keys = SigningKeyStore(engine, settings.token_ttl_seconds, key_encryption_secret)
        await keys.start()
        revocations = RevocationList(engine, redis_url)
        await revocations.start()
        service = cls(
            settings,
            clients,
            keys,
            revocations,
            on_auth_failure=on_auth_failure,
            scopes_supported=scopes_supported,
            token_leeway_seconds=token_leeway_seconds,
            failure_limiter=AuthFailureLimiter(redis_url=redis_url),
        )
        service.jti_guard = SharedJtiGuard(redis_url) if redis_url else None
        service._refresh_task = asyncio.create_task(service._refresh_stores(), name="strata-oauth-refresh")
        return service

    async def stop(self) -> None:
        """Stop the background tasks."""
        await cancel_and_wait(self._refresh_task)
        self._refresh_task = None
        await self.revocations.stop()
        await self.server.client_jwks.aclose()
        await self.failure_limiter.aclose()
        if self.jti_guard is not None:
            await self.jti_guard.aclose()

    async def _refresh_stores(self) -> None:
        loop = asyncio.get_running_loop()
        keys_read_at = loop.time()
        while True:
            await asyncio.sleep(CLIENT_CHANGE_POLL_SECONDS)
            try:
                await self.clients.refresh_changed()
                if loop.time() - keys_read_at >= STORE_REFRESH_SECONDS:
                    keys_read_at = loop.time()
                    await self.keys.refresh()
            except Exception as exc:  # keep refreshing: a failed round only delays news from other processes
                log.warning("oauth store refresh failed", error=str(exc))

    # Documents.
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        return authorization_server_metadata(self.issuer, self.scopes_supported)

    def jwks(self) -> dict[str, Any]:
        """The published JWK set."""
        return self.keys.public_jwks()

    # Endpoints.
    async def token(
        self, body: bytes, content_type: str, headers: Iterable[tuple[str, str]], source: str
    ) -> OAuthResponse:
        """Token endpoint (RFC 6749 §3.2; grants: §4.4 and RFC 8693 token exchange)."""
        return await self._handle(TOKEN_PATH, None, body, content_type, headers, source)

    async def introspect(
        self, body: bytes, content_type: str, headers: Iterable[tuple[str, str]], source: str
    ) -> OAuthResponse:
        """Introspection endpoint (RFC 7662 §2)."""
        return await self._handle(INTROSPECTION_PATH, "introspection", body, content_type, headers, source)

    async def revoke(
        self, body: bytes, content_type: str, headers: Iterable[tuple[str, str]], source: str
    ) -> OAuthResponse:
        """Revocation endpoint (RFC 7009 §2)."""
        return await self._handle(REVOCATION_PATH, "revocation", body, content_type, headers, source)

    async def _handle(
        self,
        path: str,
        endpoint: str | None,
        body: bytes,
        content_type: str,
        raw_headers: Iterable[tuple[str, str]],
        source: str,
    ) -> OAuthResponse:
        headers = Headers(raw_headers)
        try:
            form = parse_form(body, content_type)
        except ValueError as exc:
            return oauth_error(400, "invalid_request", str(exc))
        if endpoint is None and not form.get("grant_type"):
            return oauth_error(400, "invalid_request", "The grant_type parameter is required.")
        client_id = claimed_client_id(form, headers)
        retry_after = await self.failure_limiter.retry_after(client_id, source)
        if retry_after is not None:
            await self._report_failure(client_id, source, "too many failed authentications from this address")
            return oauth_error(
                429,
                "too_many_requests",
                "Too many failed client authentications; retry later.",
                {"Retry-After": str(retry_after)},
            )
        if client_id and self.clients.cached(client_id) is None:
            await self.clients.load_one(client_id)
        await self._fetch_client_jwks(client_id, form)
        claimed_jti = await self._claim_assertion_jti(form)
        if claimed_jti is False:
            await self._count_failure(client_id, source)
            await self._report_failure(client_id, source, "client assertion jti already used (another process)")
            return oauth_error(400, "invalid_client", CLIENT_AUTH_FAILED)
        try:
            request = OAuthHttpRequest("POST", self.issuer + path, form, headers)
        except OAuth2Error:
            return oauth_error(400, "invalid_request", "OAuth requires https.")
        try:
            if endpoint is None:
                response: OAuthResponse = self.server.create_token_response(request)
            else:
                response = self.server.create_endpoint_response(endpoint, request)
        except Exception:
            log.exception("oauth endpoint failed", path=path)
            return oauth_error(500, "server_error", "The server could not handle the request.")
        if request.auth_failure is not None:
            await self._count_failure(client_id, source)
            await self._report_failure(client_id, source, request.auth_failure)
            if isinstance(claimed_jti, str) and self.jti_guard is not None:
                with contextlib.suppress(Exception):  # it expires anyway
                    await self.jti_guard.release(claimed_jti)
        if request.revoke_jti is not None and response.status == 200:
            await self.revocations.revoke(*request.revoke_jti)
        return response

    async def _count_failure(self, client_id: str | None, source: str) -> None:
        """Count a failed authentication; raise the alarm when a known client id reaches its threshold."""
        if not await self.failure_limiter.record_failure(client_id, source):
            return
        if client_id is None or self.clients.cached(client_id) is None:
            return  # an unknown id may be a secret pasted into the wrong field: not named anywhere
        CLIENT_UNDER_ATTACK.inc()
        log.warning("many failed authentications for one client id", client_id=client_id)
        threshold = self.failure_limiter.limits.per_client_signal
        await self._report_failure(
            client_id,
            source,
            f"signal: {threshold} failed authentications for this client from any address;"
            " not locked out (each address is limited on its own)",
        )

    async def _fetch_client_jwks(self, client_id: str | None, form: dict[str, str]) -> None:
        """For a client with a ``jwks_uri``: have its key set (with the assertion's ``kid``) cached."""
        assertion = form.get("client_assertion")
        record = self.clients.cached(client_id) if client_id and assertion else None
        if record is None or record.jwks_uri is None or assertion is None:
            return
        kid = unverified_kid(assertion)
        await self.server.client_jwks.ensure(record.client_id, record.jwks_uri, kid)

    async def _claim_assertion_jti(self, form: dict[str, str]) -> str | bool | None:
        """With Redis, claim the ``jti`` of a client assertion for every process.

        Returns the claimed key, False for a ``jti`` already used, or None when there is
        nothing to claim (no assertion, no Redis, claims the core will refuse anyway, or
        Redis failing: the per-process replay cache still applies).
        """
        assertion = form.get("client_assertion")
        if not assertion or self.jti_guard is None:
            return None
        claims = unverified_claims(assertion)
        claim = SharedJtiGuard.key_of(claims) if claims is not None else None
        if claim is None:
            return None
        try:
            return claim[0] if await self.jti_guard.claim(*claim) else False
        except Exception as exc:
            log.warning("shared jti check unavailable; per-process replay check only", error=str(exc))
            return None

    async def _report_failure(self, client_id: str | None, source: str, reason: str) -> None:
        if self.on_auth_failure is None:
            return
        try:
            result = self.on_auth_failure(client_id, source, reason)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_auth_failure callback failed")


def _allow_plain_http_issuer(issuer: str) -> None:
    """Let Authlib accept an ``http://`` issuer (local runs); https issuers need nothing.

    Authlib refuses non-loopback ``http://`` request URLs unless ``AUTHLIB_INSECURE_TRANSPORT``
    is set. The URL we hand it is always the configured issuer (never the request's own
    scheme), so behind a TLS-terminating proxy with an https issuer nothing is relaxed.
    """
    if urlsplit(issuer).scheme == "http" and not is_secure_transport(issuer):
        log.warning("issuer is plain http; allowing it for local use", issuer=issuer)
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


async def request_token(service: OAuthService, client_id: str, client_secret: str, scope: str | None = None) -> str:
    """Get an access token through the token endpoint's own code path (for the CLI).

    Raises:
        TokenRequestError: the server refused (``error`` is the RFC 6749 §5.2 code).
    """
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    credentials = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    response = await service.token(urlencode(form).encode(), FORM_MEDIA_TYPE, [("Authorization", authorization)], "cli")
    if response.status != 200:
        raise TokenRequestError(
            response.status, str(response.body.get("error")), str(response.body.get("error_description", ""))
        )
    return str(response.body["access_token"])
