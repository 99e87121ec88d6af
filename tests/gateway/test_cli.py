"""The strata CLI, on a real state directory (click's runner, in process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def strata(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), env={"STRATA_STATE_DIR": str(tmp_path)}, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_client_lifecycle_and_a_token(strata) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(
        strata(
            "clients",
            "create",
            "--name",
            "acme",
            "--scopes",
            "system:crm:read system:crm:write",
            "--tier",
            "gold",
            "--partner-id",
            "P-1",
            "--json",
        )
    )
    assert created["client_id"].startswith("cli_") and len(created["client_secret"]) >= 40
    listed = json.loads(strata("clients", "list", "--json"))
    assert [client["client_id"] for client in listed] == [created["client_id"]]
    assert "client_secret" not in listed[0] and "secret_hash" not in json.dumps(listed)
    shown = json.loads(strata("clients", "show", created["client_id"], "--json"))
    assert shown["partner_id"] == "P-1" and shown["tier"] == "gold"

    token = strata(
        "token",
        "--client-id",
        created["client_id"],
        "--client-secret",
        created["client_secret"],
        "--scope",
        "system:crm:read",
    ).strip()
    keys = json.loads(strata("keys", "list", "--json"))
    assert [key["status"] for key in keys] == ["current"]
    assert token.count(".") == 2
    claims = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["scope"] == "system:crm:read" and claims["partner_id"] == "P-1"

    strata("clients", "revoke", created["client_id"])
    assert json.loads(strata("clients", "show", created["client_id"], "--json"))["status"] == "disabled"
    refused = strata("token", "--client-id", created["client_id"], "--client-secret", created["client_secret"], code=1)
    assert "invalid_client" in refused


def test_wrong_input_is_refused_with_exit_2(strata) -> None:  # type: ignore[no-untyped-def]
    output = strata("clients", "create", "--name", "x", "--scopes", "system:crm:read", "--tier", "platinum", code=2)
    assert "allowed values are bronze, silver, gold, internal" in output
    output = strata("clients", "create", "--name", "x", "--scopes", "crm-read", "--tier", "gold", code=2)
    assert "crm-read" in output


def test_keys_rotate_keeps_the_previous_key_published(strata) -> None:  # type: ignore[no-untyped-def]
    strata("keys", "list")
    strata("keys", "rotate")
    statuses = sorted(key["status"] for key in json.loads(strata("keys", "list", "--json")))
    assert statuses == ["current", "previous"]


def test_contracts_lint_and_diff(strata, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "0 error(s)" in strata("contracts", "lint")
    crm = PROJECT / "contracts" / "system" / "crm" / "v1.yaml"
    assert strata("contracts", "diff", str(crm), str(crm)) is not None
    tree = tmp_path / "contracts"
    shutil.copytree(PROJECT / "contracts", tree)
    broken = tree / "system" / "crm" / "v1.yaml"
    broken.write_text(
        crm.read_text()
        .replace("operationId: getContact", "operationId: getContactRenamed")
        .replace("  /contacts/{contact_id}:", "  /people/{contact_id}:")
    )
    output = strata("contracts", "diff", str(crm), str(broken), code=1)
    assert "/contacts/{contact_id}" in output


def test_update_disable_enable_rotate_delete(strata) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(
        strata("clients", "create", "--name", "ops", "--scopes", "system:crm:read", "--tier", "bronze", "--json")
    )
    client_id = created["client_id"]
    updated = json.loads(
        strata("clients", "update", client_id, "--tier", "gold", "--rate-limits", "10/second 500/day", "--json")
    )
    assert updated["tier"] == "gold" and updated["rate_limits"] == ["10/second", "500/day"]
    back = json.loads(strata("clients", "update", client_id, "--rate-limits", "tier", "--json"))
    assert back["rate_limits"] is None
    assert "platinum" in strata("clients", "update", client_id, "--tier", "platinum", code=2)

    strata("clients", "disable", client_id)
    assert json.loads(strata("clients", "show", client_id, "--json"))["status"] == "disabled"
    strata("clients", "enable", client_id)
    assert json.loads(strata("clients", "show", client_id, "--json"))["status"] == "active"

    rotated = json.loads(strata("clients", "rotate-secret", client_id, "--previous-valid-for", "0", "--json"))
    assert rotated["client_secret"] and rotated["client_secret"] != created["client_secret"]
    strata("token", "--client-id", client_id, "--client-secret", created["client_secret"], code=1)
    strata("token", "--client-id", client_id, "--client-secret", rotated["client_secret"])

    strata("clients", "delete", client_id)
    assert "no client" in strata("clients", "show", client_id, code=1).lower()
    assert json.loads(strata("clients", "list", "--json")) == []


def test_a_master_key_that_cannot_read_the_keys_stops_serve_cleanly(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STRATA_STATE_DIR": str(tmp_path), "STRATA_MASTER_KEY": "the-first-master-key-of-32-chars-or-more"}
    assert runner.invoke(main, ["keys", "list"], env=env).exit_code == 0  # creates a key under the first master key
    other = {**env, "STRATA_MASTER_KEY": "another-master-key-of-32-characters-x"}
    result = runner.invoke(main, ["serve", "--no-seed"], env=other)
    assert result.exit_code == 2, result.output
    assert "STRATA_MASTER_KEY" in result.output and "Traceback" not in result.output


def test_the_operator_is_not_held_to_the_grant_rule_and_is_audited(strata, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The API's grant rule binds API callers; the operator on the machine grants anything, and it is audited."""
    import asyncio

    from sqlalchemy import select

    from core.db import audit_events, create_engine

    created = json.loads(
        strata(
            "clients",
            "create",
            "--name",
            "governor",
            "--scopes",
            "gateway:clients:admin gateway:governance:admin",
            "--tier",
            "internal",
            "--grantable-scopes",
            "system:erp:read gateway:clients:admin",
            "--json",
        )
    )
    assert created["grantable_scopes"] == ["system:erp:read", "gateway:clients:admin"]
    client_id = created["client_id"]
    shown = strata("clients", "show", client_id)
    assert "grantable_scopes: system:erp:read gateway:clients:admin" in shown
    assert (
        json.loads(strata("clients", "update", client_id, "--grantable-scopes", "", "--json"))["grantable_scopes"] == []
    )
    own = json.loads(strata("clients", "update", client_id, "--grantable-scopes", "own", "--json"))
    assert own["grantable_scopes"] is None
    assert "grantable_scopes" in strata("clients", "update", client_id, "--grantable-scopes", "nonsense", code=2)

    async def audited() -> list[tuple[str, str, str | None, str]]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'strata.db'}")
        try:
            async with engine.connect() as connection:
                rows = (await connection.execute(select(audit_events).order_by(audit_events.c.id))).all()
        finally:
            await engine.dispose()
        return [(row.method, row.route, row.client_id, row.reason) for row in rows]

    assert asyncio.run(audited()) == [
        (
            "CLI",
            "strata clients create",
            None,
            f"created client {client_id} (tier internal); granted scopes: gateway:clients:admin"
            " gateway:governance:admin; grantable_scopes: system:erp:read gateway:clients:admin",
        ),
        (
            "CLI",
            "strata clients update",
            None,
            f"updated client {client_id}: grantable_scopes; grantable_scopes: (none)",
        ),
        (
            "CLI",
            "strata clients update",
            None,
            f"updated client {client_id}: grantable_scopes; grantable_scopes: (its own scopes)",
        ),
    ]
