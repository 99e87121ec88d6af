"""``/gateway/v1``: the gateway's own management API (contract ``contracts/gateway/v1.yaml``).

Clients (the same :class:`ClientAdmin` the CLI uses), per-client usage, the audit log and
the API catalogue. Scopes, input validation, idempotency and audit are the pipeline's; what
a write changed — for a grant: which scopes, to which client (the record names who) — is
added to its audit record through the request context's audit note. Client writes are held
to the grant rule (:mod:`gateway.management.grants`); a refusal is audited as a denial by
``client_grants``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.canonical import Page
from apis.system.http import page_response
from apis.system.paging import cursor_position, next_cursor, next_link
from core.audit import AuditRecord, now, reason_parts
from core.audit_query import AuditFilter
from core.errors import Forbidden, InvalidInput
from gateway.governance_reload import AppliedGovernance, governance_field_errors
from gateway.management.client_admin import (
    ClientCreate,
    ClientUpdate,
    SecretRotation,
    client_view,
)
from gateway.management.grants import GRANT_POLICY, Granter, grant_note, granter_of
from gateway.management.sources import ManagementSources
from gateway.vendor_checks import UnknownVendor
from policies.context import Denial, request_context
from policies.governance import GovernanceError
from policies.observe import AUDIT_NOTE_KEY

T = TypeVar("T")
JSON = "application/json"
NDJSON = "application/x-ndjson"
BASE = "/gateway/v1"
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size.")]


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=headers)


async def _decode(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """The body as ``kind``; the request contract has checked its shape already."""
    body = await request.body()
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise InvalidInput(f"Request body violates the contract: {error}") from None


def _note(request: Request[Any, Any, Any], management: ManagementSources, note: str, status: int = 200) -> None:
    """Say in the audit record what this call changed (``status``: the answer, for continuation records).

    A note longer than one record's reason (a grant of many scopes) continues in further records
    of the same request, so no granted scope goes unrecorded.
    """
    ctx = request_context(request)
    if ctx is None:
        return
    first, *rest = reason_parts(note)
    ctx.state[AUDIT_NOTE_KEY] = first
    principal = ctx.principal
    for part in rest:
        management.audit_log.record(
            AuditRecord(
                at=now(),
                request_id=ctx.request_id,
                method=ctx.method,
                route=ctx.route.path_template,
                status=status,
                outcome="allowed",
                client_id=principal.client_id if principal else None,
                partner_id=principal.partner_id if principal else None,
                api=ctx.route.api.api_id,
                reason=part,
                source=ctx.source,
            )
        )


@contextlib.asynccontextmanager
async def _grant_rule(request: Request[Any, Any, Any], management: ManagementSources) -> AsyncIterator[Granter]:
    """The caller as a granter; a refusal by the grant rule is audited as a denial by ``client_grants``.

    The rule needs the client acted on, so it is decided here rather than by a policy of the
    chain; the denial it records is what a policy's would be (outcome, policy, reason, metric).
    """
    ctx = request_context(request)
    principal = ctx.principal if ctx is not None else None
    granter = await granter_of(principal, management.issuer, management.admin.store)
    try:
        yield granter
    except Forbidden as error:
        if ctx is not None:
            ctx.denied = Denial(
                status=error.status, problem=error.problem, title=error.title, detail=error.detail, policy=GRANT_POLICY
            )
        raise


# ---------------------------------------------------------------------------- clients


@post("/clients", operation_id="createClient")
async def create_client(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources]
) -> Response[bytes]:
    """Register a client; its secret is in this response only."""
    spec = await _decode(request, ClientCreate)
    async with _grant_rule(request, management) as granter:
        record, secret = await management.admin.create(spec, granter)
    _note(request, management, f"created client {record.client_id} (tier {record.tier}); {grant_note(record)}", 201)
    body = {**client_view(record), "client_secret": secret}
    return _json(body, 201, {"Location": f"{BASE}/clients/{record.client_id}"})


@get("/clients", operation_id="listClients")
async def list_clients(
    request: Request[Any, Any, Any],
    management: NamedDependency[ManagementSources],
    limit: Limit = 50,
    status: FromQuery[str | None] = None,
    tier: FromQuery[str | None] = None,
    partner_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Clients, oldest first, filtered by status, tier and partner."""
    records, next_position = await management.admin.list(
        limit=limit,
        position=cursor_position(request, str),
        status="disabled" if status == "disabled" else ("active" if status == "active" else None),
        tier=tier,
        partner_id=partner_id,
    )
    return page_response(request, Page(items=[client_view(record) for record in records], next_position=next_position))


