"""The state directory and database, as the CLI sees them.

``prepare_state`` runs before the server starts: it creates the state directory and the
schema, the first signing key, and — on an empty state with ``seed_demo`` — the demo OAuth
clients, whose secrets are printed once and written to ``<state>/demo-clients.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from core.audit import AuditLog, AuditRecord, now, reason_parts
from core.db import create_engine
from core.master_key import resolve_master_key
from core.migrations import prepare_schema
from gateway.settings import Settings
from policies.oauth import ClientStore, OAuthService, SigningKeyStore, TokenRequestError, request_token

DEMO_CLIENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "demo-internal-app",
        # Every system API: the internal integration app of the walkthroughs.
        "scopes": [
            f"system:{api}:{access}"
            for api in ("crm", "erp", "billing", "payments", "tax", "product")
            for access in ("read", "write")
        ]
        + [f"system:{api}:pii" for api in ("crm", "erp", "billing")]  # an integration copies personal data
        + ["system:data:write", "process:quote-to-cash:write"],
        "tier": "internal",
    },
    {
        "name": "demo-operations",
        "scopes": [
            "system:crm:read",
            "gateway:clients:admin",
            "gateway:audit:read",
            "gateway:catalog:read",
            "gateway:vendors:read",
            "process:operations:read",
            "process:operations:write",
            "process:reconciliation:read",
            "process:reconciliation:write",
            "process:customer-sync:write",
            "process:catalog-sync:write",
            "process:usage-to-billing:write",
            "experience:operations:read",
        ],
        "tier": "gold",
    },
    {
        "name": "demo-customer-portal",
        # A portal back end: reads any customer, or exchanges its token (RFC 8693) for a
        # short-lived one bound to the customer signed in to the portal.
        "scopes": ["experience:customer-portal:read", "experience:customer-portal:act"],
        "tier": "gold",
    },
    {
        "name": "demo-partner",
        # A reseller's portal integration: bound to the seeded demo partner, so it sees only
        # the customers and deals the CRM attributes to partner-northwind, and no other API.
        "scopes": ["experience:partner-portal:read", "experience:partner-portal:write"],
        "tier": "gold",
        "partner_id": "partner-northwind",
    },
    {
        "name": "demo-trial-app",
        "scopes": ["system:crm:read"],
        "tier": "bronze",
    },
)


@asynccontextmanager
async def open_client_store(settings: Settings) -> AsyncIterator[ClientStore]:
    """The client store over the configured database (schema created if missing)."""
    engine = create_engine(settings.effective_database_url)
    try:
        await prepare_schema(engine, migrate=settings.migrates_at_start)
        store = ClientStore(engine)
        await store.refresh()
        yield store
    finally:
        await engine.dispose()


async def audit_operator_change(settings: Settings, command: str, note: str) -> None:
    """Audit a change an operator made on the machine (the CLI): no client id, source ``cli``.

    ``note`` says what changed (for a grant: which scopes, to which client); a long one takes
    several records, as in the management API.
    """
    engine = create_engine(settings.effective_database_url)
    try:
        audit = AuditLog(engine)
        for part in reason_parts(note):
            record = AuditRecord(
                at=now(),
                request_id="-",
                method="CLI",
                route=command,
                status=0,  # not an HTTP request
                outcome="allowed",
                reason=part,
                source="cli",
            )
            audit.record(record)
        await audit.flush()
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_key_store(settings: Settings) -> AsyncIterator[SigningKeyStore]:
    """The signing-key store over the configured database (a first key created if none)."""
    engine = create_engine(settings.effective_database_url)
    try:
        await prepare_schema(engine, migrate=settings.migrates_at_start)
        store = SigningKeyStore(engine, settings.token_ttl_seconds, key_encryption_secret=resolve_master_key(settings))
        await store.start()
        yield store
    finally:
        await engine.dispose()


async def issue_token(settings: Settings, client_id: str, client_secret: str, scope: str | None) -> str:
    """An access token for a client, through the token endpoint's own code path."""
    engine = create_engine(settings.effective_database_url)
    try:
        await prepare_schema(engine, migrate=settings.migrates_at_start)
        service = await OAuthService.start(settings, engine, None, key_encryption_secret=resolve_master_key(settings))
        try:
            return await request_token(service, client_id, client_secret, scope)
        except TokenRequestError as exc:
            raise PermissionError(f"token refused: {exc.error} ({exc.description})") from None
        finally:
            await service.stop()
    finally:
        await engine.dispose()


async def prepare_state(settings: Settings, echo: Callable[[str], None] = print) -> bool:
    """Create the state directory, schema and keys; seed demo clients on an empty state (then True)."""
    settings.state_path.mkdir(parents=True, exist_ok=True)
    async with open_key_store(settings):
        pass
    if not settings.seed_demo:
        return False
    async with open_client_store(settings) as store:
        if await store.list():
            return False
        created = []
        for spec in DEMO_CLIENTS:
            record, secret = await store.create(
                name=spec["name"], scopes=spec["scopes"], tier=spec["tier"], partner_id=spec.get("partner_id")
            )
            created.append(
                {
                    "name": record.name,
                    "client_id": record.client_id,
                    "client_secret": secret,
                    "scopes": list(record.oauth_scopes),
                    "tier": record.tier,
                    **({"partner_id": record.partner_id} if record.partner_id else {}),
                    **({"customer_id": record.customer_id} if record.customer_id else {}),
                }
            )
    path = settings.state_path / "demo-clients.json"
    path.write_text(json.dumps(created, indent=2) + "\n")
    os.chmod(path, 0o600)
    echo(f"strata: seeded {len(created)} demo clients (secrets shown once; also in {path}):")
    for client in created:
        echo(f"  {client['name']:20} {client['client_id']}  {client['client_secret']}  [{client['tier']}]")
    return True
