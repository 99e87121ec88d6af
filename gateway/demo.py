"""``strata demo``: the seeded Closed Won opportunities through quote-to-cash, with a report.

The gateway runs in this process (the production app and lifespan, the embedded sandboxes,
the workflow engine) on the configured state; a demo client submits every Closed Won
opportunity the CRM holds through ``POST /process/quote-to-cash/v1/orders``, exactly as an
integration would, then the report says how each transaction ended. Run it again and it
submits the same opportunities: each finds its transaction (nothing is created twice).

Only the seeded deals whose ERP accounting period is open are submitted: the seeded ERP
already holds a sales order for every seeded won deal, and those of closed periods (2024) are
history booked before Strata, not work for it.

``reconcile`` (a ``YYYY-MM`` period) then runs a reconciliation of it, waits for the report and
evaluates the business alert rules once at once (the seeded mismatches make ``books-disagree``
fire), so the console shows a firing alert without waiting for the gateway's next evaluation.
``with_outage`` adds what an operator must see on a first look at the console: a few more won
deals entered today that complete, one deliberate exception of each kind that waits to be
repaired (a missing tax address, an unmapped product, a deal dated in a closed period), and
one more won deal submitted while the billing sandbox answers every subscription create with
503, so its transaction ends ``failed`` (``vendor_unavailable``, owner ``stripe``); the outage
ends with the demo, so a Replay from the console completes it. ``strata serve`` runs the demo
this way once, on the state it has just seeded (see :mod:`gateway.cli`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.settings import Settings

ORDERS = "/process/quote-to-cash/v1/orders"
TRANSACTIONS = "/process/operations/v1/transactions"
SETTLED = {"completed", "needs_attention", "failed", "held", "compensated", "dismissed"}


@dataclass
class DemoReport:
    """What the demo did."""

    submitted: int = 0
    created: int = 0
    states: Counter[str] = field(default_factory=Counter)
    exceptions: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(transaction id, opportunity id, reason code, reason) of each that did not complete."""
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The report, for a terminal."""
        rate = self.submitted / self.seconds if self.seconds else 0.0
        out = [
            f"quote-to-cash: {self.submitted} closed-won opportunities submitted "
            f"({self.created} new transactions) in {self.seconds:.1f}s ({rate:.1f} orders/s)",
            "  " + ", ".join(f"{state}: {count}" for state, count in sorted(self.states.items())),
        ]
        for transaction_id, opportunity_id, code, reason in self.exceptions[:20]:
            out.append(f"  {transaction_id} (opportunity {opportunity_id}): {code}: {reason}")
        if len(self.exceptions) > 20:
            out.append(f"  ... and {len(self.exceptions) - 20} more (GET {TRANSACTIONS}?state=needs_attention,failed)")
        return out


OUTAGE_DEAL = {
    "name": "Fabrikam Cloud - platform (billing outage demo)",
    "account": {"name": "Fabrikam Cloud", "website": "fabrikam-cloud.example"},
    "lines": [
        {"product_code": "STRATA-CORE", "quantity": 1, "unit_price": 12000},
        {"product_code": "STRATA-CRM-CONNECTOR", "quantity": 2, "unit_price": 1800},
    ],
}


def _story_deal(name: str, website: str, *codes: str, **extra: Any) -> dict[str, Any]:
    account = {"name": name, "website": website, **extra.pop("account", {})}
    prices = {"STRATA-CORE": 12000, "STRATA-ERP-CONNECTOR": 2400, "STRATA-CRM-CONNECTOR": 1800}
    lines = [{"product_code": code, "quantity": 1, "unit_price": prices.get(code, 900)} for code in codes]
    return {"name": f"{name} - platform", "account": account, "lines": lines, **extra}


STORY_DEALS = [
    _story_deal("Northwind Traders", "northwind-traders.example", "STRATA-CORE", "STRATA-ERP-CONNECTOR"),
    _story_deal("Contoso Pharmaceuticals", "contoso-pharma.example", "STRATA-CORE"),
    _story_deal("Tailspin Toys", "tailspin-toys.example", "STRATA-CORE", "STRATA-CRM-CONNECTOR"),
    _story_deal("Wide World Importers", "wide-world-importers.example", "STRATA-ERP-CONNECTOR"),
    _story_deal("Adventure Works Cycles", "adventure-works.example", "STRATA-CORE", "STRATA-ERP-CONNECTOR"),
]
"""Won deals entered today, in an open period, with mapped products: they complete."""
EXCEPTION_DEALS = [
    _story_deal(
        "Lakeshore Retail GmbH",
        "lakeshore-retail.example",
        "STRATA-CORE",
        account={"country": None, "state": None, "postal_code": None},
    ),
    _story_deal("Blue Yonder Airlines", "blue-yonder.example", "STRATA-CORE", "STRATA-TELEPORTER"),
    _story_deal("Litware Inc", "litware.example", "STRATA-CORE", close_date="2024-12-20"),
]
"""One deliberate exception of each kind: no tax address (``tax_address_incomplete``), a product
no system knows (``product_unmapped``), a deal won in a closed period (``period_closed``)."""
OUTAGE_FAULT = {"kind": "status", "status": 503, "method": "POST", "path_prefix": "/v1/subscriptions"}


async def run_demo(
    settings: Settings,
    *,
    limit: int | None = None,
    within: float = 300.0,
    echo: Callable[[str], None] = print,
    with_outage: bool = False,
    reconcile: str | None = None,
) -> DemoReport:
    """Submit the Closed Won opportunities and wait until every transaction settled (or ``within`` s)."""
    from gateway.app import create_app
    from gateway.sandbox_credentials import admin_headers

    app = create_app(settings)
    async with app.litestar.lifespan():
        record, secret = await app.state.oauth.clients.create(
            name="strata-demo",
            scopes=[
                "process:quote-to-cash:write",
                "process:operations:read",
                "process:reconciliation:read",
                "process:reconciliation:write",
            ],
            tier="internal",
        )
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=settings.issuer, timeout=60) as client:
            token = await _token(client, record.client_id, secret)
            headers = {"Authorization": f"Bearer {token}"}
            opportunities = await _closed_won(app, limit)
            echo(f"strata demo: {len(opportunities)} closed-won opportunities in the CRM")
            outage_opportunity = None
            if with_outage:
                crm_admin = admin_headers(settings, "salesforce")
                story = await _won_deals(client, crm_admin, STORY_DEALS + EXCEPTION_DEALS)
                echo(f"strata demo: {len(story)} more won deals entered today, {len(EXCEPTION_DEALS)} with bad data")
                opportunities += story
                outage_opportunity = (await _won_deals(client, crm_admin, [OUTAGE_DEAL]))[0]
            started = time.perf_counter()
            report = DemoReport(submitted=len(opportunities))
            ids: dict[str, str] = {}
            for opportunity_id in opportunities:
                body = await _submit(client, headers, opportunity_id)
                report.created += bool(body["created"])
                ids[body["transaction"]["id"]] = opportunity_id
            views = await _settle(client, headers, set(ids), started + within)
            if outage_opportunity is not None:
                echo(f"strata demo: {outage_opportunity} submitted while billing answers 503 (it will fail; replay it)")
                transaction_id = await _submit_during_outage(
                    client, headers, outage_opportunity, admin_headers(settings, "stripe")
                )
                report.submitted += 1
                report.created += 1
                ids[transaction_id] = outage_opportunity
                views.update(await _settle(client, headers, {transaction_id}, time.perf_counter() + within))
            report.seconds = time.perf_counter() - started
            if reconcile:
                echo(f"strata demo: {await _reconcile(client, headers, reconcile, within)}")
                echo(f"strata demo: {await _evaluate_alerts(app, settings)}")
            for transaction_id, view in views.items():
                report.states[view["state"]] += 1
                if view["state"] != "completed" and view.get("exception"):
                    exception = view["exception"]
                    report.exceptions.append(
                        (transaction_id, ids[transaction_id], exception["reason_code"], exception["reason"])
                    )
        await app.state.oauth.clients.delete(record.client_id)
    return report


async def _won_deals(client: httpx.AsyncClient, admin: dict[str, str], deals: list[dict[str, Any]]) -> list[str]:
    """New won deals in the CRM sandbox (through its control API); their opportunity ids."""
    response = await client.post("/sandbox/salesforce/_control/won-deals", json=deals, headers=admin)
    response.raise_for_status()
    return [str(made["opportunity_id"]) for made in response.json()]


async def _submit(client: httpx.AsyncClient, headers: dict[str, str], opportunity_id: str) -> dict[str, Any]:
    """``POST`` the opportunity to quote-to-cash as an integration would; the 202 answer's body."""
    response = await client.post(
        ORDERS,
        json={"opportunity_id": opportunity_id},
        headers={**headers, "Idempotency-Key": f"demo-{opportunity_id}"},
    )
    if response.status_code != 202:
        raise RuntimeError(f"submitting {opportunity_id}: {response.status_code} {response.text[:300]}")
    return dict(response.json())


