"""Client lifecycle for operators: the one service behind ``strata clients`` and ``/gateway/v1/clients``.

It validates every field against the governance in force (a tier must be declared) and
lists every wrong field at once, applies the grant rule to API callers (a
:class:`~gateway.management.grants.Granter`; the CLI passes none), then delegates to
:class:`policies.oauth.ClientStore`.
Errors are :mod:`core.errors` exceptions: :class:`InvalidInput` naming the fields,
:class:`NotFound` for an unknown (or deleted) client, a :class:`~core.errors.Forbidden`
naming the grant rule broken, so the CLI and the HTTP API refuse
the same input with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import msgspec

from core.cursors import InvalidCursor
from core.errors import InvalidInput, NotFound
from core.instants import rfc3339
from gateway.management.grants import Granter, check_grant, check_may_act_on
from policies.oauth.client_fields import (
    check_jwks,
    check_slug,
    validate_grantable_scopes,
    validate_limits,
    validate_scope,
)
from policies.oauth.client_jwks import check_jwks_uri
from policies.oauth.clients import MAX_SECRET_OVERLAP_SECONDS, ClientRecord, ClientStatus, ClientStore

DEFAULT_SECRET_OVERLAP_SECONDS = 86400
"""How long a rotated-out secret keeps working when the caller does not say."""


class ClientCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What an operator gives to register a client."""

    name: str
    scopes: list[str]
    tier: str
    partner_id: str | None = None
    customer_id: str | None = None
    jwks: dict[str, Any] | None = None
    """A public JWK set makes it a ``private_key_jwt`` client (no secret)."""
    jwks_uri: str | None = None
    """Or the URL where the client publishes its key set (fetched, cached, refetched on a new ``kid``)."""
    rate_limits: list[str] | None = None
    grantable_scopes: list[str] | None = None
    """For a client that manages clients: the most it may grant (None: its own scopes)."""


class ClientUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A partial change; absent fields stay, ``rate_limits: null`` goes back to the tier's."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    scopes: list[str] | msgspec.UnsetType = msgspec.UNSET
    tier: str | msgspec.UnsetType = msgspec.UNSET
    rate_limits: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    grantable_scopes: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    """``null`` goes back to the client's own scopes."""


