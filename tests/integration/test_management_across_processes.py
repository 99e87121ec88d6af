"""Two real gateway processes sharing PostgreSQL and Redis: management changes hold in both.

A client disabled through the management API of one process is refused by the other (its
change poll reads the client's new ``updated_at``), a scope removed there leaves the client's
live tokens in the other within the same bound, and the audit query of either process
shows the action taken on the other. The propagation delay is printed, not asserted as a
timing: the deadline below only bounds a hang.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.settings import load_settings
from tests.support.procs import PROJECT_ROOT, GatewayProcess, provision_token, start_all

PROPAGATION_DEADLINE_SECONDS = 10.0
CATALOGUE = "/gateway/v1/catalogue"


@pytest.fixture
def two_gateways(
    tmp_path: Path, redis_url: str, postgres_url: str
) -> Iterator[tuple[GatewayProcess, GatewayProcess, str]]:
    # Behind one load balancer: one public URL (one issuer), one master key for the shared signing keys.
    governance = tmp_path / "governance.yaml"  # each machine has its own copy; here both share one
    governance.write_text((PROJECT_ROOT / "contracts" / "governance.yaml").read_text())
    common = {
        "redis_url": redis_url,
        "database_url": postgres_url,
        "public_url": "http://gateway.test",
        "master_key": "test-master-key-shared-by-both-processes",
        "governance_file": str(governance),
    }
    settings = load_settings({"state_dir": str(tmp_path / "setup"), "seed_demo": False, **common}, environ={})

    # The operator holds the scope it gives the clients it creates (the grant rule of issue 12).
    operator_scopes = ["gateway:clients:admin", "gateway:audit:read", "gateway:governance:admin"]
    admin_token = provision_token(settings, [*operator_scopes, "gateway:catalog:read"], name="operator")
    first, second = GatewayProcess(tmp_path / "one", **common), GatewayProcess(tmp_path / "two", **common)
    start_all(first, second)
    try:
        yield first, second, admin_token
    finally:
        first.stop()
        second.stop()


def _client_with_token(
    http: httpx.Client,
    first: GatewayProcess,
    second: GatewayProcess,
    admin: dict[str, str],
    tier: str,
    scopes: tuple[str, ...] = ("gateway:catalog:read",),
) -> tuple[dict[str, str], dict[str, str]]:
    """A client created through the first process's API, and a token for it from the second."""
    created = http.post(
        f"{first.url}/gateway/v1/clients",
        json={"name": f"{tier}-app", "scopes": list(scopes), "tier": tier},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    client = created.json()
    # The second process has never seen this client: it learns of it from the database.
    issued = http.post(
        f"{second.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    return client, {"Authorization": f"Bearer {issued.json()['access_token']}"}


def test_a_client_disabled_in_one_process_is_refused_in_the_other(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str],
) -> None:
    first, second, admin_token = two_gateways
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(timeout=10) as http:
        client, token = _client_with_token(http, first, second, admin, "gold")
        assert http.get(f"{second.url}{CATALOGUE}", headers=token).status_code == 200

        time.sleep(1.05)  # iat is whole seconds: disable in a later second than the token was issued
        disabled = http.post(f"{first.url}/gateway/v1/clients/{client['client_id']}/disable", headers=admin)
        assert disabled.status_code == 200, disabled.text
        disabled_at = time.monotonic()
        assert http.get(f"{first.url}{CATALOGUE}", headers=token).status_code == 401  # at once where it was done
        status = 200
        while status == 200 and time.monotonic() - disabled_at < PROPAGATION_DEADLINE_SECONDS:
            status = http.get(f"{second.url}{CATALOGUE}", headers=token).status_code
            if status == 200:
                time.sleep(0.02)
        delay = time.monotonic() - disabled_at
        print(f"disable propagated to the other process in {delay * 1000:.0f} ms")
        assert status == 401

        refused = http.post(
            f"{second.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"

        # The audit query of the *other* process shows the action (the writer batches: poll).
        route = "/gateway/v1/clients/{client_id}/disable"
        events: list[dict[str, object]] = []
        deadline = time.monotonic() + PROPAGATION_DEADLINE_SECONDS
        while not events and time.monotonic() < deadline:
            events = http.get(f"{second.url}/gateway/v1/audit/events", params={"route": route}, headers=admin).json()[
                "items"
            ]
            if not events:
                time.sleep(0.1)
        assert [event["reason"] for event in events] == [f"disabled client {client['client_id']}"]


def test_a_scope_removed_in_one_process_leaves_live_tokens_in_the_other(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str],
) -> None:
    first, second, admin_token = two_gateways
    admin = {"Authorization": f"Bearer {admin_token}"}
    events = "/gateway/v1/audit/events"
    with httpx.Client(timeout=10) as http:
        scopes = ("gateway:catalog:read", "gateway:audit:read")
        client, token = _client_with_token(http, first, second, admin, "gold", scopes)
        assert http.get(f"{second.url}{CATALOGUE}", headers=token).status_code == 200

        reduced = http.patch(
            f"{first.url}/gateway/v1/clients/{client['client_id']}",
            json={"scopes": ["gateway:audit:read"]},
            headers=admin,
        )
        assert reduced.status_code == 200, reduced.text
        reduced_at = time.monotonic()
        assert http.get(f"{first.url}{CATALOGUE}", headers=token).status_code == 403  # at once where it was done
        delay = _wait_for(lambda: http.get(f"{second.url}{CATALOGUE}", headers=token).status_code == 403)
        print(
            f"scope removal reached the other process's live tokens in {(time.monotonic() - reduced_at) * 1000:.0f} ms"
        )
        assert delay < PROPAGATION_DEADLINE_SECONDS
        assert http.get(f"{second.url}{events}", headers=token).status_code == 200  # what it still holds


def _wait_for(check: object, deadline: float = PROPAGATION_DEADLINE_SECONDS) -> float:
    """Call ``check()`` until it is true; return the seconds it took (raises on the deadline)."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > deadline:
            raise AssertionError(f"not true within {deadline} s")
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_governance_reload_in_one_process_is_in_force_in_the_other(
    two_gateways: tuple[GatewayProcess, GatewayProcess, str],
) -> None:
    first, second, admin_token = two_gateways
    admin = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(timeout=10) as http:
        _, token = _client_with_token(http, first, second, admin, "bronze")

        def policy_on_second() -> str:
            return str(http.get(f"{second.url}{CATALOGUE}", headers=token).headers.get("ratelimit-policy", ""))

        assert '"5-per-second"' in policy_on_second()
        document = yaml.safe_load((PROJECT_ROOT / "contracts" / "governance.yaml").read_text())
        document["tiers"]["bronze"]["limits"] = ["7/second"]
        replaced = http.put(f"{first.url}/gateway/v1/governance", json=document, headers=admin)
        assert replaced.status_code == 200, replaced.text
        delay = _wait_for(lambda: policy_on_second() == '"7-per-second";q=7;w=1')
        print(f"governance reload in force in the other process after {delay * 1000:.0f} ms")
        second_view = http.get(f"{second.url}/gateway/v1/governance", headers=admin).json()
        assert second_view["digest"] == replaced.json()["digest"] and second_view["source"] == "peer"

        def audited() -> bool:
            items = http.get(
                f"{second.url}/gateway/v1/audit/events", params={"route": "/gateway/v1/governance"}, headers=admin
            ).json()["items"]
            return any(str(item["reason"]).startswith("governance replaced") for item in items)

        _wait_for(audited)


def test_sighup_puts_the_edited_file_in_force(tmp_path: Path) -> None:
    governance = tmp_path / "governance.yaml"
    bundled = (PROJECT_ROOT / "contracts" / "governance.yaml").read_text()
    governance.write_text(bundled)
    common = {"governance_file": str(governance), "public_url": "http://gateway.test"}  # one issuer for both
    settings = load_settings({"state_dir": str(tmp_path / "state"), "seed_demo": False, **common}, environ={})

    token = {"Authorization": f"Bearer {provision_token(settings, ['gateway:catalog:read'], tier='bronze')}"}
    with GatewayProcess(tmp_path / "state", **common) as gateway, httpx.Client() as http:

        def policy() -> str:
            try:
                return str(http.get(f"{gateway.url}{CATALOGUE}", headers=token).headers.get("ratelimit-policy", ""))
            except httpx.TransportError:  # a worker being replaced
                return ""

        assert '"5-per-second"' in policy()
        governance.write_text(bundled.replace('["5/second", "2000/day"]', '["6/second"]'))
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGHUP)
        delay = _wait_for(lambda: policy() == '"6-per-second";q=6;w=1')
        print(f"SIGHUP: the edited governance file in force after {delay * 1000:.0f} ms")
        assert gateway.process.poll() is None  # still serving: a reload, not a stop