async def _submit_during_outage(
    client: httpx.AsyncClient, headers: dict[str, str], opportunity_id: str, admin: dict[str, str]
) -> str:
    """Submit ``opportunity_id`` while the billing sandbox refuses subscriptions; the transaction id."""
    faults = "/sandbox/stripe/_control/faults"
    (await client.post(faults, json=[OUTAGE_FAULT], headers=admin)).raise_for_status()
    try:
        transaction_id = str((await _submit(client, headers, opportunity_id))["transaction"]["id"])
        await _settle(client, headers, {transaction_id}, time.perf_counter() + 120)
        return transaction_id
    finally:
        await client.delete(faults, headers=admin)


async def _reconcile(client: httpx.AsyncClient, headers: dict[str, str], period: str, within: float) -> str:
    """Run a reconciliation of ``period`` and wait for it; one line saying how it ended."""
    runs = "/process/reconciliation/v1/runs"
    started = await client.post(runs, json={"period": period}, headers=headers)
    if started.status_code not in (201, 202):
        return f"reconciliation of {period} not started: {started.status_code} {started.text[:200]}"
    run = started.json()["run"]
    run_id = run["id"]
    deadline = time.perf_counter() + within
    while run.get("status") == "running" and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        run = (await client.get(f"{runs}/{run_id}", headers=headers)).json()
    return f"reconciliation of {period}: {run.get('status')}, {run.get('mismatch_count')} mismatches ({run_id})"


