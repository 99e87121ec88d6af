"""Authlib adapter: the token endpoint with the ``client_credentials`` grant (RFC 6749 §4.4)
and token exchange (RFC 8693, :mod:`policies.oauth.token_exchange`).

Authlib has no Litestar server integration; its framework-agnostic core is used through a
thin adapter. The HTTP layer (:mod:`policies.oauth.service`) reads and parses the form body
first, then hands this synchronous core an :class:`OAuthHttpRequest`; every lookup the core
makes is answered from memory (client cache, signing keys).

Client authentication (RFC 6749 §2.3): ``client_secret_basic``, ``client_secret_post`` and
``private_key_jwt`` (RFC 7523 §2.2), the last registered through Authlib's
``register_client_auth_method``. Error bodies follow RFC 6749 §5.2 and never echo input.
"""

from __future__ import annotations

import base64
import secrets as stdlib_secrets
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from policies.oauth import secrets
from policies.oauth.access_tokens import issue_access_token
from policies.oauth.client_assertion import ASSERTION_TYPE, PrivateKeyJWTAuth, unverified_subject
from policies.oauth.client_jwks import ClientJwksCache
from policies.oauth.clients import ClientRecord, ClientStore
from policies.oauth.keys import SigningKeyStore
from policies.oauth.revocation import RevocationList
from policies.oauth.token_exchange import TOKEN_EXCHANGE_GRANT, TokenExchangeGrant

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ["client_credentials", TOKEN_EXCHANGE_GRANT]
TOKEN_PATH = "/oauth/token"
INTROSPECTION_PATH = "/oauth/introspect"
REVOCATION_PATH = "/oauth/revoke"
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CLIENT_AUTH_FAILED = "Client authentication failed."
"""The one description of every failed client authentication whose credentials were read: an
unknown, disabled or deleted client, a wrong secret, a wrong or replayed assertion."""
_TIMING_SALT = stdlib_secrets.token_hex(secrets.SALT_BYTES)
_TIMING_VERIFIER = (_TIMING_SALT, secrets.hash_secret(stdlib_secrets.token_urlsafe(secrets.SECRET_BYTES), _TIMING_SALT))

_DEFAULT_DESCRIPTIONS = {
    "invalid_request": "The request is missing a parameter or is malformed.",
    "invalid_client": CLIENT_AUTH_FAILED,
    "invalid_grant": "The token was not issued to this client.",
    "unauthorized_client": "The client may not use this grant type.",
    "unsupported_grant_type": "Only client_credentials and token exchange (RFC 8693) are supported.",
    "invalid_scope": "The requested scope is invalid or exceeds the client's allowed scopes.",
    "unsupported_token_type": "The token type hint is not supported.",
}


