"""OAuth 2.0 Token Exchange (RFC 8693) for portal back ends acting for one customer.

A portal back end serves many customers without an OAuth client per customer: it
authenticates as itself (any client authentication method, RFC 8693 §2.1), presents its own
access token as ``subject_token`` and names the customer in the ``customer_id`` parameter
(an extension parameter, RFC 8693 §2.1 allows them; ``resource`` and ``audience`` are
refused with ``invalid_target`` rather than silently ignored). The answer (§2.2.1) is a
short-lived RFC 9068 access token that carries ``customer_id``, the customer-portal scopes
only, and ``act: {"sub": <portal client id>}`` (§4.1), so it is confined like the token of
a customer-bound client.

Refusals (RFC 6749 §5.2 codes):

* ``invalid_request`` — ``subject_token``, ``subject_token_type`` or ``customer_id`` missing
  or malformed, an unsupported ``requested_token_type``, or an ``actor_token`` (delegation
  chains are not offered);
* ``unauthorized_client`` — the client lacks ``experience:customer-portal:act`` or is itself
  bound to a partner or customer;
* ``invalid_grant`` — the subject token is invalid, expired, revoked, issued before the client
  was last disabled, not the caller's own, or itself the result of an exchange (no chaining);
* ``invalid_scope`` — a requested scope outside the customer-portal scopes the client holds.

Whose scopes bound an exchanged token: the acting client's (its ``client_id`` claim), now — not
only when it was issued. :mod:`policies.oauth.token_standing` intersects the token's scopes
with the acting client's current scopes on every use, and refuses the token outright once that
client no longer holds ``experience:customer-portal:act`` (the right to act for customers is
what the token stands for), is disabled or deleted.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin

from policies.oauth.access_tokens import issue_access_token, verify_access_token
from policies.oauth.client_fields import PORTAL_ACT_SCOPE, check_slug
from policies.oauth.token_standing import live_scopes

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PORTAL_SCOPE_PREFIX = "experience:customer-portal:"
ACT_SCOPE = PORTAL_ACT_SCOPE
"""The scope a client needs to exchange its token for a customer-bound one."""
assert ACT_SCOPE.startswith(PORTAL_SCOPE_PREFIX)


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8693 §2.2.2 ``invalid_target``."""

    error = "invalid_target"


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """RFC 8693 §2.1: the caller's own access token → a customer-bound portal token."""

    GRANT_TYPE = TOKEN_EXCHANGE_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        record = client.record
        if ACT_SCOPE not in record.oauth_scopes or record.partner_id is not None or record.customer_id is not None:
            raise UnauthorizedClientError(
                description=f"The client may not exchange tokens (it needs {ACT_SCOPE} and no binding)."
            )
        self.request.client = client
        form = self.request.form
        customer_id = _required(form, "customer_id")
        try:
            check_slug("customer_id", customer_id)
        except ValueError:
            raise InvalidRequestError(description="customer_id must be 1-64 letters, digits, '_', '.', '-'.") from None
        if _required(form, "subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(description=f"subject_token_type must be {ACCESS_TOKEN_TYPE}.")
        if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(description=f"Only {ACCESS_TOKEN_TYPE} can be requested.")
        if "actor_token" in form or "actor_token_type" in form:
            raise InvalidRequestError(description="actor_token is not supported: the client is the actor.")
        if "resource" in form or "audience" in form:
            raise InvalidTargetError(
                description="Name the customer with customer_id; resource and audience are not used."
            )
        subject = self._subject_claims(_required(form, "subject_token"), record.client_id)
        self.request.exchange = (customer_id, subject, self._granted_scopes(record.oauth_scopes))

    def _subject_claims(self, token: str, client_id: str) -> dict[str, Any]:
        """Claims of the subject token: ours, valid, not revoked, the caller's, not exchanged."""
        claims = verify_access_token(self.server.keys, token, issuer=self.server.issuer)
        if claims is None or self.server.revocations.is_revoked(claims["jti"]):
            raise InvalidGrantError(description="The subject token is invalid, expired or revoked.")
        if claims.get("client_id") != client_id:
            raise InvalidGrantError(description="The subject token was not issued to this client.")
        # Issued before the client was last disabled: refused here as everywhere else.
        if live_scopes(self.server.clients.cached_entry(client_id), claims, frozenset()) is None:
            raise InvalidGrantError(description="The subject token is invalid, expired or revoked.")
        if "act" in claims or "customer_id" in claims or "partner_id" in claims:
            raise InvalidGrantError(description="An exchanged or bound token cannot be exchanged again.")
        return claims

    def _granted_scopes(self, held: tuple[str, ...]) -> tuple[str, ...]:
        """Requested ⊆ the portal scopes the client holds (``act`` excluded); none → all of them."""
        allowed = tuple(s for s in held if s.startswith(PORTAL_SCOPE_PREFIX) and s != ACT_SCOPE)
        requested = (self.request.payload.scope or "").split()
        if not requested:
            if not allowed:
                raise InvalidScopeError(description="The client holds no customer-portal scope to grant.")
            return allowed
        if not set(requested) <= set(allowed):
            raise InvalidScopeError(description="Only the customer-portal scopes the client holds can be granted.")
        return tuple(dict.fromkeys(requested))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        customer_id, subject, oauth_scopes = self.request.exchange
        # Never outlive the subject token: revoking or letting it expire ends the exchange too.
        ttl = max(1, min(self.server.exchange_ttl_seconds, int(subject["exp"]) - int(time.time())))
        client = self.request.client
        access_token, _claims = issue_access_token(
            self.server.keys,
            client.record,
            oauth_scopes,
            issuer=self.server.issuer,
            ttl_seconds=ttl,
            customer_id=customer_id,
            actor=client.record.client_id,
        )
        body = {
            "access_token": access_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(oauth_scopes),
        }
        return 200, body, self.TOKEN_RESPONSE_HEADER


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidRequestError(description=f"The {name} parameter is required.")
    return value
