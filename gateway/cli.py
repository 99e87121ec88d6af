"""The ``strata`` command line.

Every command resolves the same settings as the server (flags, ``STRATA_*`` environment,
``STRATA_CONFIG`` TOML file) and works on the same state through the same service classes
the HTTP APIs use. A wrong setting exits with code 2 and a one-line message, never a
traceback. Scopes on the command line are space-separated (RFC 6749 §3.3).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

from gateway.db_cli import db
from gateway.settings import Settings, SettingsError, load_settings, settings_environment

if TYPE_CHECKING:
    from policies.governance import Governance

T = TypeVar("T")
EXIT_USAGE = 2


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    merged = {**(ctx.obj or {}), **{key: value for key, value in overrides.items() if value is not None}}
    try:
        return load_settings(merged)
    except SettingsError as exc:
        click.echo(f"strata: invalid setting: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
        raise  # unreachable: ctx.exit raises


def _run(coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coroutine_factory())  # type: ignore[arg-type]


@click.group()
@click.option("--state-dir", help="State directory (STRATA_STATE_DIR).")
@click.option("--database-url", help="Database URL (STRATA_DATABASE_URL).")
@click.pass_context
def main(ctx: click.Context, state_dir: str | None, database_url: str | None) -> None:
    """Strata: an API gateway for SaaS-to-ERP connectivity."""
    ctx.obj = {key: value for key, value in {"state_dir": state_dir, "database_url": database_url}.items() if value}


# ---------------------------------------------------------------------------- serve


@main.command()
@click.option("--host", help="Interface to bind (STRATA_HOST).")
@click.option("--port", type=str, help="Port to bind (STRATA_PORT).")
@click.option("--workers", type=str, help="Worker processes (STRATA_WORKERS).")
@click.option("--admin-port", type=str, help="Port of the admin listener (STRATA_ADMIN_PORT).")
@click.option("--no-seed", is_flag=True, help="Do not seed demo clients on an empty state.")
@click.option("--production", is_flag=True, help="Production mode (STRATA_MODE=production): no demo world.")
@click.option("--migrate", is_flag=True, help="Migrate the database at start (STRATA_MIGRATE; demo mode always does).")
@click.option(
    "--allow-public-sandboxes",
    is_flag=True,
    help="Mount sandboxes while listening on a non-loopback interface (STRATA_ALLOW_PUBLIC_SANDBOXES).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: str | None,
    workers: str | None,
    admin_port: str | None,
    no_seed: bool,
    production: bool,
    migrate: bool,
    allow_public_sandboxes: bool,
) -> None:
    """Serve the gateway (granian, ASGI)."""
    import os

    settings = _settings(
        ctx,
        host=host,
        port=port,
        workers=workers,
        admin_port=admin_port,
        seed_demo=False if no_seed else None,
        mode="production" if production else None,
        migrate=True if migrate else None,
        allow_public_sandboxes=True if allow_public_sandboxes else None,
    )
    _refuse_problems(ctx, settings)  # before anything is written, imported or started
    _checked_governance(settings)  # an invalid file stops here, not in every worker with a traceback
    if settings.workers > 1 or settings.admin_port:
        # The admin listener is a process of its own: it reads every worker's metrics from these files.
        _prepare_prometheus_multiprocess(settings.state_path / "prometheus")
    # Imported only now: they define prometheus_client metrics, which must see the multiprocess setup.
    from core.migrations import SchemaNotCurrent
    from gateway.sandbox_apps import embedded_vendors
    from gateway.state import prepare_state
    from gateway.vendors import VENDORS
    from policies.oauth.keys import SigningKeyUnreadable

    try:
        seeded = _run(lambda: prepare_state(settings, echo=click.echo))
    except (SigningKeyUnreadable, SchemaNotCurrent) as exc:
        click.echo(f"strata: cannot start: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    if seeded and settings.workflows_enabled and len(embedded_vendors(settings)) == len(VENDORS):
        _seed_demo_transactions(ctx)
    if settings.workers > 1 and not settings.redis_url:
        click.echo(
            f"strata: warning: {settings.workers} workers without STRATA_REDIS_URL: rate limits, failed-login "
            "limits, revocation push and idempotency locks are per process (revocation falls back to database "
            "polling)",
            err=True,
        )
    # Workers resolve their settings from the environment: pass the resolved values on.
    os.environ.update(settings_environment(settings))
    os.environ["STRATA_SEED_DEMO"] = "false"
    from granian import Granian
    from granian.constants import Interfaces

    from core.logging import configure_logging

    configure_logging(settings.log_level)  # granian's own lines go through the same JSON renderer
    click.echo(
        f"strata: serving ({settings.mode} mode) on http://{settings.host}:{settings.port} (issuer {settings.issuer})"
    )
    admin = _start_admin_listener(settings) if settings.admin_port else None
    try:
        Granian(
            "gateway.asgi:create_app_from_environment",
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            factory=True,
            log_level=settings.log_level,  # type: ignore[arg-type]
            log_dictconfig=GRANIAN_LOGGING,
        ).serve()
    finally:
        if admin is not None:
            _stop_admin_listener(admin)


def _refuse_problems(ctx: click.Context, settings: Settings) -> None:
    """Exit 2 with one line per reason not to start (:mod:`gateway.startup_checks`), if any."""
    from gateway.startup_checks import startup_problems

    try:
        problems = startup_problems(settings)
    except SettingsError as exc:
        problems = [str(exc)]
    if problems:
        for problem in problems:
            click.echo(f"strata: cannot start: {problem}", err=True)
        ctx.exit(EXIT_USAGE)


def _start_admin_listener(settings: Settings) -> Any:
    """The admin listener: one granian server (one worker) for the whole group, in a process of its own.

    It serves the same app with the admin routes only (:func:`gateway.asgi.create_admin_app_from_environment`):
    metrics of every worker (prometheus_client's multiprocess files), detailed readiness, the docs
    and, with ``admin_management``, the management API. It reads the state every worker shares (the
    database, Redis); it runs no workflows. It stops with this command.
    """
    import subprocess

    click.echo(f"strata: admin listener on http://{settings.admin_host}:{settings.admin_port}")
    command = [sys.executable, "-m", "gateway.cli", "admin-serve"]
    return subprocess.Popen(command)  # noqa: S603 - our own CLI; settings travel in the environment


def _stop_admin_listener(admin: Any) -> None:
    import subprocess

    admin.terminate()
    try:
        admin.wait(timeout=10)
    except subprocess.TimeoutExpired:
        admin.kill()
        admin.wait(timeout=5)


ADMIN_START_WAIT_SECONDS = 120.0
"""How long the admin listener waits for the workers to answer before it starts anyway."""


def _wait_for_the_workers(settings: Settings) -> None:
    """Start once the public port answers: the workers have prepared the state (schema, keys and, in a
    demo, the sandboxes' files) the admin process then only reads."""
    import httpx

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - a comparison
    url = f"http://{host if ':' not in host else f'[{host}]'}:{settings.port}/health/live"
    deadline = time.monotonic() + ADMIN_START_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


@main.command("admin-serve", hidden=True)
@click.pass_context
def admin_serve(ctx: click.Context) -> None:
    """The admin listener's process (started by ``strata serve`` when STRATA_ADMIN_PORT is set)."""
    from granian import Granian
    from granian.constants import Interfaces

    from core.logging import configure_logging

    settings = _settings(ctx)
    configure_logging(settings.log_level)
    _wait_for_the_workers(settings)
    Granian(
        "gateway.asgi:create_admin_app_from_environment",
        address=settings.admin_host,
        port=settings.admin_port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_level=settings.log_level,  # type: ignore[arg-type]
        log_dictconfig=GRANIAN_LOGGING,
    ).serve()


DEMO_RECONCILE_PERIOD = "2025-01"
"""The period whose documented inconsistencies the sandboxes seed (the console shows the report)."""


def _seed_demo_transactions(ctx: click.Context) -> None:
    """On a state just seeded with demo clients and embedded sandboxes: ``strata demo --with-outage --reconcile``.

    In a child process: the demo runs a gateway and its workflow engine, which must be gone
    (threads and all) before granian starts its workers from this process.
    """
    import subprocess

    options = [f"--{key.replace('_', '-')}={value}" for key, value in ctx.obj.items()]
    click.echo(f"strata: seeding demo transactions (strata demo --with-outage --reconcile {DEMO_RECONCILE_PERIOD}) ...")
    command = [
        sys.executable,
        "-m",
        "gateway.cli",
        *options,
        "demo",
        "--with-outage",
        "--reconcile",
        DEMO_RECONCILE_PERIOD,
    ]
    done = subprocess.run(command, check=False)  # noqa: S603 - our own CLI, options from our own command line
    if done.returncode != 0:
        click.echo("strata: warning: seeding demo transactions failed; the gateway starts without them", err=True)


GRANIAN_LOGGING: dict[str, Any] = {
    # Merged over granian's defaults (granian/log.py): its loggers lose their plain-text
    # handlers and propagate to the root logger, whose JSON handler core.logging installs.
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": True},
    },
}


def _prepare_prometheus_multiprocess(path: Path) -> None:
    """Metrics of several workers behind one port: prometheus_client's multiprocess mode.

    Set before anything in this process imports prometheus_client (it picks its value store
    at import, and granian forks the workers from this process); wiped at each start, as the
    library asks. Scraping is gateway.metrics.
    """
    import os
    import shutil

    assert "prometheus_client" not in sys.modules, "prometheus_client imported before its multiprocess setup"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


# ---------------------------------------------------------------------------- vendors


@main.group()
def vendors() -> None:
    """The vendors behind the system APIs (Salesforce, NetSuite, Business Central, Avalara, Stripe)."""


@vendors.command("check")
@click.option("--vendor", help="Check only this vendor (also when it is its sandbox).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_context
def vendors_check(ctx: click.Context, vendor: str | None, as_json: bool) -> None:
    """Preflight: credentials, API version and set-up of each vendor with a URL; exit 1 when a check fails."""
    from apis.system.kit.circuit_breaker import CircuitBreaker
    from gateway.sandbox_credentials import with_sandbox_credentials
    from gateway.vendor_checks import UnknownVendor, check_vendors, selected
    from gateway.vendors import VendorLinks

    # A vendor without a URL is checked against its sandbox, with this state's sandbox credentials.
    settings = with_sandbox_credentials(_settings(ctx))
    try:
        names = selected(settings, vendor)
    except UnknownVendor as exc:
        click.echo(f"strata: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    links = VendorLinks(settings, sandbox_apps={}, breaker=CircuitBreaker, tracer=None)
    report = _run(lambda: check_vendors(settings, links, names))
    if as_json:
        click.echo(msgspec.json.encode(report).decode())
    else:
        for line in report.lines():
            click.echo(line)
    ctx.exit(0 if report.ok else 1)


# ---------------------------------------------------------------------------- sandboxes


@main.group()
def sandboxes() -> None:
    """The vendor sandboxes (simulators of Salesforce, NetSuite, ... with fault injection)."""


@sandboxes.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
@click.option("--allow-public-sandboxes", is_flag=True, help="Listen on a non-loopback interface all the same.")
@click.pass_context
def sandboxes_serve(ctx: click.Context, host: str, port: int, allow_public_sandboxes: bool) -> None:
    """Serve every vendor sandbox in this process, under /sandbox/<vendor>.

    State persists under <state dir>/sandboxes/<vendor>; their credentials (random, drawn on the
    first start) and control-API tokens are in <state dir>/sandbox-credentials.json. Point a
    gateway at them with STRATA_<VENDOR>_URL=http://HOST:PORT/sandbox/<vendor> (listed at GET /)
    and STRATA_SANDBOX_CREDENTIALS_FILE=<that file>.
    """
    import os

    from granian import Granian
    from granian.constants import Interfaces

    from core.logging import configure_logging
    from gateway.sandbox_apps import gateway_environment
    from gateway.sandbox_credentials import FILE_NAME, load_or_create
    from gateway.startup_checks import is_loopback_host

    settings = _settings(ctx)
    if settings.mode == "production":
        click.echo("strata: cannot start: mode: sandboxes are never served in production; unset STRATA_MODE", err=True)
        ctx.exit(EXIT_USAGE)
    if not is_loopback_host(host) and not (allow_public_sandboxes or settings.allow_public_sandboxes):
        click.echo(
            f"strata: cannot start: host: {host} is not loopback (anyone reaching the port would reach the "
            "sandboxes); listen on 127.0.0.1 or pass --allow-public-sandboxes",
            err=True,
        )
        ctx.exit(EXIT_USAGE)
    os.environ["STRATA_STATE_DIR"] = str(settings.state_path)
    credentials = settings.state_path / FILE_NAME
    load_or_create(credentials)
    configure_logging(settings.log_level)
    click.echo(f"strata: sandboxes on http://{host}:{port}/sandbox/<vendor>; point a gateway at them with:")
    for name, value in gateway_environment(f"http://{host}:{port}", str(credentials)).items():
        click.echo(f"  {name}={value}")
    Granian(
        "gateway.sandbox_apps:create_sandboxes_app_from_environment",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_level=settings.log_level,  # type: ignore[arg-type]
        log_dictconfig=GRANIAN_LOGGING,
    ).serve()


@main.command()
@click.option("--limit", type=click.IntRange(1, 100_000), help="Submit at most this many opportunities.")
@click.option("--within", default=300.0, show_default=True, type=float, help="Seconds to wait for them to settle.")
@click.option(
    "--with-outage",
    is_flag=True,
    help="Also submit one new won deal during a billing outage, so it fails (replay it from the console).",
)
@click.pass_context
@click.option(
    "--reconcile", metavar="YYYY-MM", help="Then reconcile this period (the seeded mismatches are in 2025-01)."
)
def demo(ctx: click.Context, limit: int | None, within: float, with_outage: bool, reconcile: str | None) -> None:
    """Push the seeded Closed Won opportunities through quote-to-cash and print a report.

    Runs the gateway in this process on the configured state (stop `strata serve` on the
    same state first: two engines must not share one executor id). Safe to run again.
    """
    from gateway.demo import run_demo
    from gateway.state import prepare_state

    # Short durable retries: the outage's transaction runs out of attempts in a second, not a minute.
    retries = {"workflow_step_attempts": "2", "workflow_backoff_base_ms": "100"} if with_outage else {}
    settings = _settings(ctx, executor_id="strata-demo", reconciliation_schedule_hour="-1", **retries)
    if settings.mode == "production":
        click.echo("strata: cannot start: mode: the demo never runs in production; unset STRATA_MODE", err=True)
        ctx.exit(EXIT_USAGE)
    _run(lambda: prepare_state(settings, echo=lambda _line: None))
    report = _run(
        lambda: run_demo(
            settings, limit=limit, within=within, echo=click.echo, with_outage=with_outage, reconcile=reconcile
        )
    )
    for line in report.lines():
        click.echo(line)


# ---------------------------------------------------------------------------- clients


@main.group()
def clients() -> None:
    """Manage OAuth clients (the same service as /gateway/v1/clients)."""


def _checked_governance(settings: Settings) -> Governance:
    """The governance file in force, checked; an invalid one exits 2 naming every problem."""
    from policies.governance import GovernanceError, load_governance

    try:
        return load_governance(settings.governance_path, own_issuer=settings.issuer)
    except GovernanceError as exc:
        click.echo(f"strata: governance file {settings.governance_path}: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _tiers(settings: Settings) -> list[str]:
    return list(_checked_governance(settings).tiers)


def _admin_call(ctx: click.Context, call: Callable[[Any], Awaitable[T]], audit: Callable[[T], str] | None = None) -> T:
    """Run ``call(admin)`` on a :class:`ClientAdmin` over the configured state; errors exit cleanly.

    The operator on the machine is not held to the API's grant rule (no granter is passed). A
    change is audited with what ``audit(result)`` says (source ``cli``, no client id: the operator).
    Invalid input exits 2 naming every wrong field; an unknown client exits 1.
    """
    from core.errors import InvalidInput, NotFound
    from gateway.management.client_admin import ClientAdmin
    from gateway.state import audit_operator_change, open_client_store

    settings = _settings(ctx)
    tiers = _tiers(settings)
    command = f"strata {ctx.command_path.split(' ', 1)[-1]}"

    async def run() -> T:
        async with open_client_store(settings) as store:
            result = await call(ClientAdmin(store, lambda: tiers))
        if audit is not None:
            await audit_operator_change(settings, command, audit(result))
        return result

    try:
        return _run(run)
    except InvalidInput as exc:
        details = "; ".join(error["detail"] for error in exc.field_errors) or exc.detail
        click.echo(f"strata: {details}", err=True)
        ctx.exit(EXIT_USAGE)
    except NotFound as exc:
        click.echo(f"strata: {exc.detail}", err=True)
        ctx.exit(1)
    raise AssertionError("unreachable")  # ctx.exit raises


def _echo_client(record: Any, as_json: bool, secret: str | None = None, *, with_secret: bool = False) -> None:
    from gateway.management.client_admin import client_view

    view = client_view(record)
    if with_secret:
        view["client_secret"] = secret
    if as_json:
        click.echo(json.dumps(view))
        return
    keys = (
        "client_id",
        "name",
        "status",
        "tier",
        "scopes",
        "grantable_scopes",
        "rate_limits",
        "partner_id",
        "customer_id",
    )
    for key in keys:
        value = view[key]
        if value is not None:
            click.echo(f"{key + ':':18}{' '.join(value) if isinstance(value, list) else value}")
    if with_secret and secret:
        click.echo(f"{'client_secret:':18}{secret}   (shown once; store it now)")
    if view["previous_secret_expires_at"]:
        click.echo(f"{'old secret until:':18}{view['previous_secret_expires_at']}")


@clients.command("create")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help='Space-separated, e.g. "system:crm:read system:crm:write".')
@click.option("--tier", required=True)
@click.option("--partner-id")
@click.option("--customer-id")
@click.option("--rate-limits", help='Space-separated limits replacing the tier\'s, e.g. "10/second 5000/day".')
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False), help="Public JWK set for private_key_jwt.")
@click.option("--jwks-uri", help="Or the URL where the client publishes its keys (private_key_jwt).")
@click.option(
    "--grantable-scopes",
    help='For a client that manages clients: the most it may grant (space-separated; "" for none).',
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_create(
    ctx: click.Context,
    name: str,
    scopes: str,
    tier: str,
    partner_id: str | None,
    customer_id: str | None,
    rate_limits: str | None,
    jwks_file: str | None,
    jwks_uri: str | None,
    grantable_scopes: str | None,
    as_json: bool,
) -> None:
    """Create a client; its secret is printed once and never again."""
    from gateway.management.client_admin import ClientCreate
    from gateway.management.grants import grant_note

    try:
        jwks = json.loads(Path(jwks_file).read_text()) if jwks_file else None
    except ValueError:
        click.echo(f"strata: --jwks-file {jwks_file}: not JSON", err=True)
        ctx.exit(EXIT_USAGE)
        return
    spec = ClientCreate(
        name=name,
        scopes=scopes.split(),
        tier=tier,
        partner_id=partner_id,
        customer_id=customer_id,
        jwks=jwks,
        jwks_uri=jwks_uri,
        rate_limits=rate_limits.split(" ") if rate_limits else None,
        grantable_scopes=grantable_scopes.split() if grantable_scopes is not None else None,
    )
    record, secret = _admin_call(
        ctx,
        lambda admin: admin.create(spec),
        lambda created: f"created client {created[0].client_id} (tier {created[0].tier}); {grant_note(created[0])}",
    )
    _echo_client(record, as_json, secret, with_secret=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_list(ctx: click.Context, as_json: bool) -> None:
    """List clients (never their secrets)."""
    from gateway.management.client_admin import client_view

    records, _ = _admin_call(ctx, lambda admin: admin.list(limit=1_000_000))
    if as_json:
        click.echo(json.dumps([client_view(record) for record in records]))
        return
    for record in records:
        bound = record.partner_id or record.customer_id or "-"
        click.echo(f"{record.client_id}  {record.status:8}  {record.tier:9}  {bound:12}  {record.name}")


@clients.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_show(ctx: click.Context, client_id: str, as_json: bool) -> None:
    """Show one client."""
    _echo_client(_admin_call(ctx, lambda admin: admin.get(client_id)), as_json)


@clients.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--scopes", help="Space-separated; replaces the client's scopes.")
@click.option("--tier")
@click.option("--rate-limits", help="Space-separated limits replacing the tier's; \"tier\" goes back to the tier's.")
@click.option(
    "--grantable-scopes", help='Space-separated; "own" goes back to granting its own scopes, "" grants nothing.'
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_update(
    ctx: click.Context,
    client_id: str,
    name: str | None,
    scopes: str | None,
    tier: str | None,
    rate_limits: str | None,
    grantable_scopes: str | None,
    as_json: bool,
) -> None:
    """Change a client's name, scopes, tier, own limits or grantable scopes."""
    from gateway.management.client_admin import ClientUpdate
    from gateway.management.grants import grant_note

    change = ClientUpdate(
        name=name if name is not None else msgspec.UNSET,
        scopes=scopes.split() if scopes is not None else msgspec.UNSET,
        tier=tier if tier is not None else msgspec.UNSET,
        rate_limits=msgspec.UNSET
        if rate_limits is None
        else (None if rate_limits == "tier" else rate_limits.split(" ")),
        grantable_scopes=msgspec.UNSET
        if grantable_scopes is None
        else (None if grantable_scopes == "own" else grantable_scopes.split()),
    )
    fields = [name for name in ClientUpdate.__struct_fields__ if getattr(change, name) is not msgspec.UNSET]

    def note(record: Any) -> str:
        granted = grant_note(record, fields)
        return f"updated client {client_id}: {', '.join(fields) or 'nothing'}" + (f"; {granted}" if granted else "")

    _echo_client(_admin_call(ctx, lambda admin: admin.update(client_id, change), note), as_json)


@clients.command("disable")
@click.argument("client_id")
@click.pass_context
def clients_disable(ctx: click.Context, client_id: str) -> None:
    """Disable a client: no new tokens, and its live tokens are refused."""
    _admin_call(ctx, lambda admin: admin.disable(client_id), lambda _: f"disabled client {client_id}")
    click.echo(f"disabled {client_id}")


# Operators also say "revoke a client" (issue 2 named the command so): the same command.
clients.add_command(clients_disable, name="revoke")


@clients.command("enable")
@click.argument("client_id")
@click.pass_context
def clients_enable(ctx: click.Context, client_id: str) -> None:
    """Enable a disabled client (tokens issued before it was disabled stay refused)."""
    _admin_call(ctx, lambda admin: admin.enable(client_id), lambda _: f"enabled client {client_id}")
    click.echo(f"enabled {client_id}")


@clients.command("delete")
@click.argument("client_id")
@click.pass_context
def clients_delete(ctx: click.Context, client_id: str) -> None:
    """Delete a client for good; its live tokens are refused."""
    _admin_call(ctx, lambda admin: admin.delete(client_id), lambda _: f"deleted client {client_id}")
    click.echo(f"deleted {client_id}")


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option(
    "--previous-valid-for",
    type=click.IntRange(0, 30 * 86400),
    default=86400,
    show_default=True,
    help="Seconds the current secret keeps working (0: it stops now).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_rotate_secret(ctx: click.Context, client_id: str, previous_valid_for: int, as_json: bool) -> None:
    """Issue a new secret (printed once); the current one works for the overlap."""
    from gateway.management.client_admin import SecretRotation

    rotation = SecretRotation(previous_secret_valid_for=previous_valid_for)
    record, secret = _admin_call(
        ctx,
        lambda admin: admin.rotate_secret(client_id, rotation),
        lambda _: f"rotated the secret of client {client_id}",
    )
    _echo_client(record, as_json, secret, with_secret=True)


# ---------------------------------------------------------------------------- keys


@main.group()
def keys() -> None:
    """Manage token signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """List signing keys: current, previous (still published) and expired."""
    from gateway.state import open_key_store

    settings = _settings(ctx)

    async def fetch() -> list[Any]:
        async with open_key_store(settings) as store:
            return list(store.list())

    infos = _run(fetch)
    if as_json:
        click.echo(json.dumps([msgspec.to_builtins(info) for info in infos]))
        return
    for info in infos:
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.created_at))
        click.echo(f"{info.kid}  {info.alg}  {info.status:8}  created {created}")


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Start signing with a new key; the previous one stays published until its tokens expire."""
    from gateway.state import open_key_store

    settings = _settings(ctx)

    async def rotate() -> Any:
        async with open_key_store(settings) as store:
            return await store.rotate()

    info = _run(rotate)
    click.echo(f"now signing with {info}")


# ---------------------------------------------------------------------------- contracts


@main.group()
def contracts() -> None:
    """Lint, diff and baseline the OpenAPI contracts."""


@contracts.command("lint")
@click.pass_context
def contracts_lint(ctx: click.Context) -> None:
    """Validate every contract and apply the governance rules."""
    from gateway.contracts.lint import lint_main

    ctx.exit(lint_main(_settings(ctx).contracts_path))


@contracts.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def contracts_diff(ctx: click.Context, old: str, new: str) -> None:
    """Report changes from OLD to NEW; exit 1 when any is breaking."""
    from gateway.contracts.diff import diff_main

    ctx.exit(diff_main(Path(old), Path(new)))


@contracts.command("baseline")
@click.option("--allow-breaking", is_flag=True, help="Store a baseline even where the change is breaking.")
@click.pass_context
def contracts_baseline(ctx: click.Context, allow_breaking: bool) -> None:
    """Store the current contracts as the baselines later versions are compared with."""
    from gateway.contracts.baseline import baseline_main

    ctx.exit(baseline_main(_settings(ctx).contracts_path, allow_breaking=allow_breaking))


# ---------------------------------------------------------------------------- token


@main.command()
@click.option("--client-id", required=True)
@click.option("--client-secret", required=True)
@click.option("--scope", help="Space-separated scopes (default: all the client may have).")
@click.pass_context
def token(ctx: click.Context, client_id: str, client_secret: str, scope: str | None) -> None:
    """Print an access token, for curl -H "Authorization: Bearer $(strata token ...)"."""
    from gateway.state import issue_token

    settings = _settings(ctx)
    try:
        access_token = _run(lambda: issue_token(settings, client_id, client_secret, scope))
    except PermissionError as exc:
        click.echo(f"strata: {exc}", err=True)
        ctx.exit(1)
        return
    click.echo(access_token)


# `strata db upgrade|current|history`: the explicit migration step of a deployment.
main.add_command(db)

if __name__ == "__main__":  # pragma: no cover
    main()