@get("/clients/{client_id:str}", operation_id="getClient")
async def get_client(management: NamedDependency[ManagementSources], client_id: FromPath[str]) -> Response[bytes]:
    """One client (never its secret)."""
    return _json(client_view(await management.admin.get(client_id)))


@patch("/clients/{client_id:str}", operation_id="updateClient")
async def update_client(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], client_id: FromPath[str]
) -> Response[bytes]:
    """Change name, scopes, tier, limits or grantable scopes; live tokens follow the new tier, limits and scopes."""
    change = await _decode(request, ClientUpdate)
    async with _grant_rule(request, management) as granter:
        record = await management.admin.update(client_id, change, granter)
    fields = [name for name in ClientUpdate.__struct_fields__ if getattr(change, name) is not msgspec.UNSET]
    granted = grant_note(record, fields)
    note = f"updated client {client_id}: {', '.join(fields) or 'nothing'}"
    _note(request, management, f"{note}; {granted}" if granted else note)
    return _json(client_view(record))


@delete("/clients/{client_id:str}", operation_id="deleteClient", status_code=204)
async def delete_client(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], client_id: FromPath[str]
) -> None:
    """Delete for good; its live tokens are refused at once."""
    async with _grant_rule(request, management) as granter:
        await management.admin.delete(client_id, granter)
    _note(request, management, f"deleted client {client_id}", 204)


@post("/clients/{client_id:str}/disable", operation_id="disableClient", status_code=200)
async def disable_client(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], client_id: FromPath[str]
) -> Response[bytes]:
    """Disable; its live tokens are refused at once, here and in every other process."""
    async with _grant_rule(request, management) as granter:
        record = await management.admin.disable(client_id, granter)
    _note(request, management, f"disabled client {client_id}")
    return _json(client_view(record))


@post("/clients/{client_id:str}/enable", operation_id="enableClient", status_code=200)
async def enable_client(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], client_id: FromPath[str]
) -> Response[bytes]:
    """Enable again; tokens issued before it was disabled stay refused."""
    async with _grant_rule(request, management) as granter:
        record = await management.admin.enable(client_id, granter)
    _note(request, management, f"enabled client {client_id}")
    return _json(client_view(record))


@post("/clients/{client_id:str}/secret", operation_id="rotateClientSecret", status_code=200)
async def rotate_secret(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], client_id: FromPath[str]
) -> Response[bytes]:
    """A new secret (in this response only); the current one keeps working for the stated overlap."""
    rotation = await _decode(request, SecretRotation)
    async with _grant_rule(request, management) as granter:
        record, secret = await management.admin.rotate_secret(client_id, rotation, granter)
    _note(request, management, f"rotated the secret of client {client_id}")
    return _json({**client_view(record), "client_secret": secret})


@get("/clients/{client_id:str}/usage", operation_id="getClientUsage")
async def client_usage(management: NamedDependency[ManagementSources], client_id: FromPath[str]) -> Response[bytes]:
    """Limits with what is left in the current windows, units admitted today, denials today."""
    record = await management.admin.get(client_id)
    return _json(await management.client_usage(record))


# ---------------------------------------------------------------------------- audit


def _audit_filter(
    since: dt.datetime | None,
    until: dt.datetime | None,
    client_id: str | None,
    partner_id: str | None,
    route: str | None,
    outcome: str | None,
    policy: str | None,
) -> AuditFilter:
    return AuditFilter(
        since=since,
        until=until,
        client_id=client_id,
        partner_id=partner_id,
        route=route,
        outcome=outcome,
        policy=policy,
    )


