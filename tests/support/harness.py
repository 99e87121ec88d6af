"""One harness for end-to-end tests: a real gateway app on a temporary state directory.

The app is the production factory (lifespan included) with the production components (SQLite state, the
embedded authorization server, the in-process Salesforce sandbox); only the settings
differ: a temporary state directory, response contracts enforced, no demo seeding.

The test client acts as the demo's operator too: a request to a sandbox's control API
(``/sandbox/<vendor>/_control/…``) that carries no ``Authorization`` is given that sandbox's admin
token from the state's ``sandbox-credentials.json`` (:func:`operator_hook`); a test of the token
itself sends its own header, or uses a client of its own.

A new SQLite state starts as a copy of an empty database migrated once per test process
(:func:`seed_state`): the gateway's own start-up upgrade then finds it at head, as it finds
any existing state, instead of running every migration again for each of hundreds of apps.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.db import create_engine
from core.migrations import create_schema
from gateway.app import GatewayApp, create_app
from gateway.sandbox_credentials import credentials_in_force
from gateway.settings import load_settings


@dataclass
class Gateway:
    """A running gateway app and a client bound to it."""

    app: GatewayApp
    """What the server runs (the edge around the Litestar app, ``app.litestar``)."""
    client: httpx.AsyncClient

    @property
    def oauth(self) -> Any:
        return self.app.state.oauth

    async def create_client(self, scopes: str, tier: str = "gold", **binding: str) -> tuple[str, str]:
        """Register an OAuth client; return (client_id, client_secret)."""
        record, secret = await self.oauth.clients.create(
            name=f"test-{tier}", scopes=scopes.split(), tier=tier, **binding
        )
        return record.client_id, secret

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        """An access token from the embedded server's token endpoint."""
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = await self.client.post("/oauth/token", data=form, auth=(client_id, secret))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def bearer(self, scopes: str, tier: str = "gold", **binding: str) -> dict[str, str]:
        """Authorization header of a fresh client with ``scopes``."""
        client_id, secret = await self.create_client(scopes, tier, **binding)
        return {"Authorization": f"Bearer {await self.token(client_id, secret)}"}


def gateway_settings(state_dir: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "state_dir": str(state_dir),
        "seed_demo": False,
        "response_contract_mode": "enforce",
        "workflows_enabled": False,  # one engine per process: tests of process APIs turn it on
        "build_sandboxes_at_start": False,  # hundreds of gateways start here; most call no vendor
        **overrides,
    }
    return load_settings(values, environ={})


_CONTROL_PATH = re.compile(r"/sandbox/([a-z0-9-]+)/_control(/|$)")


def operator_hook(settings: Any) -> Callable[[httpx.Request], Any]:
    """An httpx request hook giving sandbox control calls their sandbox's admin token (see above)."""

    async def hook(request: httpx.Request) -> None:
        match = _CONTROL_PATH.search(request.url.path)
        if match is None or "authorization" in request.headers:
            return
        entry = (credentials_in_force(settings) or {}).get(match.group(1), {})
        if entry.get("admin_token"):
            request.headers["Authorization"] = f"Bearer {entry['admin_token']}"

    return hook


_template_database: Path | None = None


async def _migrated_template() -> Path:
    """An empty SQLite database at the head revision, made once per process by the gateway's own upgrade."""
    global _template_database
    if _template_database is None:
        folder = Path(tempfile.mkdtemp(prefix="strata-template-db-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "strata.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await create_schema(engine)
        finally:
            await engine.dispose()  # checkpoints the WAL into the file: the copy is complete
        _template_database = path
    return _template_database


async def seed_state(settings: Any) -> None:
    """Give a new SQLite state its migrated, empty database (see the module docstring).

    A state that has a database already (a restarted gateway) and a PostgreSQL
    ``database_url`` are left alone.
    """
    if settings.database_url:
        return
    target = settings.state_path / "strata.db"
    if target.exists():
        return
    template = await _migrated_template()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)


@asynccontextmanager
async def running_gateway(
    state_dir: Path,
    *,
    extra_route_handlers: Sequence[Any] = (),
    tracer_provider: Any = None,
    before_start: Callable[[GatewayApp], None] | None = None,
    **overrides: Any,
) -> AsyncIterator[Gateway]:
    """Start a gateway app (lifespan included) and yield it with a test client.

    ``tracer_provider`` is handed to the app factory (e.g. an SDK provider with an in-memory
    exporter); ``before_start`` sees the app after the factory and before the lifespan.
    """
    settings = gateway_settings(state_dir, **overrides)
    await seed_state(settings)
    app = create_app(settings, extra_route_handlers=extra_route_handlers, tracer_provider=tracer_provider)
    if before_start is not None:
        before_start(app)
    # The lifespan and every request run on the test's own event loop (Litestar's test
    # client would run the lifespan on a portal thread, i.e. a second loop).
    # Entered and exited in one task of its own: anyio's cancel scopes inside the lifespan
    # must not cross tasks, and pytest may tear a fixture down in another task.
    started, stopping = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.litestar.lifespan():
            started.set()
            await stopping.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error here
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    try:
        hooks = {"request": [operator_hook(app.state.settings)]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8080", timeout=30, event_hooks=hooks
        ) as client:
            yield Gateway(app=app, client=client)
    finally:
        stopping.set()
        await task


def problem(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body of a response, checking its media type."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    return dict(body)
