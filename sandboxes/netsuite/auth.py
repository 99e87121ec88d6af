"""OAuth 2.0 client credentials with a JWT client assertion, as NetSuite's token endpoint runs it.

RFC 6749 §4.4 (client credentials) with RFC 7523 §2.2 client authentication: ``POST
/services/rest/auth/oauth2/v1/token`` with ``grant_type=client_credentials``,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and
``client_assertion`` = a JWT signed with the private key of a certificate
uploaded to the integration's "OAuth 2.0 client credentials (M2M) setup". Its header ``kid`` is the
certificate id NetSuite showed at upload; its claims are ``iss`` (the integration's client id),
``scope`` (``rest_webservices``, space- or comma-separated with others), ``aud`` (the token URL),
``iat`` and ``exp`` (at most 3,600 seconds after ``iat``). Oracle lists the accepted signature
algorithms as PS256, PS384, PS512, ES256, ES384 and ES512; RS256 (PKCS#1 v1.5) is not among them
and is refused.

The answer is ``{access_token, token_type: "bearer", expires_in}``. **Unverified**: whether
``expires_in`` is a JSON string (``"3600"``) or a number is not confirmed by any public capture
(the Oracle example is cut off before it; one third-party copy of the page shows a string). The
sandbox sends the string by default (``expires_in_as_string``); a test variant sends the number.

Errors are RFC 6749 §5.2 objects: 400 ``unsupported_grant_type`` / ``invalid_request`` /
``invalid_scope``, 401 ``invalid_client`` (unknown client, unknown kid, bad signature, wrong aud,
expired). NetSuite's own error texts are not documented; these descriptions are ours.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""Signature algorithms the token endpoint accepts (Oracle's list; RS256 is not on it)."""
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
MAX_ASSERTION_LIFETIME = 3600
"""``exp - iat`` may not exceed an hour."""
DEFAULT_TOKEN_TTL_SECONDS = 3600.0
"""Access tokens from the M2M flow are valid 60 minutes."""
CLOCK_SKEW_SECONDS = 60


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        """``{"error", "error_description"}``."""
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class KeyPair:
    """A certificate's key pair for tests: the private key signs, the public PEM is registered."""

    certificate_id: str
    private_key: RSAKey | ECKey
    public_pem: bytes
    algorithm: str


def generate_key_pair(certificate_id: str | None = None, algorithm: str = "PS256") -> KeyPair:
    """A fresh RSA (PS*, or RS256 to test its refusal; 2048 bits) or EC (ES256 P-256, ES384 P-384,
    ES512 P-521) key pair."""
    if algorithm not in (*ALGORITHMS, "RS256"):
        raise ValueError(f"algorithm must be one of {ALGORITHMS} (or RS256)")
    curve = _CURVES.get(algorithm)
    key: RSAKey | ECKey = ECKey.generate_key(curve) if curve else RSAKey.generate_key(2048)
    certificate = certificate_id or f"cert-{secrets.token_hex(8)}"
    return KeyPair(certificate, key, key.as_pem(private=False), algorithm)


def make_assertion(
    pair: KeyPair,
    client_id: str,
    audience: str,
    *,
    scope: str = "rest_webservices",
    issued_at: int | None = None,
    lifetime: int = 300,
    kid: str | None = None,
) -> str:
    """A client assertion the way an integration builds one (for tests and demos)."""
    iat = int(time.time()) if issued_at is None else issued_at
    header = {"alg": pair.algorithm, "typ": "JWT", "kid": kid or pair.certificate_id}
    claims = {"iss": client_id, "scope": scope, "aud": audience, "iat": iat, "exp": iat + lifetime}
    return jwt.encode(header, claims, pair.private_key, algorithms=[pair.algorithm])


