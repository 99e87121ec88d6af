"""Signing operators in and out, and what every console request checks first.

**Sign-in** (``GET``/``POST /console/sign-in``): the operator gives the id and secret of an
operations client (one holding ``process:operations:read``); the console obtains a token for
it at ``/oauth/token`` and opens a server-side session (:mod:`.sessions`). The browser gets
only the session cookie. The sign-in form has no session yet, so it is protected from
cross-site posting by a double-submit token (a cookie of its own, echoed in the form) on top
of ``SameSite=Strict``.

**Every request** (:func:`operator`): the session is looked up from the cookie (none or
ended → to the sign-in page); when its access token has less than
``console_token_renew_seconds`` left, a new one is obtained with the client's credentials
kept in the session. If the gateway refuses them (the client was disabled or its secret
rotated) the session ends and the operator signs in again.

**State-changing requests** carry the session's CSRF token — a hidden form field, or the
``X-CSRF-Token`` header for the page's script — compared in constant time, and, when the
browser sends ``Origin``, it must be this gateway's. **Sign-out** revokes the access token and
deletes the session.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect

from apis.experience.console.sessions import ConsoleSession, ConsoleSessions
from apis.experience.console.upstream import Answer, Grant, Upstream, upstream
from apis.experience.console.web import BASE, SIGN_IN_COOKIE, cookie, page, session_cookie_name

REQUIRED_SCOPE = "process:operations:read"
"""What makes a client an operations client the console lets in."""
SIGN_IN_FORM_SECONDS = 900


# Why an operator is sent to the sign-in page: fixed messages by code, so that no link can
# make the page say something of its own.
REASONS = {
    "signed_out": "You are signed out.",
    "ended": "Your session ended; sign in again.",
    "refused": "The gateway no longer accepts this client's credentials (disabled, or its secret rotated).",
}


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page (a script gets 401)."""

    def __init__(self, reason: str = "ended") -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token, or from another origin."""


@dataclass
class Operator:
    """A signed-in operator within one request: the session and the way to the APIs."""

    session: ConsoleSession
    api: Upstream
    client_name: str | None = None
    """The operations client's name (what the header shows), when this process knows it."""

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        """``GET`` an API as the operator; an expired or revoked token ends the session."""
        return _signed_out_on_401(await self.api.get(self.session.access_token, path, params))

    async def post(self, path: str, body: dict[str, Any] | None, idempotency_key: str) -> Answer:
        """``POST`` to an API as the operator."""
        return _signed_out_on_401(await self.api.post(self.session.access_token, path, body, idempotency_key))


def _signed_out_on_401(answer: Answer) -> Answer:
    if answer.status == 401:
        raise SignInRequired("refused")
    return answer


@dataclass(frozen=True, slots=True)
class Console:
    """What the console's routes read (their one dependency, built by the composition root)."""

    sessions: ConsoleSessions
    """The session store (made on first use: most processes never serve a console page)."""
    issuer: str
    """This gateway's public base URL: where the console calls the APIs, and whether it is https."""
    embedded: bool
    """No public URL is configured: the demo set-up, which the sign-in page explains."""
    token_renew_seconds: float
    session_max_seconds: int
    client_name: Callable[[str], str | None] = lambda _client_id: None
    """A client's name by its id, from the OAuth client store's cache (no I/O); None when unknown."""


def _client_address(request: Request[Any, Any, Any]) -> tuple[str, int]:
    client = request.client
    return (client.host, client.port) if client else ("127.0.0.1", 0)


def _upstream(request: Request[Any, Any, Any], console: Console) -> contextlib.AbstractAsyncContextManager[Upstream]:
    # The APIs are called in-process, through the ASGI app serving this request.
    return upstream(request.app, console.issuer, _client_address(request))


@contextlib.asynccontextmanager
async def operator(request: Request[Any, Any, Any], console: Console) -> AsyncIterator[Operator]:
    """The signed-in operator of this request, its token renewed when it is about to expire."""
    store = console.sessions
    name = session_cookie_name(request, console.issuer)
    session = await store.find(request.cookies.get(name))
    if session is None:
        raise SignInRequired("ended" if request.cookies.get(name) else "")
    async with _upstream(request, console) as api:
        margin = console.token_renew_seconds
        if session.token_expires_at - time.time() < margin:
            grant = await api.grant(session.client_id, session.secret)
            if not isinstance(grant, Grant):
                await store.end(session.id)
                raise SignInRequired("refused")
            session = await store.store_token(session, grant.access_token, grant.expires_in)
        yield Operator(session, api, console.client_name(session.client_id))