class SecretRotation(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How long the current secret keeps working after a new one is issued."""

    previous_secret_valid_for: int = DEFAULT_SECRET_OVERLAP_SECONDS
    """Seconds (0 = the old secret stops now)."""


_rfc3339 = rfc3339


def client_view(record: ClientRecord) -> dict[str, Any]:
    """A client as operators see it (API and ``--json``): never a secret or its hash."""
    return {
        "client_id": record.client_id,
        "name": record.name,
        "scopes": list(record.oauth_scopes),
        "tier": record.tier,
        "rate_limits": list(record.rate_limits) if record.rate_limits is not None else None,
        "auth_method": record.auth_method,
        "status": record.status,
        "partner_id": record.partner_id,
        "customer_id": record.customer_id,
        "jwks": record.jwks,
        "jwks_uri": record.jwks_uri,
        "created_at": _rfc3339(record.created_at),
        "updated_at": _rfc3339(record.updated_at),
        "disabled_at": _rfc3339(record.disabled_at),
        "previous_secret_expires_at": _rfc3339(record.previous_secret_expires_at),
        "grantable_scopes": list(record.grantable_scopes) if record.grantable_scopes is not None else None,
    }


def _body_error(field: str, detail: str) -> dict[str, str]:
    return {"in": "body", "pointer": f"/{field}", "detail": detail}


def _collect(errors: list[dict[str, str]], field: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except ValueError as exc:
        errors.append(_body_error(field, str(exc)))
        return None


def _refuse(errors: list[dict[str, str]]) -> None:
    if errors:
        fields = ", ".join(error["pointer"].lstrip("/") for error in errors)
        raise InvalidInput(f"Invalid client fields: {fields}.", field_errors=errors)


class ClientAdmin:
    """Create, read, change, disable, delete clients and rotate their secrets."""

    def __init__(self, store: ClientStore, tiers: Callable[[], Collection[str]]) -> None:
        """``tiers`` returns the tier names of the governance in force (it can be reloaded)."""
        self.store = store
        self.tiers = tiers

    def _check_tier(self, tier: str) -> str:
        tiers = self.tiers()
        if tier not in tiers:
            raise ValueError(f"tier: {tier!r} is not a tier; allowed values are {', '.join(tiers)}")
        return tier

    @staticmethod
    def _check_name(name: str) -> str:
        if not name.strip() or len(name) > 200:
            raise ValueError("name must be 1-200 characters")
        return name

    @staticmethod
    def _check_scopes(scopes: list[str]) -> list[str]:
        if not scopes:
            raise ValueError("a client needs at least one scope")
        return [validate_scope(scope) for scope in scopes]

    async def create(self, spec: ClientCreate, granter: Granter | None = None) -> tuple[ClientRecord, str | None]:
        """Register a client; return it and its secret (shown once; None for ``private_key_jwt``).

        ``granter``: the API caller, held to the grant rule; None for the CLI (not limited).
        """
        errors: list[dict[str, str]] = []
        _collect(errors, "name", lambda: self._check_name(spec.name))
        _collect(errors, "scopes", lambda: self._check_scopes(spec.scopes))
        _collect(errors, "tier", lambda: self._check_tier(spec.tier))
        _collect(errors, "partner_id", lambda: check_slug("partner_id", spec.partner_id))
        _collect(errors, "customer_id", lambda: check_slug("customer_id", spec.customer_id))
        if spec.partner_id and spec.customer_id:
            errors.append(_body_error("customer_id", "a client is bound to a partner or a customer, not both"))
        if spec.jwks is not None:
            _collect(errors, "jwks", lambda: check_jwks(spec.jwks or {}))
        if spec.jwks_uri is not None:
            _collect(errors, "jwks_uri", lambda: check_jwks_uri(spec.jwks_uri or ""))
            if spec.jwks is not None:
                errors.append(_body_error("jwks_uri", "give jwks or jwks_uri, not both"))
        if spec.rate_limits is not None:
            _collect(errors, "rate_limits", lambda: validate_limits(spec.rate_limits or []))
        if spec.grantable_scopes is not None:
            _collect(errors, "grantable_scopes", lambda: validate_grantable_scopes(spec.grantable_scopes or []))
        _refuse(errors)
        check_grant(granter, "scopes", spec.scopes)
        check_grant(granter, "grantable_scopes", spec.grantable_scopes or ())
        return await self.store.create(
            name=spec.name,
            scopes=spec.scopes,
            tier=spec.tier,
            partner_id=spec.partner_id,
            customer_id=spec.customer_id,
            jwks=spec.jwks,
            jwks_uri=spec.jwks_uri,
            rate_limits=spec.rate_limits,
            grantable_scopes=spec.grantable_scopes,
        )

    async def list(
        self,
        *,
        limit: int = 50,
        position: str | None = None,
        status: ClientStatus | None = None,
        tier: str | None = None,
        partner_id: str | None = None,
    ) -> tuple[list[ClientRecord], str | None]:
        """A page of clients, oldest first, after the client id ``position``, and the next page's position (or None).

        Raises:
            InvalidCursor: ``position`` names no client any more (it was deleted since).
        """
        records = [
            record
            for record in await self.store.list()
            if (status is None or record.status == status)
            and (tier is None or record.tier == tier)
            and (partner_id is None or record.partner_id == partner_id)
        ]
        start = 0
        if position is not None:
            found = [index for index, record in enumerate(records) if record.client_id == position]
            if not found:
                raise InvalidCursor()
            start = found[0] + 1
        page = records[start : start + limit]
        more = start + limit < len(records)
        return page, page[-1].client_id if more and page else None

    async def get(self, client_id: str) -> ClientRecord:
        """One client; NotFound if there is none (or it was deleted)."""
        record = await self.store.get(client_id)
        if record is None:
            raise NotFound(f"No client {client_id!r}.")
        return record

    async def update(self, client_id: str, change: ClientUpdate, granter: Granter | None = None) -> ClientRecord:
        """Apply a partial change; every wrong field is listed."""
        check_may_act_on(granter, await self.get(client_id), "change")
        errors: list[dict[str, str]] = []
        if not isinstance(change.name, msgspec.UnsetType):
            _collect(errors, "name", lambda: self._check_name(str(change.name)))
        if not isinstance(change.scopes, msgspec.UnsetType):
            _collect(errors, "scopes", lambda: self._check_scopes(list(change.scopes or [])))
        if not isinstance(change.tier, msgspec.UnsetType):
            _collect(errors, "tier", lambda: self._check_tier(str(change.tier)))
        if isinstance(change.rate_limits, list):
            _collect(errors, "rate_limits", lambda: validate_limits(list(change.rate_limits or [])))
        if isinstance(change.grantable_scopes, list):
            ceiling = list(change.grantable_scopes)
            _collect(errors, "grantable_scopes", lambda: validate_grantable_scopes(ceiling))
        _refuse(errors)
        if isinstance(change.scopes, list):
            check_grant(granter, "scopes", change.scopes)
        if isinstance(change.grantable_scopes, list):
            check_grant(granter, "grantable_scopes", change.grantable_scopes)
        record = await self.store.update(
            client_id,
            name=None if isinstance(change.name, msgspec.UnsetType) else change.name,
            scopes=None if isinstance(change.scopes, msgspec.UnsetType) else change.scopes,
            tier=None if isinstance(change.tier, msgspec.UnsetType) else change.tier,
            rate_limits=change.rate_limits,
            grantable_scopes=change.grantable_scopes,
        )
        return self._found(client_id, record)

    async def disable(self, client_id: str, granter: Granter | None = None) -> ClientRecord:
        """Disable: no new tokens, live tokens refused in every process (within its poll interval)."""
        check_may_act_on(granter, await self.get(client_id), "disable")
        return self._found(client_id, await self.store.disable(client_id))

    async def enable(self, client_id: str, granter: Granter | None = None) -> ClientRecord:
        """Enable a disabled client; tokens issued before it was disabled stay refused."""
        check_may_act_on(granter, await self.get(client_id), "enable")
        return self._found(client_id, await self.store.enable(client_id))

    async def delete(self, client_id: str, granter: Granter | None = None) -> None:
        """Delete for good; its tokens stay refused."""
        check_may_act_on(granter, await self.get(client_id), "delete")
        if not await self.store.delete(client_id):
            raise NotFound(f"No client {client_id!r}.")

    async def rotate_secret(
        self, client_id: str, rotation: SecretRotation, granter: Granter | None = None
    ) -> tuple[ClientRecord, str]:
        """A new secret (shown once); the current one works for ``previous_secret_valid_for`` more seconds."""
        record = await self.get(client_id)
        check_may_act_on(granter, record, "rotate the secret of")
        if record.auth_method == "private_key_jwt":
            raise InvalidInput(
                "This client authenticates with private_key_jwt: it has no secret to rotate.",
                field_errors=[{"in": "path", "name": "client_id", "detail": "a private_key_jwt client"}],
            )
        if not 0 <= rotation.previous_secret_valid_for <= MAX_SECRET_OVERLAP_SECONDS:
            _refuse(
                [_body_error("previous_secret_valid_for", f"must be 0..{MAX_SECRET_OVERLAP_SECONDS} seconds (30 days)")]
            )
        rotated = await self.store.rotate_secret(client_id, rotation.previous_secret_valid_for)
        if rotated is None:
            raise NotFound(f"No client {client_id!r}.")
        return rotated

    @staticmethod
    def _found(client_id: str, record: ClientRecord | None) -> ClientRecord:
        if record is None:
            raise NotFound(f"No client {client_id!r}.")
        return record
