"""The console's way to the gateway's own APIs: in process, through the whole governance pipeline.

The console holds no privileged path into the stores. Every page is built from the same
versioned APIs any operations tool would call — ``/process/operations/v1``,
``/process/reconciliation/v1``, ``/experience/operations/v1`` — with the signed-in operator's
own access token, over httpx's ASGI transport into this app: scopes, rate limits, contract
validation, audit and metrics apply to the console exactly as to anyone, and the audit names
the operator's client and the browser's address (given as the transport's client address).
Signing in and renewing are ordinary client-credentials grants at ``/oauth/token``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

TOKEN_PATH = "/oauth/token"
REVOKE_PATH = "/oauth/revoke"
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What an API answered: status and decoded JSON body (``{}`` when there was none)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    @property
    def problem(self) -> str:
        """A one-line explanation of a refused call, from its problem document (with what each
        invalid field was told, when it lists them)."""
        if isinstance(self.body, dict):
            detail = self.body.get("detail") or self.body.get("title") or self.body.get("error_description")
            fields = [_field_error(e) for e in self.body.get("errors") or () if isinstance(e, dict)]
            if detail and fields:
                return f"{detail}: {'; '.join(fields)}"
            if detail:
                return str(detail)
        return f"the gateway answered {self.status}"


def _field_error(error: dict[str, Any]) -> str:
    where = error.get("pointer") or error.get("name") or ""
    return f"{str(where).lstrip('/')} {error.get('detail', '')}".strip()


@dataclass(frozen=True, slots=True)
class Grant:
    """An access token from the token endpoint."""

    access_token: str
    expires_in: float
    scopes: frozenset[str]


class Upstream:
    """One console request's client to the gateway's APIs."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def grant(self, client_id: str, secret: str) -> Grant | Answer:
        """A client-credentials token, or the refusal."""
        response = await self._client.post(
            TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        answer = _answer(response)
        if not answer.ok or not isinstance(answer.body, dict) or "access_token" not in answer.body:
            return answer
        return Grant(
            access_token=str(answer.body["access_token"]),
            expires_in=float(answer.body.get("expires_in", 0)),
            scopes=frozenset(str(answer.body.get("scope", "")).split()),
        )

    async def revoke(self, client_id: str, secret: str, token: str) -> None:
        """Revoke ``token`` (RFC 7009); a failure is not the operator's problem at sign-out."""
        with contextlib.suppress(httpx.HTTPError):
            await self._client.post(REVOKE_PATH, data={"token": token}, auth=(client_id, secret))

    async def get(self, token: str, path: str, params: dict[str, Any] | None = None) -> Answer:
        """``GET path`` as the operator."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return _answer(await self._client.get(path, params=clean, headers=_bearer(token)))

    async def post(self, token: str, path: str, body: dict[str, Any] | None, idempotency_key: str) -> Answer:
        """``POST path`` as the operator, with an Idempotency-Key (a double click repeats nothing)."""
        headers = {**_bearer(token), "Idempotency-Key": idempotency_key}
        return _answer(await self._client.post(path, json=body if body is not None else {}, headers=headers))


def api_path(base: str, *segments: str) -> str:
    """``base/segment/...`` with each segment percent-encoded: an id from the browser stays one
    path segment (a ``?`` or ``/`` in it cannot add a query or reach another path)."""
    return "/".join([base, *(quote(segment, safe="") for segment in segments)])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(response: httpx.Response) -> Answer:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    return Answer(response.status_code, body)


@contextlib.asynccontextmanager
async def upstream(app: Any, base_url: str, client_address: tuple[str, int]) -> AsyncIterator[Upstream]:
    """An :class:`Upstream` into ``app``, the calls appearing to come from ``client_address``."""
    transport = httpx.ASGITransport(app=app, client=client_address)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=TIMEOUT_SECONDS) as client:
        yield Upstream(client)
