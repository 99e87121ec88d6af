"""Schemathesis over the partner-portal contract with a partner-bound token.

``tests/gateway/contracts/test_schemathesis.py`` runs every contract with one unbound client, which the
partner portal refuses (403) on every operation: this run is the one that reaches its handlers,
as ``partner-northwind`` with read and write, with the same checks and budget
(``schemathesis.toml``). Generated registrations create deals in this module's own sandbox.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis

from gateway.app import create_app
from gateway.state import issue_token, open_client_store, prepare_state
from tests.apis.experience.partner_portal.conftest import A_ID, READ, WRITE
from tests.gateway.contracts.checks import CHECKS
from tests.support.harness import gateway_settings

_state = Path(tempfile.mkdtemp(prefix="strata-partner-schemathesis-"))
atexit.register(shutil.rmtree, _state, True)
SETTINGS = gateway_settings(_state)


async def _token() -> str:
    await prepare_state(SETTINGS)
    async with open_client_store(SETTINGS) as store:
        record, secret = await store.create(
            name="schemathesis-partner", scopes=[READ, WRITE], tier="internal", partner_id=A_ID
        )
    assert secret is not None
    return await issue_token(SETTINGS, record.client_id, secret, None)


AUTH = {"Authorization": f"Bearer {asyncio.run(_token())}"}
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_asgi("/docs/experience/partner-portal/v1/openapi.json", APP)


@schema.parametrize()
def test_partner_portal_contract(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)
