"""The console's router: pages, sign-in, the script's endpoints, its static assets."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from apis.experience.console import actions, auth, pages
from apis.experience.console.web import BASE, HEADERS, STATIC_DIR


def _to_sign_in(request: Request[Any, Any, Any], error: auth.SignInRequired) -> Response[Any]:
    if request.url.path.startswith(actions.API):
        return actions._json(401, {"status": 401, "problem": "not signed in", "sign_in": f"{BASE}/sign-in"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    params = {"next": target} if request.method == "GET" and target != BASE else {}
    if error.reason:
        params["reason"] = error.reason
    return Redirect(f"{BASE}/sign-in" + (f"?{urlencode(params)}" if params else ""), status_code=303)


def _csrf_refused(request: Request[Any, Any, Any], error: auth.CsrfRefused) -> Response[Any]:
    if request.url.path.startswith(actions.API):
        return actions._json(403, {"status": 403, "problem": f"refused: {error}"})
    return Response(
        content=f"Refused: {error}. Reload the page and try again.".encode(),
        status_code=403,
        media_type="text/plain; charset=utf-8",
        headers=HEADERS,
    )


router = Router(
    path="/",
    route_handlers=[
        auth.sign_in_form,
        auth.sign_in,
        auth.sign_out,
        pages.overview,
        pages.transactions,
        pages.transaction,
        pages.exceptions,
        pages.alerts,
        pages.reconciliation,
        pages.start_reconciliation,
        pages.catalogue,
        actions.act,
        actions.transaction_state,
        actions.reconciliation_run_state,
        create_static_files_router(path=f"{BASE}/static", directories=[STATIC_DIR], include_in_schema=False),
    ],
    exception_handlers={auth.SignInRequired: _to_sign_in, auth.CsrfRefused: _csrf_refused},
    include_in_schema=False,
)
