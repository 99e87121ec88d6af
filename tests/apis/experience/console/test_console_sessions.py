"""The console's sign-in, session and CSRF rules, over HTTP against an in-process gateway.

What a browser would be told (status, redirects, cookie attributes) and what the database
keeps (no cookie value, no secret, no token in the clear).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from core.db import console_sessions
from tests.support.clock import movable_clock
from tests.support.harness import Gateway, running_gateway

OPS_SCOPES = "process:operations:read process:operations:write process:reconciliation:read"
SESSION = "strata_console"


@pytest_asyncio.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "console") as gateway:
        yield gateway


def _form_token(page: httpx.Response) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, client_id: str, secret: str, **extra: str) -> httpx.Response:
    form_token = _form_token(await client.get("/console/sign-in"))
    return await client.post(
        "/console/sign-in", data={"form_token": form_token, "client_id": client_id, "client_secret": secret, **extra}
    )


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the whole header, attributes included)."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def _rows(gw: Gateway) -> list[Any]:
    async with gw.app.state.components.engine.connect() as connection:
        return list((await connection.execute(select(console_sessions))).all())


async def test_pages_send_a_browser_without_a_session_to_sign_in_and_back(gw: Gateway) -> None:
    for path in ("/console", "/console/transactions", "/console/exceptions", "/console/catalogue"):
        response = await gw.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/sign-in")
    response = await gw.client.get("/console/transactions?state=failed&workflow=quote-to-cash")
    location = response.headers["location"]
    assert location == "/console/sign-in?next=%2Fconsole%2Ftransactions%3Fstate%3Dfailed%26workflow%3Dquote-to-cash"
    form = await gw.client.get(location)
    assert 'name="next" value="/console/transactions?state=failed&amp;workflow=quote-to-cash"' in form.text
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    target = "/console/transactions?state=failed&workflow=quote-to-cash"
    signed_in = await _sign_in(gw.client, client_id, secret, next=target)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == target


async def test_sign_in_sets_an_httponly_samesite_strict_cookie_and_keeps_secrets_server_side(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    response = await _sign_in(gw.client, client_id, secret)
    assert response.status_code == 303
    header = _set_cookies(response)[SESSION]
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= attributes
    assert "secure" not in attributes  # plain http here: a Secure cookie would never come back
    cookie_value = header.split(";", 1)[0].split("=", 1)[1]

    page = await gw.client.get("/console/exceptions")
    assert page.status_code == 200
    assert client_id in page.text
    for value in (secret, cookie_value):
        assert value not in page.text
    assert "localStorage" not in (await gw.client.get("/console/static/console.js")).text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    [row] = await _rows(gw)
    assert row.client_id == client_id
    stored = " ".join(str(value) for value in row)
    assert secret not in stored and cookie_value not in stored
    assert "eyJ" not in stored.replace(row.sealed, "")  # no JWT in the clear beside the sealed blob
    assert row.sealed.count(".") == 4  # a JWE compact serialization


async def test_wrong_credentials_and_non_operations_clients_get_no_session(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    wrong = await _sign_in(gw.client, client_id, secret + "x")
    assert wrong.status_code == 401
    assert "not right" in wrong.text
    assert SESSION not in _set_cookies(wrong)

    other_id, other_secret = await gw.create_client("system:crm:read", "internal")
    refused = await _sign_in(gw.client, other_id, other_secret)
    assert refused.status_code == 403
    assert "process:operations:read" in refused.text
    assert SESSION not in _set_cookies(refused)

    empty = await _sign_in(gw.client, "", "")
    assert empty.status_code == 422
    assert await _rows(gw) == []


async def test_sign_in_without_its_form_token_is_refused(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    response = await gw.client.post(
        "/console/sign-in", data={"form_token": "forged", "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 403
    assert SESSION not in _set_cookies(response)
    assert await _rows(gw) == []


async def test_state_changing_calls_need_the_session_csrf_token_and_our_origin(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    await _sign_in(gw.client, client_id, secret)
    csrf = _csrf(await gw.client.get("/console/exceptions"))
    action = "/console/api/exceptions/txn_01M8TT6E12M206WXBB62MQBCFM/replay"

    missing = await gw.client.post(action, json={})
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["problem"]
    forged = await gw.client.post(action, json={}, headers={"X-CSRF-Token": "not-the-token"})
    assert forged.status_code == 403
    elsewhere = await gw.client.post(action, json={}, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert "another site" in elsewhere.json()["problem"]
    # With the token the call reaches the process API (no engine in this gateway: 503, said as such).
    passed = await gw.client.post(action, json={}, headers={"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:8080"})
    assert passed.status_code == 503
    assert "workflow engine" in passed.json()["problem"]

    bad_body = await gw.client.post(action, content=b"[1]", headers={"X-CSRF-Token": csrf})
    assert bad_body.status_code == 422
    unknown = await gw.client.post(action.replace("replay", "explode"), json={}, headers={"X-CSRF-Token": csrf})
    assert unknown.status_code == 404

    no_csrf_sign_out = await gw.client.post("/console/sign-out", data={})
    assert no_csrf_sign_out.status_code == 403
    assert len(await _rows(gw)) == 1


async def test_reconciling_a_period_needs_the_csrf_token_and_a_refusal_is_shown_at_the_field(gw: Gateway) -> None:
    reader_id, reader_secret = await gw.create_client(OPS_SCOPES, "internal")
    await _sign_in(gw.client, reader_id, reader_secret)
    page = await gw.client.get("/console/reconciliation")
    assert page.status_code == 200
    assert re.search(r'<input id="r-period" name="period" type="month" value="\d{4}-\d{2}" required>', page.text)
    csrf = _csrf(page)
    without_token = await gw.client.post("/console/reconciliation", data={"period": "2025-01"})
    assert without_token.status_code == 403
    # A client that may read reconciliations but not start them: the API's 403, said on the page.
    not_allowed = await gw.client.post("/console/reconciliation", data={"period": "2025-01", "csrf_token": csrf})
    assert not_allowed.status_code == 403
    assert 'aria-invalid="true"' in not_allowed.text and "process:reconciliation:write" in not_allowed.text

    writer_id, writer_secret = await gw.create_client(f"{OPS_SCOPES} process:reconciliation:write", "internal")
    await _sign_in(gw.client, writer_id, writer_secret)
    csrf = _csrf(await gw.client.get("/console/reconciliation"))
    bad = await gw.client.post("/console/reconciliation", data={"period": "2025-13", "csrf_token": csrf})
    assert bad.status_code == 422
    assert 'value="2025-13"' in bad.text and 'aria-describedby="r-period-error"' in bad.text
    assert re.search(r'id="r-period-error"[^>]*>[^<]*invalid: period ', bad.text)  # the field, named
    # A good period reaches the process API (no engine in this gateway: 503, said as such).
    no_engine = await gw.client.post("/console/reconciliation", data={"period": "2025-01", "csrf_token": csrf})
    assert no_engine.status_code == 503 and "workflow engine" in no_engine.text


async def test_an_id_from_the_browser_stays_one_path_segment_of_the_api_call(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    await _sign_in(gw.client, client_id, secret)
    response = await gw.client.get("/console/api/transactions/x%3Flimit%3D1")
    assert response.status_code == 422
    assert 'transaction_id "x?limit=1"' in response.json()["problem"]  # the whole id was checked, no query added


async def test_script_calls_without_a_session_get_401_json_not_a_redirect(gw: Gateway) -> None:
    for path in ("/console/api/transactions/txn_01M8TT6E12M206WXBB62MQBCFM", "/console/api/reconciliation/runs/rec_1"):
        response = await gw.client.get(path)
        assert response.status_code == 401, path
        assert response.json()["sign_in"] == "/console/sign-in"


async def test_sign_out_revokes_the_token_ends_the_session_and_clears_the_cookie(gw: Gateway) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    await _sign_in(gw.client, client_id, secret)
    cookie_value = gw.client.cookies[SESSION]
    [row] = await _rows(gw)
    store = gw.app.state.console_sessions
    token = (await store.find(cookie_value)).access_token
    csrf = _csrf(await gw.client.get("/console/exceptions"))

    out = await gw.client.post("/console/sign-out", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/sign-in?reason=signed_out"
    assert "Max-Age=0" in _set_cookies(out)[SESSION]
    assert await _rows(gw) == []
    introspected = await gw.client.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    assert introspected.json()["active"] is False

    # The old cookie, replayed, is worth nothing.
    assert SESSION not in gw.client.cookies
    again = await gw.client.get("/console/exceptions", headers={"Cookie": f"{SESSION}={cookie_value}"})
    assert again.status_code == 303
    assert "You are signed out." in (await gw.client.get(out.headers["location"])).text
    assert row.id not in {r.id for r in await _rows(gw)}


async def test_the_session_renews_its_token_before_it_expires(tmp_path: Path) -> None:
    # Tokens live 60 s (the shortest allowed); renewing when under 59.5 s are left renews after ~1 s.
    async with running_gateway(tmp_path / "renew", token_ttl_seconds=60, console_token_renew_seconds=59) as gw:
        client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
        await _sign_in(gw.client, client_id, secret)
        store = gw.app.state.console_sessions
        cookie_value = gw.client.cookies[SESSION]
        first = await store.find(cookie_value)
        with movable_clock() as clock:
            clock.shift(1.2)
            assert (await gw.client.get("/console/exceptions")).status_code == 200
            renewed = await store.find(cookie_value)
            assert renewed.access_token != first.access_token
            assert renewed.token_expires_at > first.token_expires_at

            # A client disabled meanwhile cannot renew: the session ends and says why.
            await gw.app.state.client_admin.disable(client_id)
            clock.shift(1.2)
            ended = await gw.client.get("/console/exceptions")
        assert ended.status_code == 303
        assert ended.headers["location"].endswith("reason=refused")
        assert await store.find(cookie_value) is None


async def test_an_idle_session_ends(tmp_path: Path) -> None:
    async with running_gateway(tmp_path / "idle", console_session_idle_seconds=60) as gw:
        client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
        await _sign_in(gw.client, client_id, secret)
        # An hour later, as far as the row is concerned.
        async with gw.app.state.components.engine.begin() as connection:
            await connection.execute(console_sessions.update().values(expires_at=console_sessions.c.expires_at - 3600))
        response = await gw.client.get("/console/exceptions")
        assert response.status_code == 303
        assert await _rows(gw) == []


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/gateway/v1/clients"])
async def test_sign_in_never_redirects_outside_the_console(gw: Gateway, target: str) -> None:
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
    response = await _sign_in(gw.client, client_id, secret, next=target)
    assert response.headers["location"] == "/console"


async def test_over_https_the_cookie_is_secure_and_host_prefixed(tmp_path: Path) -> None:
    async with running_gateway(tmp_path / "https", public_url="https://gateway.example") as gw:
        client_id, secret = await gw.create_client(OPS_SCOPES, "internal")
        transport = httpx.ASGITransport(app=gw.app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="https://gateway.example") as browser:
            response = await _sign_in(browser, client_id, secret)
            assert response.status_code == 303
            assert (await browser.get("/console/exceptions")).status_code == 200  # the cookie comes back
        header = _set_cookies(response)[f"__Host-{SESSION}"]
        attributes = {part.strip().lower() for part in header.split(";")[1:]}
        assert {"httponly", "samesite=strict", "secure", "path=/"} <= attributes
        assert not any(a.startswith("domain") for a in attributes)


async def test_failed_sign_ins_from_one_address_do_not_lock_the_operator_out(gw: Gateway) -> None:
    """The console signs in through /oauth/token from the browser's address: a stranger guessing
    an operations client's secret is stopped at that address, the operator is not."""
    client_id, secret = await gw.create_client(OPS_SCOPES, "internal")

    def browser(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=gw.app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")

    async with browser("127.0.0.1") as stranger, browser("127.0.0.2") as operator:
        statuses = [(await _sign_in(stranger, client_id, f"guess-{attempt}")).status_code for attempt in range(12)]
        assert statuses == [401] * 10 + [429] * 2
        assert "Too many failed sign-ins" in (await _sign_in(stranger, client_id, secret)).text
        signed_in = await _sign_in(operator, client_id, secret)
        assert signed_in.status_code == 303 and SESSION in _set_cookies(signed_in)