def claimed_client_id(form: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The client id a request claims (unverified): Basic user, assertion ``sub`` or ``client_id``."""
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        credentials = parse_basic_credentials(authorization)
        return credentials[0][:64] if credentials else None
    assertion = form.get("client_assertion")
    if assertion:
        return unverified_subject(assertion)
    client_id = form.get("client_id")
    return client_id[:64] if client_id else None


def presented_secret(form: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The client secret a request presents (Basic password or ``client_secret``), if any."""
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        credentials = parse_basic_credentials(authorization)
        return credentials[1] if credentials else None
    return form.get("client_secret")


def parse_basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an HTTP Basic header (RFC 6749 §2.3.1), or None if malformed.

    Checked before Authlib sees the header: its parser fails with an exception (a 500) on
    ``"Basic "`` with nothing after it and on credentials that are not UTF-8.
    """
    if authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        return None
    return unquote(client_id), unquote(secret)


class Headers(Mapping[str, str]):
    """Case-insensitive request headers (Authlib reads ``Authorization`` by its canonical name)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, str] = {}
        for name, value in items:
            self._items.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class OAuthHttpRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request whose form body was read and parsed beforehand (no I/O here)."""

    def __init__(self, method: str, uri: str, form: dict[str, str], headers: Headers) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)
        self.auth_failure: str | None = None
        """Why client authentication failed, for the audit callback and the failure limiter."""
        self.revoke_jti: tuple[str, float] | None = None
        """Set by the revocation endpoint: the ``jti`` and ``exp`` to revoke after the response."""

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def uses_basic_auth(self) -> bool:
        """Whether the request carries HTTP Basic credentials."""
        authorization: str = self.headers.get("authorization", "")
        return authorization[:6].lower() == "basic "


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """Authlib's view of a :class:`ClientRecord` (secret checks go to the store)."""

    def __init__(self, record: ClientRecord, store: ClientStore) -> None:
        self.record = record
        self._store = store

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.record.oauth_scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self._store.check_secret(self.record.client_id, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record.auth_method == "private_key_jwt":
            return method == "private_key_jwt"
        return method in SECRET_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class StrataClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 §4.4 with Strata's scope rule: requested ⊆ allowed; none requested → all allowed."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        client: OAuthClient = self.request.client
        requested = (self.request.payload.scope or "").split()
        allowed = client.record.oauth_scopes
        if not requested:
            self.request.scope = " ".join(allowed)
            return
        if not set(requested) <= set(allowed):
            raise InvalidScopeError(description=_DEFAULT_DESCRIPTIONS["invalid_scope"])
        self.request.scope = " ".join(dict.fromkeys(requested))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class OAuthResponse:
    """What an endpoint answers: status, JSON body and headers (framework-neutral)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def error(self) -> str | None:
        """The OAuth ``error`` code of an error response."""
        error = self.body.get("error") if self.status >= 400 else None
        return error if isinstance(error, str) else None


class _NoRevocations:
    """Nothing revoked (a server built without the service's revocation list, in unit tests)."""

    def is_revoked(self, jti: str) -> bool:
        return False


class StrataAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server bound to Strata's stores; synchronous, no I/O."""

    def __init__(
        self,
        clients: ClientStore,
        keys: SigningKeyStore,
        *,
        issuer: str,
        token_ttl_seconds: int,
        client_jwks: ClientJwksCache | None = None,
        revocations: RevocationList | None = None,
        exchange_ttl_seconds: int = 300,
    ) -> None:
        super().__init__(scopes_supported=None)
        self.clients = clients
        self.keys = keys
        self.client_jwks = client_jwks or ClientJwksCache()
        self.issuer = issuer
        self.token_ttl_seconds = token_ttl_seconds
        self.revocations = revocations if revocations is not None else _NoRevocations()
        """Checked for the subject token of a token exchange (in memory, no I/O)."""
        self.exchange_ttl_seconds = exchange_ttl_seconds
        """Longest lifetime of a token issued by token exchange."""
        self.private_key_jwt = PrivateKeyJWTAuth(
            audiences=lambda: [self.issuer, self.issuer + TOKEN_PATH],
            # A registered set, else the one fetched from the client's jwks_uri (fetched beforehand,
            # in the async path: this core does no I/O).
            jwks_of=lambda client: client.record.jwks or self.client_jwks.get(client.record.client_id),
        )
        self.register_client_auth_method("private_key_jwt", self.private_key_jwt)
        self.register_token_generator("default", self._generate_token)
        self.register_grant(StrataClientCredentialsGrant)
        self.register_grant(TokenExchangeGrant)

    # Authlib hooks.
    def query_client(self, client_id: str) -> OAuthClient | None:
        """The client, if it may authenticate: unknown, disabled and deleted ids all answer None,
        so Authlib refuses them the same way (why is told by :meth:`_failure_reason`)."""
        record = self.clients.cached(client_id) if isinstance(client_id, str) else None
        if record is None or not record.active:
            return None
        return OAuthClient(record, self.clients)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """JWT access tokens are not stored: revocation is by ``jti`` (see revocation.py)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals: auditing is done by the HTTP layer."""

    def create_oauth2_request(self, request: OAuthHttpRequest) -> OAuthHttpRequest:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        merged = {"Content-Type": "application/json", **dict(headers or []), **NO_STORE_HEADERS}
        return OAuthResponse(status, body if isinstance(body, dict) else {}, merged)

    def handle_error_response(self, request: OAuthHttpRequest, error: OAuth2Error) -> OAuthResponse:
        """RFC 6749 §5.2 error body; 401 + ``WWW-Authenticate`` only when Basic was used."""
        code = error.error if isinstance(error.error, str) else "invalid_request"
        description = error.description or _DEFAULT_DESCRIPTIONS.get(code, "The request was refused.")
        headers = {"Content-Type": "application/json", **NO_STORE_HEADERS}
        status = 400
        if code == "invalid_client" and request.uses_basic_auth:
            status = 401
            headers["WWW-Authenticate"] = 'Basic realm="strata", error="invalid_client"'
        return OAuthResponse(status, {"error": code, "error_description": description}, headers)

    def authenticate_client(self, request: OAuthHttpRequest, methods: list[str], endpoint: str = "token") -> Any:
        """Authenticate with exactly one method (RFC 6749 §2.3), noting why it failed."""
        form = request.form
        used = [
            request.uses_basic_auth,
            "client_secret" in form,
            "client_assertion" in form or "client_assertion_type" in form,
        ]
        if sum(used) > 1:
            request.auth_failure = "more than one client authentication method"
            raise InvalidRequestError(description="Use exactly one client authentication method.")
        if request.uses_basic_auth and parse_basic_credentials(request.headers["authorization"]) is None:
            request.auth_failure = "malformed Basic credentials"
            raise InvalidClientError(description="Malformed HTTP Basic credentials.")
        if form.get("client_assertion_type", ASSERTION_TYPE) != ASSERTION_TYPE:
            request.auth_failure = "unsupported client_assertion_type"
            raise InvalidClientError(description="Unsupported client_assertion_type.")
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            if not any(used):
                error.description = "Client authentication is required."
                request.auth_failure = "no client credentials"
                raise
            # One answer for an unknown, disabled or deleted id, a wrong secret and a wrong
            # assertion (no oracle); the audit record keeps the difference.
            request.auth_failure = self._failure_reason(request, error.description)
            error.description = CLIENT_AUTH_FAILED
            raise

    def _failure_reason(self, request: OAuthHttpRequest, description: str | None) -> str:
        """Why the claimed client failed to authenticate, for the audit log only."""
        claimed = claimed_client_id(request.form, request.headers)
        record = self.clients.cached(claimed) if claimed else None
        if record is None or not record.active:
            # Spend what a secret check costs, so the answer takes as long as for a wrong secret.
            secrets.verify_secret(presented_secret(request.form, request.headers) or "", *_TIMING_VERIFIER)
        if claimed and record is None:
            return "The client does not exist on this server."
        if record is not None and record.status == "deleted":
            return "The client is deleted."
        if record is not None and not record.active:
            return "The client is disabled."
        if not description or "cannot authenticate with methods" in description or "does not exist" in description:
            return "wrong client credentials"
        return description

    # Token generation (RFC 9068).
    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        oauth_scopes = tuple((scope or "").split())
        access_token, _claims = issue_access_token(
            self.keys, client.record, oauth_scopes, issuer=self.issuer, ttl_seconds=self.token_ttl_seconds
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl_seconds,
            "scope": " ".join(oauth_scopes),
        }