def check_csrf(request: Request[Any, Any, Any], console: Console, session: ConsoleSession, sent: str | None) -> None:
    """Refuse a state-changing request without the session's CSRF token or from another origin."""
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in _own_origins(request, console.issuer):
        raise CsrfRefused("the request comes from another site")
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise CsrfRefused("the request does not carry this session's CSRF token")


def _own_origins(request: Request[Any, Any, Any], issuer_url: str) -> set[str]:
    issuer = urlsplit(issuer_url)
    return {f"{request.url.scheme}://{request.url.netloc}", f"{issuer.scheme}://{issuer.netloc}"}


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    if target and target.startswith(BASE) and not target.startswith("//") and "\\" not in target:
        return target
    return BASE


def sign_in_page(
    request: Request[Any, Any, Any], console: Console, *, error: str = "", status: int = 200, client_id: str = ""
) -> Response[bytes]:
    """The sign-in form, with a fresh double-submit token."""
    token = secrets.token_urlsafe(24)
    return page(
        "sign_in.html",
        status=status,
        cookies=[cookie(request, console.issuer, SIGN_IN_COOKIE, token, SIGN_IN_FORM_SECONDS)],
        form_token=token,
        error=error,
        client_id=client_id,
        next=_safe_next(request.query_params.get("next")),
        embedded=console.embedded,
    )


@get(f"{BASE}/sign-in", include_in_schema=False)
async def sign_in_form(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """The sign-in page (``?reason=`` says why the operator was sent here, by code)."""
    return sign_in_page(request, console, error=REASONS.get(request.query_params.get("reason", ""), ""))


@post(f"{BASE}/sign-in", include_in_schema=False, status_code=303)
async def sign_in(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[Any]:
    """Check the operations client's credentials, open a session, set its cookie."""
    form = await request.form()
    client_id = str(form.get("client_id", "")).strip()
    secret = str(form.get("client_secret", ""))
    sent = str(form.get("form_token", ""))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return sign_in_page(
            request, console, error="The sign-in form expired; please try again.", status=403, client_id=client_id
        )
    if not client_id or not secret:
        return sign_in_page(
            request, console, error="Enter the client id and the client secret.", status=422, client_id=client_id
        )
    async with _upstream(request, console) as api:
        grant = await api.grant(client_id, secret)
        if not isinstance(grant, Grant):
            status = 429 if grant.status == 429 else 401
            message = (
                "Too many failed sign-ins; wait a moment and try again."
                if status == 429
                else "The client id or secret is not right."
            )
            return sign_in_page(request, console, error=message, status=status, client_id=client_id)
        if REQUIRED_SCOPE not in grant.scopes:
            await api.revoke(client_id, secret, grant.access_token)
            return sign_in_page(
                request,
                console,
                error=f"This client is not an operations client (it lacks {REQUIRED_SCOPE}).",
                status=403,
                client_id=client_id,
            )
    value, _session = await console.sessions.create(client_id, secret, grant.access_token, grant.expires_in)
    issuer = console.issuer
    response: Response[Any] = Redirect(_safe_next(str(form.get("next", ""))), status_code=303)
    response.cookies.append(
        cookie(request, issuer, session_cookie_name(request, issuer), value, console.session_max_seconds)
    )
    response.cookies.append(cookie(request, issuer, SIGN_IN_COOKIE, "", 0))
    return response


@post(f"{BASE}/sign-out", include_in_schema=False, status_code=303)
async def sign_out(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[Any]:
    """Revoke the token, end the session, clear the cookie."""
    store = console.sessions
    name = session_cookie_name(request, console.issuer)
    session = await store.find(request.cookies.get(name))
    if session is not None:
        form = await request.form()
        check_csrf(request, console, session, str(form.get("csrf_token", "")))
        async with _upstream(request, console) as api:
            await api.revoke(session.client_id, session.secret, session.access_token)
        await store.end(session.id)
    response: Response[Any] = Redirect(f"{BASE}/sign-in?reason=signed_out", status_code=303)
    response.cookies.append(cookie(request, console.issuer, name, "", 0))
    return response
