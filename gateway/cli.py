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
from typing import Any, TypeVar

import click
import msgspec

from gateway.settings import Settings, SettingsError, load_settings

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
@click.option("--no-seed", is_flag=True, help="Do not seed demo clients on an empty state.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: str | None, workers: str | None, no_seed: bool) -> None:
    """Serve the gateway (granian, ASGI)."""
    import os

    from gateway.state import prepare_state

    settings = _settings(ctx, host=host, port=port, workers=workers, seed_demo=False if no_seed else None)
    _run(lambda: prepare_state(settings, echo=click.echo))
    if settings.workers > 1 and not settings.redis_url:
        click.echo(
            f"strata: warning: {settings.workers} workers without STRATA_REDIS_URL: rate limits, revocation "
            "push and idempotency locks are per process (revocation falls back to database polling)",
            err=True,
        )
    # Workers resolve their settings from the environment: pass the resolved values on.
    for field in settings.__struct_fields__:
        os.environ[f"STRATA_{field.upper()}"] = (
            str(getattr(settings, field)).lower()
            if isinstance(getattr(settings, field), bool)
            else str(getattr(settings, field))
        )
    os.environ["STRATA_SEED_DEMO"] = "false"
    from granian import Granian
    from granian.constants import Interfaces

    click.echo(f"strata: serving on http://{settings.host}:{settings.port} (issuer {settings.issuer})")
    Granian(
        "gateway.asgi:create_app_from_environment",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_level=settings.log_level,  # type: ignore[arg-type]
    ).serve()


# ---------------------------------------------------------------------------- clients


@main.group()
def clients() -> None:
    """Manage OAuth clients."""


def _client_json(record: Any) -> dict[str, Any]:
    return msgspec.to_builtins(record)  # type: ignore[no-any-return]


@clients.command("create")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help='Space-separated, e.g. "system:crm:read system:crm:write".')
@click.option("--tier", required=True)
@click.option("--partner-id")
@click.option("--customer-id")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False), help="Public JWK set for private_key_jwt.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_create(
    ctx: click.Context,
    name: str,
    scopes: str,
    tier: str,
    partner_id: str | None,
    customer_id: str | None,
    jwks_file: str | None,
    as_json: bool,
) -> None:
    """Create a client; its secret is printed once and never again."""
    from gateway.state import open_client_store

    settings = _settings(ctx)
    governance_tiers = _tiers(settings)
    if tier not in governance_tiers:
        click.echo(f"strata: --tier {tier!r} is not a tier; allowed values are {', '.join(governance_tiers)}", err=True)
        ctx.exit(EXIT_USAGE)
    jwks = json.loads(Path(jwks_file).read_text()) if jwks_file else None

    async def create() -> tuple[Any, str | None]:
        async with open_client_store(settings) as store:
            return await store.create(
                name=name, scopes=scopes.split(), tier=tier, partner_id=partner_id, customer_id=customer_id, jwks=jwks
            )

    try:
        record, secret = _run(create)
    except ValueError as exc:
        click.echo(f"strata: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
        return
    output = {**_client_json(record), "client_secret": secret}
    if as_json:
        click.echo(json.dumps(output))
    else:
        click.echo(f"client_id:     {record.client_id}")
        if secret:
            click.echo(f"client_secret: {secret}   (shown once; store it now)")
        click.echo(f"scopes:        {' '.join(record.oauth_scopes)}")
        click.echo(f"tier:          {record.tier}")


def _tiers(settings: Settings) -> list[str]:
    from policies.governance import GovernanceError, load_governance

    try:
        return list(load_governance(settings.governance_path).tiers)
    except GovernanceError as exc:
        click.echo(f"strata: governance file: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def clients_list(ctx: click.Context, as_json: bool) -> None:
    """List clients (never their secrets)."""
    from gateway.state import open_client_store

    settings = _settings(ctx)

    async def fetch() -> list[Any]:
        async with open_client_store(settings) as store:
            return list(await store.list())

    records = _run(fetch)
    if as_json:
        click.echo(json.dumps([_client_json(record) for record in records]))
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
    from gateway.state import open_client_store

    settings = _settings(ctx)

    async def fetch() -> Any:
        async with open_client_store(settings) as store:
            return await store.get(client_id)

    record = _run(fetch)
    if record is None:
        click.echo(f"strata: no client {client_id!r}", err=True)
        ctx.exit(1)
    data = _client_json(record)
    click.echo(json.dumps(data, indent=None if as_json else 2))


@clients.command("revoke")
@click.argument("client_id")
@click.pass_context
def clients_revoke(ctx: click.Context, client_id: str) -> None:
    """Revoke a client: it can no longer obtain tokens."""
    from gateway.state import open_client_store

    settings = _settings(ctx)

    async def revoke() -> bool:
        async with open_client_store(settings) as store:
            return bool(await store.revoke(client_id))

    if not _run(revoke):
        click.echo(f"strata: no client {client_id!r}", err=True)
        ctx.exit(1)
    click.echo(f"revoked {client_id}")


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


if __name__ == "__main__":  # pragma: no cover
    main()
