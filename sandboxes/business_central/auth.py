"""OAuth 2.0 client credentials (RFC 6749 §4.4) as Microsoft Entra ID runs it for Business Central.

``POST /<tenant>/oauth2/v2.0/token`` (form): ``grant_type=client_credentials``, ``client_id``,
``client_secret`` (or HTTP Basic, RFC 6749 §2.3.1) and ``scope=https://api.businesscentral.dynamics.com/.default``.
Answers ``{"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}``. Errors are
RFC 6749 §5.2 objects with Entra's extra members (``error_codes``, ``timestamp``, ``trace_id``,
``correlation_id``) and its ``AADSTS`` texts: 400 ``invalid_request`` (unknown tenant, AADSTS90002),
400 ``unsupported_grant_type`` (AADSTS70003), 400 ``unauthorized_client`` (unknown application,
AADSTS700016), 401 ``invalid_client`` (wrong secret, AADSTS7000215), 400 ``invalid_scope``
(AADSTS1002012). Entra issues JWTs; the sandbox's tokens are opaque random strings (a client must
not read a token it is given anyway).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import threading
import time
import uuid
from typing import Any

SCOPE = "https://api.businesscentral.dynamics.com/.default"
DEFAULT_TOKEN_TTL_SECONDS = 3599.0
"""Entra's app-only tokens live about an hour (``expires_in: 3599``)."""


class EntraError(Exception):
    """An RFC 6749 §5.2 error in Entra's shape."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def body(self) -> dict[str, Any]:
        """The JSON body Entra writes."""
        trace = str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace} "
            f"Correlation ID: {trace} Timestamp: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [self.code],
            "timestamp": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": trace,
        }


class TokenIssuer:
    """Registered applications (client id → secret) of one tenant, and the tokens issued to them."""

    def __init__(self, tenant: str, clients: dict[str, str], ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS) -> None:
        self.tenant, self.clients, self.ttl_seconds = tenant, dict(clients), ttl_seconds
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def token(self, tenant: str, form: dict[str, str], authorization: str) -> dict[str, Any]:
        """The answer to a token request, or :class:`EntraError`."""
        if tenant.lower() != self.tenant.lower():
            raise EntraError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type.")  # fmt: skip
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise EntraError(401, "invalid_client", 7000216, "The client credentials are malformed.") from None
        if client_id not in self.clients:
            raise EntraError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.tenant}'.")  # fmt: skip
        if not secrets.compare_digest(secret.encode(), self.clients[client_id].encode()):
            description = (
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                "secret value, not the client secret ID."
            )
            raise EntraError(401, "invalid_client", 7000215, description)
        if form.get("scope", "").strip() != SCOPE:
            description = (
                f"The provided value for scope {form.get('scope', '')} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier."
            )
            raise EntraError(400, "invalid_scope", 1002012, description)
        access_token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[access_token] = (client_id, time.monotonic() + self.ttl_seconds)
            self.issued += 1
        expires = int(self.ttl_seconds)
        return {"token_type": "Bearer", "expires_in": expires, "ext_expires_in": expires, "access_token": access_token}

    def principal(self, access_token: str) -> str | None:
        """The client id a live token was issued to, or None."""
        with self._lock:
            entry = self._tokens.get(access_token)
            if entry is None or entry[1] < time.monotonic():
                return None
            return entry[0]

    def expire_all(self) -> None:
        """Invalidate every issued token."""
        with self._lock:
            self._tokens.clear()
