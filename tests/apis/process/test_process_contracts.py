"""Schemathesis over every process contract, against a gateway process running the workflow engine.

In a process of its own (the engine is one per process, and the in-process schemathesis run of
``tests/contracts`` builds its app without one), with the embedded sandboxes and a token
granted every process scope. The same checks as the other contracts' run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis

from gateway.contracts.loader import bundle, discover
from gateway.settings import load_settings
from tests.gateway.contracts.checks import CHECKS
from tests.support.procs import GatewayProcess, provision_token

PUBLIC_URL = "http://gateway.test"
EXAMPLES = 12
"""Examples per operation, as ``schemathesis.toml`` gives the in-process run."""
PROCESS_CONTRACTS = [c for c in discover(load_settings(environ={}).contracts_path) if c.layer == "process"]


def _scopes() -> list[str]:
    scopes: set[str] = set()
    for contract in PROCESS_CONTRACTS:
        for scheme in bundle(contract.path).get("components", {}).get("securitySchemes", {}).values():
            for flow in scheme.get("flows", {}).values():
                scopes.update(flow.get("scopes", {}))
    return sorted(scopes)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    state: Path = tmp_path_factory.mktemp("process-contracts")
    common: dict[str, Any] = {"public_url": PUBLIC_URL, "reconciliation_schedule_hour": -1, "workflows_enabled": True}
    settings = load_settings({"state_dir": str(state), "seed_demo": False, **common}, environ={})
    token = provision_token(settings, _scopes(), name="schemathesis-process")
    process = GatewayProcess(state, **common).start()
    try:
        yield process, {"Authorization": f"Bearer {token}"}
    finally:
        process.stop()


@pytest.mark.parametrize("api_id", [c.api_id for c in PROCESS_CONTRACTS])
def test_process_contract(api_id: str, gateway: tuple[GatewayProcess, dict[str, str]]) -> None:
    # Driven through hypothesis by hand, operation by operation (schemathesis's lazy pytest loader
    # does not work with this pytest), with the budget of schemathesis.toml.
    process, auth = gateway
    schema = schemathesis.openapi.from_url(f"{process.url}/docs/{api_id}/openapi.json")
    base_url = f"{process.url}/{api_id}"
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True)
        @hypothesis.given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(base_url=base_url, headers=auth, checks=CHECKS)

        run()