@get("/audit/events", operation_id="listAuditEvents")
async def list_audit_events(
    request: Request[Any, Any, Any],
    management: NamedDependency[ManagementSources],
    limit: Limit = 50,
    since: FromQuery[dt.datetime | None] = None,
    until: FromQuery[dt.datetime | None] = None,
    client_id: FromQuery[str | None] = None,
    partner_id: FromQuery[str | None] = None,
    route: FromQuery[str | None] = None,
    outcome: FromQuery[str | None] = None,
    policy: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Audit records, newest first."""
    where = _audit_filter(since, until, client_id, partner_id, route, outcome, policy)
    items, next_position = await management.audit_query.search(
        where, limit=limit, position=cursor_position(request, int)
    )
    return page_response(request, Page(items=items, next_position=next_position))


@get("/audit/export", operation_id="exportAuditEvents")
async def export_audit_events(
    request: Request[Any, Any, Any],
    management: NamedDependency[ManagementSources],
    since: FromQuery[dt.datetime],
    until: FromQuery[dt.datetime],
    client_id: FromQuery[str | None] = None,
    partner_id: FromQuery[str | None] = None,
    route: FromQuery[str | None] = None,
    outcome: FromQuery[str | None] = None,
    policy: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Records of a time range, oldest first, as NDJSON; a ``next`` link continues a long range."""
    where = _audit_filter(since, until, client_id, partner_id, route, outcome, policy)
    lines, next_position = await management.audit_query.export(where, position=cursor_position(request, int))
    cursor = next_cursor(request, next_position)
    headers = {"Link": next_link(request, cursor)} if cursor else {}
    return Response(content=lines, media_type=NDJSON, headers=headers)


# ---------------------------------------------------------------------------- governance


def _governance_view(applied: AppliedGovernance) -> dict[str, Any]:
    return {
        "digest": applied.digest,
        "applied_at": dt.datetime.fromtimestamp(applied.applied_at, dt.UTC).isoformat().replace("+00:00", "Z"),
        "source": applied.source,
        "persisted": applied.persisted,
    }


@get("/governance", operation_id="getGovernance")
async def get_governance(management: NamedDependency[ManagementSources]) -> Response[bytes]:
    """The governance document in force in this process, with its digest."""
    document = msgspec.to_builtins(management.governance())
    return _json({**_governance_view(management.governance_reloader.current), "document": document})


@put("/governance", operation_id="replaceGovernance")
async def replace_governance(
    request: Request[Any, Any, Any], management: NamedDependency[ManagementSources], dry_run: FromQuery[bool] = False
) -> Response[bytes]:
    """Check a governance document and put it in force without a restart (every process, with Redis)."""
    document = msgspec.json.decode(await request.body())
    try:
        applied = await management.governance_reloader.replace(document, dry_run=dry_run)
    except GovernanceError as error:
        raise InvalidInput(
            f"The governance document has {len(error.errors)} problem(s); the running one stays in force.",
            field_errors=governance_field_errors(error),
        ) from None
    if not dry_run:
        persisted = "written to its file" if applied.persisted else "NOT written to its file (holds until restart)"
        _note(request, management, f"governance replaced: {applied.digest[:12]}, {persisted}")
    return _json({**_governance_view(applied), "dry_run": dry_run})


# ---------------------------------------------------------------------------- vendors


@get("/vendors", operation_id="checkVendors")
async def check_vendors(
    management: NamedDependency[ManagementSources], vendor: FromQuery[str | None] = None
) -> Response[bytes]:
    """The preflight against the vendors: a run at most a few minutes old (its age in ``Age``)."""
    try:
        report, age = await management.vendor_checks.report(vendor)
    except UnknownVendor as error:
        detail = str(error)
        raise InvalidInput(detail, field_errors=[{"in": "query", "name": "vendor", "detail": detail}]) from None
    return _json(report, headers={"Age": str(int(age))})


# ---------------------------------------------------------------------------- catalogue


@get("/catalogue", operation_id="getCatalogue")
async def get_catalogue(management: NamedDependency[ManagementSources]) -> Response[bytes]:
    """Every API and version this gateway serves, with lifecycle, owner, links and scopes."""
    return _json({"apis": management.catalogue()})


MODE_HEADER = b"strata-mode"
"""Every management answer says which mode the gateway runs in (``demo`` or ``production``)."""


def _mode_header(app: Any) -> Any:
    """ASGI middleware adding ``Strata-Mode`` to every management answer."""

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        mode = scope["app"].state.settings.mode.encode()

        async def send_with_mode(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (MODE_HEADER, mode)]
            await send(message)

        await app(scope, receive, send_with_mode)

    return middleware


router = Router(
    path=BASE,
    route_handlers=[
        create_client,
        list_clients,
        get_client,
        update_client,
        delete_client,
        disable_client,
        enable_client,
        rotate_secret,
        client_usage,
        list_audit_events,
        export_audit_events,
        get_governance,
        replace_governance,
        get_catalogue,
        check_vendors,
    ],
    middleware=[_mode_header],
)
