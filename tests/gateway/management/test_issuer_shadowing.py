"""No governance document may declare an external issuer with the gateway's own URL; issuers' ``jwks_uri`` checked.

An external issuer under the gateway's own issuer URL would replace the built-in one (the
trusted issuers are keyed by URL, the later wins), and with it the check that stops a disabled
client's tokens. Refused at start-up, on ``PUT /gateway/v1/governance`` (422 naming the field)
and on a re-read of the file; URLs are compared normalised.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.app import create_app
from gateway.cli import main
from policies.governance import GovernanceError
from tests.gateway.management.test_governance_reload import BUNDLED, GOVERNANCE, bundled_document
from tests.support.harness import Gateway, gateway_settings, problem, running_gateway

OWN = "http://gateway.strata.test"
"""The gateway's issuer in these tests (``public_url``)."""


def with_issuer(issuer: str, **fields: Any) -> dict[str, Any]:
    document = copy.deepcopy(bundled_document())
    entry = {"issuer": issuer, "jwks_uri": "https://idp.example/keys", "audience": "strata-api", **fields}
    document["issuers"] = [entry]
    return document


def shadowing_yaml(issuer: str) -> str:
    return BUNDLED.read_text().replace(
        "issuers: []", f"issuers:\n  - issuer: {issuer}\n    jwks_uri: https://idp.example/keys\n    audience: x\n"
    )


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state", public_url=OWN) as gateway:
        yield gateway


@pytest.mark.parametrize(
    "spelling",
    [OWN, OWN + "/", "HTTP://GATEWAY.Strata.test", "http://gateway.strata.test:80", "http://gateway.strata.test:80//"],
)
async def test_a_reload_declaring_the_gateways_own_issuer_is_refused_and_the_running_one_stays(
    gw: Gateway, tmp_path: Path, spelling: str
) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    before = (await gw.client.get(GOVERNANCE, headers=admin)).json()
    for params in ({"dry_run": "true"}, {}):
        response = await gw.client.put(GOVERNANCE, params=params, json=with_issuer(spelling), headers=admin)
        assert response.status_code == 422, response.text
        [error] = problem(response)["errors"]
        assert error["pointer"] == "/issuers/0/issuer" and "own issuer" in error["detail"]
    after = (await gw.client.get(GOVERNANCE, headers=admin)).json()
    assert after["digest"] == before["digest"] and after["document"]["issuers"] == []
    assert [i.issuer for i in gw.app.state.components.trusted_issuers()] == [OWN]
    assert not (tmp_path / "state" / "governance.yaml").exists()


async def test_another_issuer_on_the_same_host_is_accepted(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    response = await gw.client.put(GOVERNANCE, json=with_issuer(OWN + "/realms/acme"), headers=admin)
    assert response.status_code == 200, response.text


async def test_an_issuer_declared_twice_is_refused(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    document = with_issuer("https://idp.example/realms/acme")
    document["issuers"].append({**document["issuers"][0], "issuer": "https://IDP.example/realms/acme/"})
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 422
    assert [e["pointer"] for e in problem(response)["errors"]] == ["/issuers/1/issuer"]


@pytest.mark.parametrize(
    ("jwks_uri", "fields", "detail"),
    [
        ("https://10.0.0.7/keys", {}, "not a public address (private); for an IdP on your own network"),
        ("https://169.254.169.254/keys", {"allow_private_network": True}, "not a public address (link-local)"),
        ("http://idp.example/keys", {}, "https required"),
        ("https://2130706433/keys", {}, "numeric host"),
    ],
)
async def test_an_issuers_jwks_uri_is_checked_naming_the_field(
    gw: Gateway, jwks_uri: str, fields: dict[str, Any], detail: str
) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    document = with_issuer("https://idp.example/realms/acme", jwks_uri=jwks_uri, **fields)
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 422, response.text
    [error] = problem(response)["errors"]
    assert error["pointer"] == "/issuers/0/jwks_uri" and detail in error["detail"]


async def test_an_issuer_on_a_private_network_is_accepted_when_declared_so(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    fields = {"jwks_uri": "https://10.0.0.7/keys", "allow_private_network": True}
    response = await gw.client.put(GOVERNANCE, json=with_issuer("https://idp.corp/realms/a", **fields), headers=admin)
    assert response.status_code == 200, response.text
    shown = (await gw.client.get(GOVERNANCE, headers=admin)).json()["document"]["issuers"]
    assert shown[0]["allow_private_network"] is True


async def test_the_file_re_read_with_the_gateways_own_issuer_is_refused(tmp_path: Path) -> None:
    governance_file = tmp_path / "governance.yaml"
    governance_file.write_text(BUNDLED.read_text())
    async with running_gateway(tmp_path / "state", public_url=OWN, governance_file=str(governance_file)) as gw:
        reloader = gw.app.state.governance_reloader
        before = reloader.current.digest
        governance_file.write_text(shadowing_yaml(OWN + "/"))
        assert await reloader.reload_file() is None
        assert reloader.current.digest == before
        assert [i.issuer for i in gw.app.state.components.trusted_issuers()] == [OWN]


def test_a_start_with_the_gateways_own_issuer_fails_naming_the_field(tmp_path: Path) -> None:
    governance_file = tmp_path / "governance.yaml"
    governance_file.write_text(shadowing_yaml("http://Gateway.strata.test:80/"))
    settings = gateway_settings(tmp_path / "state", public_url=OWN, governance_file=str(governance_file))
    with pytest.raises(GovernanceError) as refused:
        create_app(settings)
    assert refused.value.errors == [
        f"issuers.0.issuer: 'http://Gateway.strata.test:80/' is this gateway's own issuer ({OWN}), which is built "
        "in; declare only other issuers"
    ]


def test_strata_serve_exits_2_naming_the_field(tmp_path: Path) -> None:
    governance_file = tmp_path / "governance.yaml"
    governance_file.write_text(shadowing_yaml(OWN))
    env = {"STRATA_STATE_DIR": str(tmp_path / "state"), "STRATA_PUBLIC_URL": OWN}
    env["STRATA_GOVERNANCE_FILE"] = str(governance_file)
    result = CliRunner().invoke(main, ["serve", "--no-seed"], env=env)
    assert result.exit_code == 2, result.output
    assert "issuers.0.issuer" in result.output and "own issuer" in result.output
    assert "Traceback" not in result.output
