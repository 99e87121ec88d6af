"""Fixtures for the authorization server: a temp SQLite state, a started service, an ASGI client."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.migrations import create_schema
from core.settings import CoreSettings
from policies.oauth import OAuthService, oauth_route_handlers
from policies.oauth.client_assertion import ASSERTION_TYPE

ISSUER = "https://auth.strata.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def make_settings(tmp_path: Path, **overrides: Any) -> CoreSettings:
    values: dict[str, Any] = {"state_dir": str(tmp_path), "public_url": ISSUER, "token_ttl_seconds": 300}
    values.update(overrides)
    return CoreSettings(**values)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    await create_schema(engine)
    yield engine
    await engine.dispose()


class FailureLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str, str]] = []

    def __call__(self, client_id: str | None, source: str, reason: str) -> None:
        self.calls.append((client_id, source, reason))


@pytest.fixture
def failures() -> FailureLog:
    return FailureLog()


@pytest.fixture
async def service(
    request: pytest.FixtureRequest, tmp_path: Path, engine: AsyncEngine, failures: FailureLog
) -> AsyncIterator[OAuthService]:
    """A started service; settings overrides come by indirect parametrisation (``indirect=["service"]``)."""
    overrides = getattr(request, "param", {})
    service = await OAuthService.start(make_settings(tmp_path, **overrides), engine, None, on_auth_failure=failures)
    yield service
    await service.stop()


def make_app(service: OAuthService) -> Litestar:
    app = Litestar(route_handlers=oauth_route_handlers)
    app.state.oauth = service
    return app


@pytest.fixture
async def http(service: OAuthService) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=make_app(service), base_url=ISSUER) as client:
        yield client


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **FORM}


def decode(service: OAuthService, token: str) -> jwt.Token:
    """Decode an access token against the published JWKS document, as a resource server would."""
    key_set = KeySet.import_key_set(service.jwks())  # type: ignore[arg-type]
    return jwt.decode(token, key_set, algorithms=["RS256"])


def assertion(
    key: Any,
    client_id: str,
    *,
    aud: str | list[str] = ISSUER + "/oauth/token",
    alg: str = "RS256",
    lifetime: int = 120,
    jti: str | None = "fresh",
    **extra: Any,
) -> str:
    claims: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": aud, "exp": int(time.time()) + lifetime}
    if jti is not None:
        claims["jti"] = uuid.uuid4().hex if jti == "fresh" else jti
    claims.update(extra)
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def assertion_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": token,
        **extra,
    }