async def _evaluate_alerts(app: Any, settings: Settings) -> str:
    """Evaluate the governance file's alert rules now (the period the gateway's schedule would); one line."""
    from apis.process.alerts.evaluate import evaluate
    from apis.process.alerts.schedule import period_of

    config = app.state.governance.alerts
    if not config.rules:
        return "no business alert rules"
    now = time.time()
    targets = settings.workflow_sla_targets
    outcome = await evaluate(
        app.state.process.database,
        config,
        period=period_of(now, config.evaluate_every_seconds),
        now=now,
        sla_target=lambda name: targets.get(name, settings.default_sla_seconds),
        evaluator="strata-demo",
    )
    fired = ", ".join(key.replace("|", " on ") for key in outcome.fired) or "none"
    return f"business alerts fired: {fired}"


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _closed_won(app: Any, limit: int | None) -> list[str]:
    """The seeded Closed Won opportunities whose ERP accounting period is open (see the module docstring)."""
    found: list[str] = []
    position = None
    open_days: dict[int, list[tuple[Any, Any]]] = {}
    while True:
        page = await app.state.crm.list_opportunities(stage="closed_won", limit=200, position=position)
        for opportunity in page.items:
            year = opportunity.close_date.year
            if year not in open_days:
                periods = await app.state.erp.list_accounting_periods(year)
                open_days[year] = [(p.start_date, p.end_date) for p in periods if not p.closed]
            if any(start <= opportunity.close_date <= end for start, end in open_days[year]):
                found.append(opportunity.id)
        position = page.next_position
        if position is None or (limit is not None and len(found) >= limit):
            return found[:limit] if limit is not None else found


async def _settle(
    client: httpx.AsyncClient, headers: dict[str, str], ids: set[str], deadline: float
) -> dict[str, dict[str, Any]]:
    while True:
        views: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"workflow": "quote-to-cash", "limit": 200}
        while True:
            page = (await client.get(TRANSACTIONS, params=params, headers=headers)).json()
            views.update({t["id"]: t for t in page["items"] if t["id"] in ids})
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        if all(v["state"] in SETTLED for v in views.values()) or time.perf_counter() > deadline:
            return views
        await asyncio.sleep(0.2)
