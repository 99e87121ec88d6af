"""The embedded gateway serves the NetSuite sandbox at /sandbox/netsuite, next to Salesforce's."""

from __future__ import annotations

from pathlib import Path

from sandboxes.netsuite import generate_key_pair, make_assertion
from tests.support.harness import running_gateway

PREFIX = "/sandbox/netsuite"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def test_embedded_netsuite_sandbox_takes_an_uploaded_certificate(tmp_path: Path) -> None:
    pair = generate_key_pair("cert-embedded", "ES256")
    async with running_gateway(tmp_path) as gw:
        anonymous = await gw.client.get(f"{PREFIX}/services/rest/record/v1/customer")
        assert anonymous.status_code == 401
        assert anonymous.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
        certificate = {
            "client_id": "strata-sandbox",
            "certificate_id": pair.certificate_id,
            "public_key_pem": pair.public_pem.decode(),
        }
        assert (await gw.client.post(f"{PREFIX}/_control/certificates", json=certificate)).status_code == 201
        bad = await gw.client.post(f"{PREFIX}/_control/certificates", json={**certificate, "public_key_pem": "junk"})
        assert bad.status_code == 400
        token_url = f"{gw.client.base_url}{PREFIX}/services/rest/auth/oauth2/v1/token"
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": make_assertion(pair, "strata-sandbox", token_url),
        }
        token = await gw.client.post(token_url, data=form)
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = await gw.client.post(
            f"{PREFIX}/services/rest/record/v1/customer",
            json={"companyName": "Embedded Co", "subsidiary": {"id": "102"}},
            headers=headers,
        )
        assert created.status_code == 204
        assert created.headers["location"].startswith(f"{gw.client.base_url}{PREFIX}/services/rest/record/v1/customer/")
        assert (await gw.client.get(created.headers["location"], headers=headers)).json()[
            "companyName"
        ] == "Embedded Co"
        salesforce = await gw.client.get("/sandbox/salesforce/services/data/")
        assert salesforce.status_code == 200
    assert (tmp_path / "sandboxes" / "netsuite" / "netsuite.json").exists()
