"""Schemathesis over every contract, against the in-process app, with a valid token.

The app is the production factory with response contracts enforced; the token belongs to
a client granted every scope any contract declares. Checks: no server error, status codes,
content types and response bodies as declared, invalid data rejected, auth not ignored.
Where a contract declares OpenAPI links, a stateful run follows them too. The budget is in
``schemathesis.toml``; a larger one runs with ``make contract-test URL=...``.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis

from gateway.app import create_app
from gateway.contracts.loader import bundle, discover
from gateway.state import issue_token, open_client_store, prepare_state
from tests.gateway.contracts.checks import CHECKS
from tests.support.harness import gateway_settings

STATEFUL_SEQUENCES = 15
"""Call sequences per stateful run (``make contract-test`` is the place for a bigger budget)."""

_state = Path(tempfile.mkdtemp(prefix="strata-schemathesis-"))
atexit.register(shutil.rmtree, _state, True)
SETTINGS = gateway_settings(_state)
# Process contracts need the workflow engine, which runs in a process of its own there:
# tests/apis/process/test_process_contracts.py runs the same checks over them.
CONTRACTS = [c for c in discover(SETTINGS.contracts_path) if c.layer != "process"]


def _all_scopes() -> list[str]:
    scopes: set[str] = set()
    for contract in CONTRACTS:
        schemes = bundle(contract.path).get("components", {}).get("securitySchemes", {})
        for scheme in schemes.values():
            for flow in scheme.get("flows", {}).values():
                scopes.update(flow.get("scopes", {}))
    return sorted(scopes)


async def _token() -> str:
    await prepare_state(SETTINGS)
    async with open_client_store(SETTINGS) as store:
        record, secret = await store.create(name="schemathesis", scopes=_all_scopes(), tier="internal")
    assert secret is not None
    return await issue_token(SETTINGS, record.client_id, secret, None)


TOKEN = asyncio.run(_token())
APP = create_app(SETTINGS)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _schema(api_id: str) -> Any:
    return schemathesis.openapi.from_asgi(f"/docs/{api_id}/openapi.json", APP)


def _run(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


# One parametrized test per contract: pytest shows which API a failure belongs to.
for _contract in CONTRACTS:
    _name = "test_" + _contract.api_id.replace("/", "_").replace("-", "_")
    _api_schema = _schema(_contract.api_id)
    globals()[_name] = _api_schema.parametrize()(lambda case: _run(case))
    if any(
        "links" in response
        for path in bundle(_contract.path).get("paths", {}).values()
        for operation in path.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        if isinstance(response, dict)
    ):
        _machine = _api_schema.as_state_machine()

        class _Stateful(_machine):  # type: ignore[misc, valid-type]
            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return {"headers": AUTH}

            def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
                case.validate_response(response, checks=CHECKS)

        # The same small budget as the stateless runs (schemathesis.toml's max-examples does not
        # reach a state machine, which defaults to 100 sequences), and no example database: the
        # app's state carries over between sequences, so a replayed sequence is not a replay.
        _Stateful.TestCase.settings = hypothesis.settings(
            _Stateful.TestCase.settings, max_examples=STATEFUL_SEQUENCES, database=None
        )
        globals()[_name + "_stateful"] = _Stateful.TestCase
