"""The console in a real browser: Playwright driving Debian's Chromium against ``strata serve``.

The gateway is started as ``make run`` starts it — embedded defaults, demo clients and demo
transactions seeded on the empty state (one of them failed by a billing outage) — and an
operator signs in with the demo operations client, opens the failed transaction from the
overview, replays it from the exceptions page and watches it complete, then checks the
lineage shows the vendor ids the process API reports. Screenshots of every page are saved
under ``test-artifacts/console/`` (kept by CI as artefacts).

Chromium comes from Debian (``make browser``); without it these tests skip with the reason,
and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.procs import PROJECT_ROOT, GatewayProcess

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000


def _chromium() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    message = "Debian's chromium is not installed (make browser installs it as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (required under CI)")
    print(f"SKIP: {message}")
    pytest.skip(message)


class DemoGateway(GatewayProcess):
    """``strata serve`` as ``make run`` runs it: demo data seeded, the workflow engine on."""

    start_deadline = 150.0  # the first start also runs the demo transactions


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    state = tmp_path_factory.mktemp("console-browser")
    gateway = DemoGateway(state, seed_demo="true", workflows_enabled="true", build_sandboxes_at_start="true")
    with gateway:
        clients = json.loads((state / "demo-clients.json").read_text())
        operations = next(c for c in clients if c["name"] == "demo-operations")
        yield gateway, operations


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _api_get(gateway: GatewayProcess, operations: dict[str, str], path: str) -> dict[str, Any]:
    """``GET path`` through the API as the demo operations client (what the console should show)."""
    token = httpx.post(
        f"{gateway.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(operations["client_id"], operations["client_secret"]),
    ).json()["access_token"]
    response = httpx.get(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sign_in(page: Any, gateway: GatewayProcess, operations: dict[str, str]) -> None:
    page.goto(f"{gateway.url}/console")
    assert page.url.startswith(f"{gateway.url}/console/sign-in")
    page.get_by_label("Client id").fill(operations["client_id"])
    page.get_by_label("Client secret").fill(operations["client_secret"])
    page.get_by_label("Client secret").press("Enter")  # the keyboard signs in as well as the button
    page.wait_for_url(f"{gateway.url}/console")


def test_operator_replays_the_failed_transaction_and_sees_it_complete(
    served: tuple[GatewayProcess, dict[str, str]], browser: Any
) -> None:
    gateway, operations = served
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{gateway.url}/console/sign-in")
    _shot(page, "01-sign-in")
    _sign_in(page, gateway, operations)

    # The session is a cookie the page's script cannot read, and nothing is kept in web storage.
    [cookie] = [c for c in context.cookies() if c["name"] == "strata_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""

    # Overview: the seeded data, with the failed transaction among the open exceptions.
    overview = page.locator("main")
    assert overview.get_by_role("heading", name="Overview").is_visible()
    failed_row = page.locator("section[aria-labelledby=open-exceptions] tr", has=page.locator("[data-state=failed]"))
    assert failed_row.count() == 1
    assert "vendor_unavailable" in failed_row.inner_text()
    assert page.locator("section[aria-labelledby=open-exceptions] [data-state=needs_attention]").count() >= 1
    # The dashboard's numbers are the seeded ones: 1 failed quote-to-cash transaction, charts drawn.
    states = page.locator("section[aria-labelledby=states] tr", has=page.locator("th", has_text="quote-to-cash"))
    failed_cell = states.locator("a[href*='state=failed']")
    assert failed_cell.inner_text() == "1"
    assert page.locator("svg.chart[role=img]").count() == 3
    assert "completed" in page.locator("section[aria-labelledby=recon]").inner_text()
    # The demo's reconciliation found mismatches: that business alert fires, and the header names the client.
    assert (
        page.locator("section[aria-labelledby=firing-alerts] [data-rule=books-disagree] [data-state=firing]").count()
        == 1
    )
    assert page.locator("header .who .client").inner_text() == "demo-operations"
    _shot(page, "02-overview")

    # Open it from the overview: the lineage shows where it stopped.
    failed_row.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/console/transactions/txn_[0-9A-Z]{26}$"))
    transaction_id = page.url.rsplit("/", 1)[1]
    assert "stripe" in page.locator("section.exception").inner_text()
    assert page.locator(".timeline .step-failed").count() == 1
    assert "create_subscription" in page.locator(".timeline .step-failed").inner_text()
    _shot(page, "03-transaction-failed")

    # Replay it from the exceptions page; the outcome shows without a reload.
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Exceptions").click()
    page.wait_for_url(f"{gateway.url}/console/exceptions")
    _shot(page, "04-exceptions")
    # The demo's story: one exception of each kind waits, each row naming customer, deal and amount.
    reasons = page.locator("table.exceptions tbody .reason-code").all_inner_texts()
    assert sorted(reasons) == ["period_closed", "product_unmapped", "tax_address_incomplete", "vendor_unavailable"]
    row = page.locator(f"#row-{transaction_id}")
    assert "Fabrikam Cloud" in row.locator(".about").inner_text()
    assert "15,600.00 USD" in row.locator(".about").inner_text()
    row.get_by_role("button", name="Replay").click()
    dialog = page.get_by_role("dialog")
    assert dialog.is_visible()
    _shot(page, "05-replay-confirmation")
    page.evaluate("window.__notReloaded = true")
    dialog.get_by_role("button", name="Replay").click()
    row.locator(".result", has_text="completed").wait_for()
    assert row.locator("[data-state=completed]").count() == 1
    assert page.evaluate("window.__notReloaded") is True
    _shot(page, "06-replayed")

    # The lineage timeline names each step's system and the vendor ids the process API reports.
    page.goto(f"{gateway.url}/console/transactions/{transaction_id}")
    assert page.locator("#state [data-state=completed]").count() == 1
    shown = set(page.locator(".timeline .vendor-id").all_inner_texts())
    reported = _api_get(gateway, operations, f"/process/operations/v1/transactions/{transaction_id}")
    expected = {record["id"] for step in reported["steps"] for record in step["records"]}
    assert expected and shown == expected
    assert any(value.startswith("sub_") for value in shown)  # the Stripe subscription the replay made
    for step in reported["steps"]:
        item = page.locator(".timeline .step", has=page.locator("strong", has_text=re.compile(f"^{step['name']}$")))
        assert item.count() == 1, step["name"]
        if step["system"]:
            assert step["system"] in item.inner_text()
    _shot(page, "07-transaction-completed")

    page.goto(f"{gateway.url}/console/transactions?workflow=quote-to-cash&state=completed")
    assert transaction_id in page.locator("main table").inner_text()  # the replayed one is now completed
    _shot(page, "08-transactions")

    # Reconciliation: the seeded run's mismatches, one row each, every system's ids side by side.
    page.goto(f"{gateway.url}/console/reconciliation")
    rows = page.locator("table.side-by-side tbody tr")
    assert rows.count() >= 1
    assert page.locator("table.side-by-side thead").inner_text().split("\t")[2:5] == ["CRM", "Billing", "ERP"]
    _shot(page, "09-reconciliation")
    # Reconcile January again from the console: a new run, followed until it shows its mismatches.
    seeded = page.locator("ul.runs li").count()
    page.get_by_label("Period (month)").fill("2025-01")
    page.get_by_role("button", name="Reconcile").click()
    page.wait_for_url(re.compile(r"/console/reconciliation\?run=rec_"))
    run_id = page.url.rsplit("run=", 1)[1]
    page.locator("section[aria-labelledby=run] p [data-state=completed]").wait_for()  # reloaded when it completed
    assert page.locator("ul.runs li").count() == seeded + 1
    report = _api_get(gateway, operations, f"/process/reconciliation/v1/runs/{run_id}")
    assert report["status"] == "completed"
    assert page.locator("table.side-by-side tbody tr").count() == report["mismatch_count"] == len(report["mismatches"])
    _shot(page, "09b-reconciliation-rerun")

    # API catalogue: every API version served, and the demo operations client with its tier.
    page.goto(f"{gateway.url}/console/catalogue")
    catalogue = page.locator("section[aria-labelledby=apis]").inner_text()
    for api in ("/system/crm/v1", "/process/quote-to-cash/v1", "/experience/partner-portal/v1"):
        assert api in catalogue
    assert operations["client_id"] in page.locator("section[aria-labelledby=clients]").inner_text()
    _shot(page, "10-catalogue")
    context.close()


def test_console_works_by_keyboard_and_on_a_narrow_window(
    served: tuple[GatewayProcess, dict[str, str]], browser: Any
) -> None:
    gateway, operations = served
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    _sign_in(page, gateway, operations)
    # Nothing wider than the window: tables scroll inside their own box.
    for path in ("/console", "/console/exceptions", "/console/transactions", "/console/catalogue"):
        page.goto(f"{gateway.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    page.goto(f"{gateway.url}/console/exceptions")
    _shot(page, "11-exceptions-narrow")

    # The first Tab reaches the skip link; the repair buttons are reachable and open the dialog.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    first = page.locator(".repairs button[data-action=dismiss]").first
    first.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    assert dialog.is_visible()
    # Dismissing needs a reason: confirming without one says so and keeps the dialog open.
    dialog.get_by_role("button", name="Dismiss").click()
    assert "reason" in page.locator("#confirm-error").inner_text().lower()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.dataset.action") == "dismiss"  # focus back where it was

    # Signing out ends the session: the console asks for a sign-in again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/console/sign-in\?reason=signed_out$"))
    page.goto(f"{gateway.url}/console/exceptions")
    assert "/console/sign-in" in page.url
    context.close()
