"""The governance config file: tiers, limits, per-client overrides, external issuers.

It is YAML (``contracts/governance.yaml`` by default, ``STRATA_GOVERNANCE_FILE`` to change)
decoded into the frozen structs below with ``forbid_unknown_fields``, so a typo is an error
at start-up rather than a silently ignored setting. Per-route settings come from the
contracts (``security``, ``x-strata-*``); this file holds what is not per route.

The gateway's own issuer is built in; a document declaring an external issuer with the same
URL (compared normalised: :func:`issuer_key`) is refused, since it would replace the built-in
one and with it the check that a disabled client's tokens stop working.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
import yaml
from limits import parse_many

from core.destinations import NOT_PUBLIC, DestinationPolicy, DestinationRefused, parse_destination
from policies.alert_rules import AlertsConfig
from policies.base import PolicyMode


class GovernanceError(ValueError):
    """The governance file is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class TierConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A rate-limit tier, e.g. ``bronze: {limits: ["5/second", "2000/day"]}``."""

    limits: tuple[str, ...]
    """Limits in ``limits`` notation (``N/second|minute|hour|day``); all must pass."""
    description: str = ""


class ClientOverride(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Per-client settings that replace (not merge with) the tier's."""

    limits: tuple[str, ...] | None = None


class RateLimitConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Rate limiting: per client tier, per operation cost (``x-strata-rate-cost``)."""

    mode: PolicyMode = "enforce"
    on_backend_error: str = "allow"
    """What to do when the limit backend (Redis) fails: ``allow`` (fail open) or ``deny``."""
    default_tier: str = "bronze"
    """Tier of a principal whose token names none (external issuers)."""

    def __post_init__(self) -> None:
        if self.on_backend_error not in ("allow", "deny"):
            raise ValueError(f"rate_limit.on_backend_error: {self.on_backend_error!r}; allowed values are allow, deny")


class PreAuthLimitConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Cheap per-source-address limit applied before any signature check."""

    mode: PolicyMode = "enforce"
    limits: tuple[str, ...] = ("100/second",)


class RequestLimitsConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Size and shape limits checked before the body is interpreted."""

    mode: PolicyMode = "enforce"
    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024
    max_json_depth: int = 32
    max_json_members: int = 1000
    """Most members in any one JSON object."""
    max_json_array: int = 10_000
    """Most items in any one JSON array."""


class IssuerConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An external token issuer (Keycloak, Entra, Auth0...) the resource side accepts."""

    issuer: str
    jwks_uri: str
    audience: str
    algorithms: tuple[str, ...] = ("RS256",)
    accepted_typ: tuple[str | None, ...] = ("at+jwt", "application/at+jwt")
    """Accepted JOSE ``typ`` values; include ``null`` for IdPs that send none."""
    scopes_claim: str = "scope"
    """Claim holding the granted scopes: ``scope`` (space-separated), ``scp`` or ``roles``."""
    partner_id_claim: str | None = None
    customer_id_claim: str | None = None
    tier: str | None = None
    """Tier for tokens of this issuer (the rate-limit default tier when unset)."""
    allow_private_network: bool = False
    """Fetch ``jwks_uri`` from a private address too (10/8, 172.16/12, 192.168/16, fc00::/7,
    100.64/10): an enterprise IdP on the operator's network. Off, public addresses only.
    Loopback follows the gateway's ``allow_loopback_destinations`` setting; link-local and cloud
    metadata addresses are refused whatever this says (see :mod:`core.destinations`)."""

    def __post_init__(self) -> None:
        if self.scopes_claim not in ("scope", "scp", "roles"):
            raise ValueError(f"issuers[].scopes_claim: {self.scopes_claim!r}; allowed values are scope, scp, roles")
        allowed = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
        for alg in self.algorithms:
            if alg not in allowed:
                raise ValueError(f"issuers[].algorithms: {alg!r}; allowed values are {', '.join(sorted(allowed))}")


class AuthenticationConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Resource-side token checks."""

    leeway_seconds: int = 30
    """Clock skew tolerated on exp/nbf/iat (at most 60)."""
    cache_size: int = 10_000
    """Verified tokens kept in memory (keyed by hash, never past ``exp``)."""
    jwks_refetch_cooldown_seconds: float = 30.0
    """After an unknown ``kid`` triggered a JWKS refetch, no other refetch for this long."""

    def __post_init__(self) -> None:
        if not 0 <= self.leeway_seconds <= 60:
            raise ValueError("authentication.leeway_seconds: allowed values are 0..60")


API_ID = re.compile(r"^(system|process|experience|gateway)/[a-z0-9][a-z0-9-]*/v[0-9]+$")
ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$")


class CorsConfig(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Browser origins allowed to call one API version (``cors: {"<layer>/<api>/v<N>": ...}``).

    Origins are exact, serialized origins (``https://app.example.com``, no path, no
    trailing slash); ``*`` and ``null`` are refused: an allowlist is a list.
    """

    origins: tuple[str, ...]
    max_age: int = 600
    """Seconds a browser may cache a preflight answer (``Access-Control-Max-Age``, 0..86400)."""


class ChangeRule(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """When one kind of subscription change takes effect, and how it is charged."""

    effective: Literal["immediately", "period_end"]
    """``immediately`` (the billing subscription changes now) or ``period_end`` (a billing
    subscription schedule changes it when the current period ends; nothing is prorated)."""
    proration: Literal["prorate", "prorate_and_invoice", "none"] = "none"
    """For an immediate change: the difference for the rest of the period on the next invoice
    (``prorate``), invoiced at once (``prorate_and_invoice``), or not charged (``none``)."""

    def __post_init__(self) -> None:
        if self.effective == "period_end" and self.proration != "none":
            raise ValueError(
                f"proration: {self.proration!r} with effective: period_end; a change at the period's end "
                "has nothing to prorate (use none)"
            )


class SubscriptionChangeRules(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The business rule of ``/process/subscription-changes/v1``: per kind of change, when and how it is charged."""

    upgrade: ChangeRule = ChangeRule(effective="immediately", proration="prorate_and_invoice")
    """A change that raises the recurring amount with other products (a higher plan)."""
    quantity_increase: ChangeRule = ChangeRule(effective="immediately", proration="prorate")
    """More units of the same products."""
    downgrade: ChangeRule = ChangeRule(effective="period_end")
    """A change that lowers the recurring amount with other products."""
    quantity_decrease: ChangeRule = ChangeRule(effective="period_end")
    """Fewer units of the same products."""
    credit_immediate_cancellation: bool = True
    """Whether a cancellation that takes effect at once credits the unused time of the period."""


class Governance(_Config, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole governance file."""

    tiers: dict[str, TierConfig]
    clients: dict[str, ClientOverride] = {}
    rate_limit: RateLimitConfig = RateLimitConfig()
    pre_auth_limit: PreAuthLimitConfig = PreAuthLimitConfig()
    request_limits: RequestLimitsConfig = RequestLimitsConfig()
    authentication: AuthenticationConfig = AuthenticationConfig()
    issuers: tuple[IssuerConfig, ...] = ()
    cors: dict[str, CorsConfig] = {}
    """CORS allowlist per API version; an API not listed gets no CORS headers at all."""
    alerts: AlertsConfig = AlertsConfig()
    """Business alert rules (:mod:`policies.alert_rules`)."""
    subscription_changes: SubscriptionChangeRules = SubscriptionChangeRules()
    """When subscription changes take effect and how they are prorated (see :class:`SubscriptionChangeRules`)."""

    def limits_for(self, client_id: str, tier: str | None) -> tuple[str, ...]:
        """The limits that apply to a client: its override, else its tier's."""
        override = self.clients.get(client_id)
        if override is not None and override.limits is not None:
            return override.limits
        tier_config = self.tiers.get(tier or self.rate_limit.default_tier)
        return tier_config.limits if tier_config else ()


def issuer_key(url: str) -> str:
    """``url`` normalised for comparing issuers: scheme and host in lower case, no default port,
    no trailing slash (``HTTPS://Gateway.example:443/`` → ``https://gateway.example``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def _check_issuers(issuers: tuple[IssuerConfig, ...], own_issuer: str) -> list[str]:
    errors: list[str] = []
    seen: dict[str, int] = {}
    # Loopback is the running gateway's setting, checked at every fetch; the form and any
    # non-loopback IP literal are checked here, so an impossible issuer fails at once.
    for index, config in enumerate(issuers):
        key = issuer_key(config.issuer)
        if key == issuer_key(own_issuer):
            errors.append(
                f"issuers.{index}.issuer: {config.issuer!r} is this gateway's own issuer ({own_issuer}), which is "
                "built in; declare only other issuers"
            )
        elif key in seen:
            errors.append(f"issuers.{index}.issuer: {config.issuer!r} is declared twice (issuers.{seen[key]} too)")
        seen.setdefault(key, index)
        lenient = DestinationPolicy(allow_loopback=True, allow_private_network=config.allow_private_network)
        try:
            parse_destination(config.jwks_uri, lenient)
        except DestinationRefused as refused:
            private = refused.rule.startswith(NOT_PUBLIC) and not config.allow_private_network
            hint = "; for an IdP on your own network, set allow_private_network: true" if private else ""
            errors.append(f"issuers.{index}.jwks_uri: {refused}{hint}")
    return errors


def _check(governance: Governance, own_issuer: str) -> list[str]:
    errors = _check_issuers(governance.issuers, own_issuer)
    for name, tier in governance.tiers.items():
        for text in tier.limits:
            try:
                parse_many(text)
            except ValueError:
                errors.append(f"tiers.{name}.limits: {text!r} is not a limit like '5/second'")
    for client_id, override in governance.clients.items():
        for text in override.limits or ():
            try:
                parse_many(text)
            except ValueError:
                errors.append(f"clients.{client_id}.limits: {text!r} is not a limit like '5/second'")
    for api_id, cors in governance.cors.items():
        if not API_ID.match(api_id):
            errors.append(f"cors: {api_id!r} is not an API id like 'system/crm/v1'")
        if not 0 <= cors.max_age <= 86400:
            errors.append(f"cors.{api_id}.max_age: {cors.max_age} is out of range; allowed values are 0..86400")
        if not cors.origins:
            errors.append(f"cors.{api_id}.origins: empty; list at least one origin or remove the API")
        for origin in cors.origins:
            if not ORIGIN.match(origin):
                errors.append(
                    f"cors.{api_id}.origins: {origin!r} is not a lower-case origin like 'https://app.example.com'"
                    " ('*', 'null', paths and trailing slashes are refused)"
                )
    if governance.rate_limit.default_tier not in governance.tiers:
        errors.append(f"rate_limit.default_tier: {governance.rate_limit.default_tier!r} is not a declared tier")
    return errors


_KEYED_SECTIONS: tuple[tuple[str, type[Any]], ...] = (
    ("tiers", TierConfig),
    ("clients", ClientOverride),
    ("cors", CorsConfig),
)


def _dotted(message: str, prefix: str) -> str:
    """``"Expected `array`, got `str` - at `$.limits[0]`"`` → ``"<prefix>.limits.0: Expected ..."``."""
    text, _, path = message.partition(" - at `$")
    path = re.sub(r"\[(\d+)\]", r".\1", path.rstrip("`"))
    return f"{prefix}{path}: {text}"


def _located(raw: Any, exc: Exception) -> list[str]:
    """Name the failing entry of a keyed section (msgspec's path says only ``tiers[...]``)."""
    if not isinstance(raw, dict):
        return []
    errors = []
    for section, kind in _KEYED_SECTIONS:
        entries = raw.get(section)
        if not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            try:
                msgspec.convert(value, kind)
            except (msgspec.ValidationError, ValueError) as entry_error:
                errors.append(_dotted(str(entry_error), f"{section}.{key}"))
    if not errors and isinstance(exc, msgspec.ValidationError) and " - at `$." in str(exc):
        errors.append(_dotted(str(exc), "").lstrip("."))
    return errors


def parse_governance(text: str, source: str = "governance", *, own_issuer: str) -> Governance:
    """Decode and check a governance document; raise GovernanceError listing every problem.

    Args:
        text: the YAML (or JSON) document.
        source: names the document in a message about its syntax.
        own_issuer: the gateway's own issuer URL, which no external issuer may take.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GovernanceError([f"{source}: not valid YAML ({exc})"]) from None
    try:
        governance = msgspec.convert(raw, Governance)
    except (msgspec.ValidationError, ValueError) as exc:
        raise GovernanceError(_located(raw, exc) or [f"{source}: {exc}"]) from None
    errors = _check(governance, own_issuer)
    if errors:
        raise GovernanceError(errors)
    return governance


def load_governance(path: Path, *, own_issuer: str) -> Governance:
    """Read and check the governance file at ``path`` (``own_issuer``: see :func:`parse_governance`)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise GovernanceError([f"{path}: cannot read ({exc.strerror})"]) from None
    return parse_governance(text, str(path), own_issuer=own_issuer)
