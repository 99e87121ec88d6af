"""Litestar route handlers for the authorization server (outside the governance pipeline).

Every handler reads the :class:`~policies.oauth.service.OAuthService` from
``request.app.state.oauth``, so the app that mounts them decides how it is built.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException

from policies.oauth.metadata import JWKS_PATH, METADATA_PATH
from policies.oauth.server import INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH, OAuthResponse
from policies.oauth.service import MAX_FORM_BYTES, OAuthService, oauth_error

JWKS_MAX_AGE_SECONDS = 60
"""Short, so a verifier that caches the JWKS picks up a rotation quickly."""

AnyRequest = Request[Any, Any, Any]


def _service(request: AnyRequest) -> OAuthService:
    service: OAuthService = request.app.state.oauth
    return service


def _to_response(oauth: OAuthResponse) -> Response[bytes]:
    headers = {name: value for name, value in oauth.headers.items() if name.lower() != "content-type"}
    return Response(
        content=msgspec.json.encode(oauth.body),
        status_code=oauth.status,
        headers=headers,
        media_type="application/json",
    )


async def _form_call(request: AnyRequest, endpoint: str) -> Response[bytes]:
    service = _service(request)
    try:
        body = await request.body()
    except HTTPException:  # larger than MAX_FORM_BYTES, or the client went away
        return _to_response(oauth_error(400, "invalid_request", "The body is too large or unreadable."))
    source = request.client.host if request.client else "unknown"
    content_type = request.headers.get("content-type", "")
    headers = list(request.headers.items())
    handler = {"token": service.token, "introspect": service.introspect, "revoke": service.revoke}[endpoint]
    return _to_response(await handler(body, content_type, headers, source))


@post(TOKEN_PATH, include_in_schema=False, request_max_body_size=MAX_FORM_BYTES)
async def token_endpoint(request: AnyRequest) -> Response[bytes]:
    """RFC 6749 §3.2 token endpoint (``client_credentials`` only)."""
    return await _form_call(request, "token")


@post(INTROSPECTION_PATH, include_in_schema=False, request_max_body_size=MAX_FORM_BYTES)
async def introspection_endpoint(request: AnyRequest) -> Response[bytes]:
    """RFC 7662 §2 token introspection."""
    return await _form_call(request, "introspect")


@post(REVOCATION_PATH, include_in_schema=False, request_max_body_size=MAX_FORM_BYTES)
async def revocation_endpoint(request: AnyRequest) -> Response[bytes]:
    """RFC 7009 §2 token revocation."""
    return await _form_call(request, "revoke")


@get(METADATA_PATH, include_in_schema=False)
async def metadata_endpoint(request: AnyRequest) -> Response[bytes]:
    """RFC 8414 §3 authorization server metadata."""
    return Response(
        content=msgspec.json.encode(_service(request).metadata()),
        media_type="application/json",
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"},
    )


@get(JWKS_PATH, include_in_schema=False)
async def jwks_endpoint(request: AnyRequest) -> Response[bytes]:
    """The published JWK set (RFC 7517 §5)."""
    return Response(
        content=msgspec.json.encode(_service(request).jwks()),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"},
    )


oauth_route_handlers = [token_endpoint, introspection_endpoint, revocation_endpoint, metadata_endpoint, jwks_endpoint]
"""Handlers to mount on the app (with ``app.state.oauth`` set to a started OAuthService)."""