class TokenIssuer:
    """Registered clients and their certificates; verifies assertions and issues bearer tokens."""

    def __init__(
        self,
        clients: dict[str, dict[str, bytes | str]],
        token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
        *,
        expires_in_as_string: bool = True,
        certificates_file: Path | None = None,
    ) -> None:
        self.expires_in_as_string = expires_in_as_string
        """Send ``expires_in`` as ``"3600"`` (the default, unverified) or as ``3600``."""
        self._certificates: dict[str, dict[str, Any]] = {}
        # An uploaded certificate stays until it is revoked or expires: NetSuite Help Center, "OAuth
        # 2.0 Client Credentials (M2M) Setup" (a mapping of application, entity, role and certificate,
        # kept with the account). Kept here in a file beside the account's data, so a restarted
        # sandbox still verifies the assertions of gateways that uploaded theirs before the restart.
        # The file and the /_control upload are the sandbox's own (NetSuite's upload is in its UI).
        self._certificates_file = certificates_file
        self._uploaded: dict[str, dict[str, str]] = {}
        if certificates_file is not None and certificates_file.exists():
            for certificate_id, entry in json.loads(certificates_file.read_text()).items():
                self.register(entry["client_id"], certificate_id, entry["pem"])
        for client_id, certificates in clients.items():
            for certificate_id, pem in certificates.items():
                self.register(client_id, certificate_id, pem)
        self.token_ttl_seconds = token_ttl_seconds
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def register(self, client_id: str, certificate_id: str, public_pem: bytes | str) -> None:
        """Upload a certificate (its public key) for a client."""
        pem = public_pem.encode() if isinstance(public_pem, str) else public_pem
        key: RSAKey | ECKey = ECKey.import_key(pem) if _is_ec(pem) else RSAKey.import_key(pem)
        self._certificates[certificate_id] = {"client_id": client_id, "key": key}
        self._uploaded[certificate_id] = {"client_id": client_id, "pem": pem.decode()}
        if self._certificates_file is not None:
            self._certificates_file.parent.mkdir(parents=True, exist_ok=True)
            partial = self._certificates_file.with_suffix(".partial")
            partial.write_text(json.dumps(self._uploaded))
            os.replace(partial, self._certificates_file)

    def token(self, form: dict[str, str], token_url: str) -> dict[str, Any]:
        """The token answer for a form, or :class:`OAuthError`."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            raise OAuthError(400, "invalid_request", f"client_assertion_type must be {JWT_BEARER}")
        claims = self._verify(form["client_assertion"], token_url)
        scopes = str(claims.get("scope", "")).replace(",", " ").split()
        if "rest_webservices" not in scopes:
            raise OAuthError(400, "invalid_scope", "scope must include rest_webservices")
        value = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[value] = time.monotonic() + self.token_ttl_seconds
        lifetime = int(self.token_ttl_seconds)
        expires_in: str | int = str(lifetime) if self.expires_in_as_string else lifetime
        return {"access_token": value, "token_type": "bearer", "expires_in": expires_in}

    def _verify(self, assertion: str, token_url: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(assertion.encode()).protected
        except (JoseError, ValueError):
            raise OAuthError(400, "invalid_request", "client_assertion is not a compact JWT") from None
        certificate = self._certificates.get(str(header.get("kid", "")))
        if certificate is None:
            raise OAuthError(401, "invalid_client", "unknown certificate id (kid)")
        if header.get("alg") not in ALGORITHMS:
            raise OAuthError(401, "invalid_client", f"alg must be one of {', '.join(ALGORITHMS)}")
        try:
            claims = dict(jwt.decode(assertion, certificate["key"], algorithms=list(ALGORITHMS)).claims)
        except (JoseError, ValueError):
            raise OAuthError(401, "invalid_client", "client_assertion signature is invalid") from None
        now = time.time()
        if claims.get("iss") != certificate["client_id"]:
            raise OAuthError(401, "invalid_client", "iss is not the client id the certificate belongs to")
        audiences = claims.get("aud")
        if token_url not in (audiences if isinstance(audiences, list) else [audiences]):
            raise OAuthError(401, "invalid_client", "aud must be the token endpoint URL")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise OAuthError(400, "invalid_request", "iat and exp are required")
        if exp - iat > MAX_ASSERTION_LIFETIME:
            raise OAuthError(401, "invalid_client", "exp may be at most 3600 seconds after iat")
        if exp < now - CLOCK_SKEW_SECONDS or iat > now + CLOCK_SKEW_SECONDS:
            raise OAuthError(401, "invalid_client", "client_assertion is expired or not yet valid")
        return claims

    def valid(self, value: str) -> bool:
        """Whether a bearer token is known and not expired."""
        with self._lock:
            expiry = self._tokens.get(value)
        return expiry is not None and expiry > time.monotonic()

    def expire_all(self) -> None:
        """Invalidate every issued token."""
        with self._lock:
            self._tokens.clear()


def _is_ec(pem: bytes) -> bool:
    try:
        ECKey.import_key(pem)
    except (JoseError, ValueError, TypeError):
        return False
    return True
