"""The grant rule of the management API: a caller grants only what it may grant, never to itself.

A caller of ``/gateway/v1/clients`` acts with an access token. What it may hand out is its
**grantable set**:

* by default, the scopes its token holds now (after any reduction of its client's scopes:
  see :mod:`policies.oauth.token_standing`);
* for a client registered with ``grantable_scopes``, that list instead: a ceiling for an
  admin client that should grant what it does not use itself (``[]`` grants nothing);
* a ``gateway:*`` scope — the gateway's own powers (clients, governance, audit, …) — only
  if its token holds it, whatever ``grantable_scopes`` says.

Three rules follow, each refused with 403 and a problem whose ``type`` names it:

* ``grant-exceeds-granter`` — creating or changing a client with a scope, or a
  ``grantable_scopes`` entry, outside the caller's grantable set;
* ``client-outranks-caller`` — changing, re-scoping, rotating the secret of, disabling,
  enabling or deleting a client whose scopes or ``grantable_scopes`` reach beyond the
  caller's grantable set: whoever can rotate a client's secret can act as that client, and
  whoever can disable it can cut off a more privileged integration;
* ``self-management`` — a client cannot change, rotate, disable, enable or delete itself
  through the API: a leaked token must not be able to rescope, re-key or remove its own
  client (another admin client or the CLI does that).

The CLI (an operator on the machine, with the state database in hand) is not limited: its
calls pass no :class:`Granter`. Tokens of external issuers are granters too (their token's
scopes; no ``grantable_scopes``, no self).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from core.errors import Forbidden
from policies.context import Principal
from policies.oauth.clients import ClientRecord, ClientStore

GATEWAY_SCOPE_PREFIX = "gateway:"
GRANT_POLICY = "client_grants"
"""The name a refusal is audited under (the ``policy`` of its audit record)."""


class GrantExceedsGranter(Forbidden):
    """A scope given to a client is outside the caller's grantable set."""

    problem = "grant-exceeds-granter"
    title = "Grant exceeds the caller's grantable scopes"


class ClientOutranksCaller(Forbidden):
    """The client acted on holds (or may grant) scopes outside the caller's grantable set."""

    problem = "client-outranks-caller"
    title = "Client holds scopes beyond the caller's grantable scopes"


class SelfManagement(Forbidden):
    """A client tried to change, rotate, disable, enable or delete itself."""

    problem = "self-management"
    title = "A client cannot manage itself"


@dataclass(frozen=True, slots=True)
class Granter:
    """Who asks, through the API, and what it may grant."""

    client_id: str | None
    """Its client id at the embedded issuer; None for a token of an external issuer."""
    oauth_scopes: frozenset[str]
    """The scopes its token holds now."""
    grantable_scopes: tuple[str, ...] | None = None
    """Its client's ceiling, when one is set."""

    @property
    def grantable(self) -> frozenset[str]:
        """The scopes it may grant (see the module docstring)."""
        base = self.oauth_scopes if self.grantable_scopes is None else self.grantable_scopes
        return frozenset(s for s in base if not s.startswith(GATEWAY_SCOPE_PREFIX) or s in self.oauth_scopes)


async def granter_of(principal: Principal | None, issuer: str, clients: ClientStore) -> Granter:
    """The granter behind a request's principal (no principal: one who may grant nothing)."""
    if principal is None:
        return Granter(client_id=None, oauth_scopes=frozenset())
    if principal.issuer != issuer:
        return Granter(client_id=None, oauth_scopes=principal.oauth_scopes)
    # A client created by another process since our last poll: read it, or its ceiling would be missed.
    record = clients.cached(principal.client_id) or await clients.load_one(principal.client_id)
    ceiling = record.grantable_scopes if record is not None else None
    return Granter(client_id=principal.client_id, oauth_scopes=principal.oauth_scopes, grantable_scopes=ceiling)


def check_grant(granter: Granter | None, field: str, scopes: Iterable[str]) -> None:
    """Refuse scopes (of body field ``field``) outside the granter's grantable set; None: the CLI."""
    if granter is None:
        return
    grantable = granter.grantable
    beyond = [(index, scope) for index, scope in enumerate(scopes) if scope not in grantable]
    if not beyond:
        return
    names = " ".join(dict.fromkeys(scope for _, scope in beyond))
    raise GrantExceedsGranter(
        f"A client may grant only scopes within its grantable set (its own scopes, or its grantable_scopes;"
        f" gateway:* scopes only if it holds them); {field} has scopes beyond it: {names}",
        field_errors=[
            {"in": "body", "pointer": f"/{field}/{index}", "detail": f"{scope} is not in the caller's grantable set"}
            for index, scope in beyond
        ],
    )


def check_may_act_on(granter: Granter | None, target: ClientRecord, action: str) -> None:
    """Refuse acting on oneself, or on a client that reaches beyond the granter; None: the CLI."""
    if granter is None:
        return
    if granter.client_id is not None and granter.client_id == target.client_id:
        raise SelfManagement(
            f"A client cannot {action} itself through the management API; another client with"
            " gateway:clients:admin, or the CLI, can.",
            field_errors=[{"in": "path", "name": "client_id", "detail": "the caller's own client"}],
        )
    reach = (*target.oauth_scopes, *(target.grantable_scopes or ()))
    beyond = sorted(set(reach) - granter.grantable)
    if beyond:
        raise ClientOutranksCaller(
            f"A client may {action} only clients whose scopes and grantable_scopes are within its own grantable"
            f" set; this client also holds or may grant: {' '.join(beyond)}",
            field_errors=[{"in": "path", "name": "client_id", "detail": "a client beyond the caller's grantable set"}],
        )


def grant_note(record: ClientRecord, fields: Collection[str] = ("scopes", "grantable_scopes")) -> str:
    """What a create or update granted ``record`` (of ``fields`` changed), for the audit log."""
    parts = []
    if "scopes" in fields:
        parts.append(f"granted scopes: {' '.join(record.oauth_scopes)}")
    if "grantable_scopes" in fields:
        ceiling = record.grantable_scopes
        shown = "(its own scopes)" if ceiling is None else (" ".join(ceiling) or "(none)")
        parts.append(f"grantable_scopes: {shown}")
    return "; ".join(parts)
