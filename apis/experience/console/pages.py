"""The console's pages: overview, transactions (list and detail), exceptions, alerts, reconciliation, APIs.

Each page is one or a few calls to the gateway's own APIs as the operator
(:class:`~apis.experience.console.auth.Operator`) rendered server-side. A call the operator's
client may not make (403), or one that cannot be answered now (503: this process runs no
workflow engine), becomes a notice on the page instead of an error page, so the rest of the
page still shows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from apis.experience.console.auth import Console, Operator, check_csrf, operator
from apis.experience.console.charts import bar_chart, sla_chart
from apis.experience.console.upstream import api_path
from apis.experience.console.web import BASE, EXCEPTION_STATES, page

OPERATIONS = "/process/operations/v1"
RECONCILIATION = "/process/reconciliation/v1"
EXPERIENCE_OPERATIONS = "/experience/operations/v1"
PAGE_SIZE = 50
TRANSACTION_FILTERS = ("workflow", "state", "customer_id", "created_after", "created_before", "cursor")


def _render(operator_: Operator, template: str, active: str, status: int = 200, **context: Any) -> Response[bytes]:
    return page(
        template,
        status,
        active=active,
        client_id=operator_.session.client_id,
        client_name=operator_.client_name,
        csrf_token=operator_.session.csrf_token,
        **context,
    )


class Notices:
    """What could not be shown on a page, and why (one line each)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def take(self, what: str, answer: Any, empty: Any) -> Any:
        """The answer's body when it succeeded; else ``empty``, with a notice."""
        if answer.ok:
            return answer.body
        self.lines.append(f"{what}: {answer.problem} (HTTP {answer.status})")
        return empty


