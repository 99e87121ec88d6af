"""What a client's fields may hold: scopes, JWK sets, ids, limits (checks shared by the store and the admin).

Each check returns the value (normalised) or raises ValueError naming the field, so the CLI
and the management API refuse the same input with the same words.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SCOPE_LAYERS = ("system", "process", "experience", "gateway")
SCOPE_ACCESS = ("read", "write", "execute", "admin", "pii")
"""``pii`` reveals the personal fields an API's responses mark (:mod:`policies.pii`); no operation requires it."""
PORTAL_ACT_SCOPE = "experience:customer-portal:act"
ACTOR_SCOPES = frozenset({PORTAL_ACT_SCOPE})
"""Scopes outside the ``<access>`` levels: they let a client exchange its token (RFC 8693)
for one acting for a customer (see :mod:`policies.oauth.token_exchange`); no operation needs them."""
_SCOPE_RE = re.compile(r"^(?P<layer>[a-z]+):(?P<api>[a-z0-9][a-z0-9-]{0,62}):(?P<access>[a-z]+)$")
_SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLIENT_JWK_TYPES = ("RSA", "EC", "OKP")
MAX_SCOPES = 100
"""The most scopes one list holds (the contract's ``maxItems``)."""


def validate_scope(scope: str) -> str:
    """Check one scope string ``<layer>:<api>:<access>``; return it or raise ValueError."""
    match = _SCOPE_RE.match(scope)
    if match is None:
        raise ValueError(f"scope {scope!r} is not of the form <layer>:<api>:<access>, e.g. system:crm:read")
    if match["layer"] not in SCOPE_LAYERS:
        raise ValueError(f"scope {scope!r}: layer must be one of {', '.join(SCOPE_LAYERS)}")
    if match["access"] not in SCOPE_ACCESS and scope not in ACTOR_SCOPES:
        raise ValueError(f"scope {scope!r}: access must be one of {', '.join(SCOPE_ACCESS)}")
    return scope


def check_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """Import a client's JWK set and return its public parts only; raise ValueError if unusable."""
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"jwks is not a valid JWK set: {exc}") from None
    if not key_set.keys:
        raise ValueError("jwks has no keys")
    public = []
    for key in key_set.keys:
        if key.key_type not in CLIENT_JWK_TYPES:
            raise ValueError(f"jwks: key type {key.key_type} is not allowed; use one of {', '.join(CLIENT_JWK_TYPES)}")
        public.append(key.as_dict(private=False))
    return {"keys": public}


def check_slug(field: str, value: str | None) -> None:
    """Check an id-like value (tier, partner or customer id); raise ValueError naming ``field``."""
    if value is not None and not _SLUG_RE.match(value):
        raise ValueError(f"{field}: {value!r} must be 1-64 characters of letters, digits, '_', '.', '-'")


def validate_grantable_scopes(scopes: builtins.list[str]) -> tuple[str, ...]:
    """Check a grantable-scopes ceiling (well-formed scopes, at most :data:`MAX_SCOPES`; may be empty)."""
    if len(scopes) > MAX_SCOPES:
        raise ValueError(f"grantable_scopes: at most {MAX_SCOPES} scopes")
    try:
        return tuple(dict.fromkeys(validate_scope(scope) for scope in scopes))
    except ValueError as exc:
        raise ValueError(f"grantable_scopes: {exc}") from None


def validate_limits(limits: builtins.list[str]) -> tuple[str, ...]:
    """Check per-client limits (``limits`` notation, e.g. ``10/second``); raise ValueError."""
    from limits import parse_many

    if not limits or len(limits) > 10:
        raise ValueError("rate_limits: give 1-10 limits like '10/second', or null for the tier's")
    for text in limits:
        try:
            parse_many(text)
        except ValueError:
            raise ValueError(f"rate_limits: {text!r} is not a limit like '10/second'") from None
    return tuple(dict.fromkeys(limits))