@get(BASE, include_in_schema=False)
async def overview(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Dashboard: states per workflow, throughput, exception aging, SLA, vendors, denials, reconciliation."""
    async with operator(request, console) as op:
        notices = Notices()
        hours = _bounded_int(request.query_params.get("hours"), 24, 1, 168)
        dashboard = notices.take(
            "Dashboard", await op.get(f"{EXPERIENCE_OPERATIONS}/dashboard", {"hours": hours}), None
        )
        exceptions = notices.take(
            "Open exceptions", await op.get(f"{OPERATIONS}/exceptions", {"limit": 10}), {"items": []}
        )
        alerts = notices.take(
            "Business alerts", await op.get(f"{OPERATIONS}/alerts", {"status": "active", "limit": 10}), {"items": []}
        )
        charts = _dashboard_charts(dashboard) if dashboard else {}
        return _render(
            op,
            "overview.html",
            "overview",
            dashboard=dashboard,
            charts=charts,
            exceptions=exceptions["items"],
            alerts=alerts["items"],
            hours=hours,
            notices=notices.lines,
        )


AGE_BUCKETS = (("under_1h", "< 1 h"), ("from_1h_to_4h", "1–4 h"), ("from_4h_to_24h", "4–24 h"), ("over_24h", "> 24 h"))


def _dashboard_charts(dashboard: dict[str, Any]) -> dict[str, Any]:
    buckets = dashboard.get("throughput", [])
    label = "%H:%M" if dashboard.get("window", {}).get("bucket_seconds", 3600) < 86_400 else "%m-%d"
    aging = dashboard.get("exception_aging", {}).get("buckets", {})
    return {
        "throughput": bar_chart(
            "Completed transactions per bucket",
            [(_clock(b["start"], label), b.get("completed", 0)) for b in buckets],
            unit="completed",
        ),
        "aging": bar_chart(
            "Open exceptions by age",
            [(text, aging.get(key, 0)) for key, text in AGE_BUCKETS],
            unit="exceptions",
            tone="warn",
        ),
        "aging_rows": [(text, aging.get(key, 0)) for key, text in AGE_BUCKETS],
        "sla": sla_chart(
            "p95 end-to-end time against the SLA target",
            [
                (s["workflow"], s.get("p95_seconds"), s["target_seconds"], s.get("met"))
                for s in dashboard.get("sla", [])
            ],
        ),
    }


def _clock(instant: str, pattern: str) -> str:
    try:
        return dt.datetime.fromisoformat(instant).astimezone(dt.UTC).strftime(pattern)
    except ValueError:
        return instant


def _bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return min(max(value, low), high)


@get(f"{BASE}/transactions", include_in_schema=False)
async def transactions(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Transactions, newest first, filtered by workflow, state, customer and time."""
    async with operator(request, console) as op:
        notices = Notices()
        filters = {name: request.query_params.get(name, "").strip() for name in TRANSACTION_FILTERS}
        answer = await op.get(f"{OPERATIONS}/transactions", {**filters, "limit": PAGE_SIZE})
        found = notices.take("Transactions", answer, {"items": [], "next_cursor": None})
        next_query = None
        if found.get("next_cursor"):
            next_query = {**{k: v for k, v in filters.items() if v and k != "cursor"}, "cursor": found["next_cursor"]}
        return _render(
            op,
            "transactions.html",
            "transactions",
            items=found["items"],
            filters=filters,
            next_query=next_query,
            workflows=await _workflow_names(op),
            notices=notices.lines,
        )


async def _workflow_names(op: Operator) -> list[str]:
    """The workflows the dashboard knows (for the filter), else none."""
    answer = await op.get(f"{EXPERIENCE_OPERATIONS}/dashboard", {"hours": 1})
    if not answer.ok:
        return []
    return [entry["workflow"] for entry in answer.body.get("states", [])]


@get(f"{BASE}/transactions/{{transaction_id:str}}", include_in_schema=False)
async def transaction(
    request: Request[Any, Any, Any], console: NamedDependency[Console], transaction_id: FromPath[str]
) -> Response[bytes]:
    """One transaction: exception, lineage timeline (steps, systems, vendor ids, timing, attempts), events."""
    async with operator(request, console) as op:
        answer = await op.get(api_path(f"{OPERATIONS}/transactions", transaction_id))
        if not answer.ok:
            status = answer.status if answer.status in (400, 403, 404, 422, 503) else 502
            return _render(
                op, "missing.html", "transactions", status=404 if status in (400, 422) else status, what=answer.problem
            )
        return _render(op, "transaction.html", "transactions", t=answer.body, exception_states=EXCEPTION_STATES)


@get(f"{BASE}/exceptions", include_in_schema=False)
async def exceptions(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Open exceptions with Replay / Compensate / Dismiss."""
    async with operator(request, console) as op:
        notices = Notices()
        workflow = request.query_params.get("workflow", "").strip()
        params = {"workflow": workflow, "limit": PAGE_SIZE, "cursor": request.query_params.get("cursor", "")}
        found = notices.take(
            "Exceptions", await op.get(f"{OPERATIONS}/exceptions", params), {"items": [], "next_cursor": None}
        )
        return _render(
            op,
            "exceptions.html",
            "exceptions",
            items=found["items"],
            workflow=workflow,
            next_cursor=found.get("next_cursor"),
            notices=notices.lines,
        )


ALERT_LISTS = ("active", "firing", "pending", "resolved")


@get(f"{BASE}/alerts", include_in_schema=False)
async def alerts(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Business alerts, newest first: firing and pending ones, resolved ones, or all."""
    async with operator(request, console) as op:
        notices = Notices()
        listed = request.query_params.get("status", "").strip()
        listed = listed if listed in ALERT_LISTS else ""  # anything else lists them all
        params = {"status": listed, "limit": PAGE_SIZE, "cursor": request.query_params.get("cursor", "")}
        found = notices.take(
            "Business alerts", await op.get(f"{OPERATIONS}/alerts", params), {"items": [], "next_cursor": None}
        )
        return _render(
            op,
            "alerts.html",
            "alerts",
            items=found["items"],
            listed=listed,
            lists=ALERT_LISTS,
            next_cursor=found.get("next_cursor"),
            notices=notices.lines,
        )


@get(f"{BASE}/reconciliation", include_in_schema=False)
async def reconciliation(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Reconciliation runs and, side by side, the mismatches of one (the latest by default)."""
    async with operator(request, console) as op:
        return await _reconciliation_page(op, request.query_params.get("run"))


@post(f"{BASE}/reconciliation", include_in_schema=False, status_code=303)
async def start_reconciliation(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[Any]:
    """Reconcile a period (form: ``period``, ``csrf_token``); then the run's page, which follows it.

    A second submission while that period's run is in flight shows the same run (the
    reconciliation API answers the run in flight). A refused period is shown next to the field.
    """
    async with operator(request, console) as op:
        form = await request.form()
        check_csrf(request, console, op.session, str(form.get("csrf_token", "")))
        period = str(form.get("period", "")).strip()
        key = f"console:{op.session.id[:16]}:reconcile:{secrets.token_urlsafe(12)}"
        answer = await op.post(f"{RECONCILIATION}/runs", {"period": period}, key)
        if answer.ok:
            return Redirect(f"{BASE}/reconciliation?run={quote(answer.body['run']['id'])}", status_code=303)
        return await _reconciliation_page(op, None, period=period, period_error=answer.problem, status=answer.status)


async def _reconciliation_page(
    op: Operator, chosen: str | None, *, period: str | None = None, period_error: str | None = None, status: int = 200
) -> Response[bytes]:
    notices = Notices()
    runs = notices.take("Runs", await op.get(f"{RECONCILIATION}/runs", {"limit": 20}), {"items": []})["items"]
    chosen = chosen or (runs[0]["id"] if runs else None)
    run = notices.take("Run", await op.get(api_path(f"{RECONCILIATION}/runs", chosen)), None) if chosen else None
    return _render(
        op,
        "reconciliation.html",
        "reconciliation",
        status=status,
        runs=runs,
        run=run,
        period=period or _previous_month(dt.datetime.now(dt.UTC)),
        period_error=period_error,
        notices=notices.lines,
    )


def _previous_month(now: dt.datetime) -> str:
    """The calendar month before ``now``'s, ``YYYY-MM`` (what is usually reconciled next)."""
    first = now.replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@get(f"{BASE}/catalogue", include_in_schema=False)
async def catalogue(request: Request[Any, Any, Any], console: NamedDependency[Console]) -> Response[bytes]:
    """Every API and version: lifecycle, owner, docs; every client: tier, usage against limits today."""
    async with operator(request, console) as op:
        notices = Notices()
        found = notices.take("Catalogue", await op.get(f"{EXPERIENCE_OPERATIONS}/catalogue"), None)
        return _render(op, "catalogue.html", "catalogue", catalogue=found, notices=notices.lines)
