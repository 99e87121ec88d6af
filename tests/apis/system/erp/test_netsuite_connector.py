"""The NetSuite connector in NetSuite's own dialect, against the NetSuite sandbox in process.

What only NetSuite has: the JWT client assertion, ids from ``Location``, the async posting
with ``X-NetSuite-Idempotency-Key``, the per-account concurrency limit, ``o:errorDetails``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from joserfc import jwt

from apis.canonical import (
    DocumentLineInput,
    ErpCustomerUpsert,
    InvoiceCreate,
    JournalEntryCreate,
    JournalLine,
)
from apis.system.erp.connectors.netsuite import (
    NetSuiteConfig,
    NetSuiteConnector,
    NetSuiteCredentials,
    config_from_settings,
    idempotency_key,
    load_private_key,
)
from apis.system.kit.circuit_breaker import CircuitBreaker
from core.cursors import InvalidCursor
from core.errors import NotFound, PeriodClosed, UpstreamRateLimited, UpstreamRejected
from gateway.settings import SettingsError, load_settings
from sandboxes.faults import FaultRule
from sandboxes.netsuite import KeyPair, NetSuiteSandbox, create_netsuite_sandbox, generate_key_pair
from sandboxes.netsuite.schema import RECORD_TYPES
from tests.apis.system.erp.conftest import ERP, FAST_SETTINGS, Erp, canonical_data, invoice_body
from tests.support.harness import problem, running_gateway
from tests.support.procs import SandboxesProcess

BASE = "http://netsuite.sandbox"
FAST = NetSuiteConfig(timeout_seconds=2.0, max_retries=5, backoff_base_seconds=0.001, backoff_max_seconds=1.0)
DAY = dt.date(2026, 3, 10)


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair("cert-es256", "ES256")


@pytest.fixture
def sandbox(pair: KeyPair) -> NetSuiteSandbox:
    return create_netsuite_sandbox(client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem})


def _connector(sandbox: NetSuiteSandbox, pair: KeyPair, config: NetSuiteConfig = FAST) -> NetSuiteConnector:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    credentials = NetSuiteCredentials("strata-sandbox", pair.certificate_id, pair.private_key, pair.algorithm)
    return NetSuiteConnector(client, BASE, credentials, config, CircuitBreaker("netsuite"))


@pytest.fixture
async def connector(sandbox: NetSuiteSandbox, pair: KeyPair) -> AsyncIterator[NetSuiteConnector]:
    connector = _connector(sandbox, pair)
    yield connector
    await connector.aclose()


def _invoice(customer_id: str, external_id: str, **extra: object) -> InvoiceCreate:
    line = DocumentLineInput(item_id="105", quantity="3", unit_price="100.00")
    return InvoiceCreate(
        external_id=external_id, customer_id=customer_id, date=DAY, currency="USD", lines=[line], **extra
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["PS256", "ES256"])
async def test_the_client_assertion_is_a_signed_jwt_naming_the_certificate(algorithm: str) -> None:
    pair = generate_key_pair(f"cert-{algorithm.lower()}", algorithm)
    sandbox = create_netsuite_sandbox(client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem})
    connector = _connector(sandbox, pair)
    assertion = connector.client_assertion()
    token = jwt.decode(assertion, pair.private_key, algorithms=[pair.algorithm])
    assert token.header == {"alg": pair.algorithm, "typ": "JWT", "kid": pair.certificate_id}
    claims = token.claims
    assert claims["iss"] == "strata-sandbox" and claims["scope"] == "rest_webservices"
    assert claims["aud"] == f"{BASE}/services/rest/auth/oauth2/v1/token"
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert await connector.list_legal_entities()  # the sandbox's token endpoint accepts it
    await connector.aclose()


async def test_the_token_is_fetched_once_and_refreshed_when_netsuite_forgets_it(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    token_route = "POST /services/rest/auth/oauth2/v1/token"
    for _ in range(3):
        await connector.list_legal_entities()
    assert sandbox.faults.requests[token_route] == 1
    sandbox.tokens.expire_all()
    assert await connector.list_legal_entities()
    assert sandbox.faults.requests[token_route] == 2


@pytest.mark.parametrize("as_string", [True, False], ids=["expires_in-string", "expires_in-number"])
async def test_expires_in_is_read_as_a_string_or_a_number(pair: KeyPair, as_string: bool) -> None:
    """Whether Oracle sends ``"3600"`` or ``3600`` is unverified: both are a token that lives an hour."""
    sandbox = create_netsuite_sandbox(
        client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem}, expires_in_as_string=as_string
    )
    connector = _connector(sandbox, pair)
    token = await connector._tokens.current()
    assert token.expires_in == 3600
    assert await connector.list_legal_entities()
    await connector.aclose()


async def test_a_pending_job_is_polled_then_its_record_found_by_external_id(pair: KeyPair) -> None:
    """The job stays pending for a few polls; its result names no record, so the connector reads the
    posting by ``eid:<externalId>`` (the job → task → result walk Oracle documents)."""
    sandbox = create_netsuite_sandbox(
        client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem}, job_pending_polls=3
    )
    connector = _connector(sandbox, pair)
    customer, _ = await connector.upsert_customer("cus_pending", ErpCustomerUpsert(name="Pending Job Ltd"))
    invoice, created = await connector.create_invoice(_invoice(customer.id, "inv-pending"))
    assert created and invoice.external_id == "inv-pending" and invoice.total.amount == "300.00"
    requests = sandbox.faults.requests
    job_reads = {route: n for route, n in requests.items() if route.startswith("GET /services/rest/async/v1/job/")}
    assert sorted(job_reads.values()) == [1, 1, 1, 4]  # the job 4 times (3 pending), tasks, task, result once
    assert requests["GET /services/rest/record/v1/invoice/eid:inv-pending"] == 1
    await connector.aclose()


async def test_an_unknown_certificate_is_refused_clearly(sandbox: NetSuiteSandbox) -> None:
    stranger = generate_key_pair("cert-unknown", "ES256")
    connector = _connector(sandbox, stranger)
    with pytest.raises(UpstreamRejected, match="unknown certificate id") as caught:
        await connector.list_legal_entities()
    assert caught.value.vendor_code == "invalid_client"
    await connector.aclose()


async def test_a_customer_upsert_reads_the_id_from_location_and_uses_eid(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    customer, created = await connector.upsert_customer("cus_location", ErpCustomerUpsert(name="Location Co"))
    assert created and customer.external_id == "cus_location"
    assert sandbox.faults.requests["PUT /services/rest/record/v1/customer/eid:cus_location"] == 1
    record = sandbox.store.by_external_id(RECORD_TYPES["customer"], "cus_location")
    assert record is not None and record["id"] == customer.id


async def test_a_lost_posting_answer_is_recovered_from_the_original_job(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    customer, _ = await connector.upsert_customer("cus_lost", ErpCustomerUpsert(name="Lost Answer Ltd"))
    sandbox.faults.add(
        FaultRule(
            kind="lost_response", status=502, method="POST", path_prefix="/services/rest/record/v1/invoice", count=1
        )
    )
    invoice, created = await connector.create_invoice(_invoice(customer.id, "inv-lost"))
    assert created and invoice.external_id == "inv-lost" and invoice.total.amount == "300.00"
    assert sandbox.store.writes["invoice"] == 1
    assert sandbox.faults.requests["POST /services/rest/record/v1/invoice"] == 2  # the retry met IDEMPOTENCY_ERROR
    again, created_again = await connector.create_invoice(_invoice(customer.id, "inv-lost"))
    assert (again.id, created_again) == (invoice.id, False)
    corrected, created_corrected = await connector.create_invoice(_invoice(customer.id, "inv-lost", memo="changed"))
    assert (corrected.id, created_corrected) == (invoice.id, False)  # DUP_RCRD → read by eid:, nothing rewritten
    assert sandbox.store.writes["invoice"] == 1


async def test_postings_carry_prefer_async_and_a_stable_idempotency_key(
    connector: NetSuiteConnector, sandbox: NetSuiteSandbox
) -> None:
    seen: list[httpx.Request] = []
    original = connector._client.send

    async def spy(request: httpx.Request, **kwargs: object) -> httpx.Response:
        seen.append(request)
        return await original(request, **kwargs)  # type: ignore[arg-type]

    connector._client.send = spy  # type: ignore[method-assign]
    customer, _ = await connector.upsert_customer("cus_keys", ErpCustomerUpsert(name="Keys Inc", currency="USD"))
    entry = JournalEntryCreate(
        external_id="je-keys",
        legal_entity_id=customer.legal_entity_id or "102",
        date=DAY,
        currency="USD",
        lines=[JournalLine(account="1200", debit="5"), JournalLine(account="4000", credit="5")],
    )
    await connector.create_journal_entry(entry)
    post = next(r for r in seen if r.method == "POST" and r.url.path.endswith("/record/v1/journalEntry"))
    assert post.headers["prefer"] == "respond-async"
    key = post.headers["x-netsuite-idempotency-key"]
    assert key == idempotency_key(
        "journalEntry", "/record/v1/journalEntry", "je-keys", msgspec.json.decode(post.content)
    )
    assert len(key) == 36  # a UUID


async def test_the_concurrency_cap_keeps_the_account_under_its_limit(sandbox: NetSuiteSandbox, pair: KeyPair) -> None:
    sandbox.faults.add(FaultRule(kind="latency", latency_seconds=0.01, path_prefix="/services/rest/record/"))
    capped = _connector(sandbox, pair, NetSuiteConfig(**{**_fields(FAST), "max_concurrency": 4}))
    await asyncio.gather(*(capped.get_customer("112") for _ in range(40)))
    assert sandbox.concurrency_refused == 0 and capped.max_in_flight_seen == 4
    await capped.aclose()
    greedy = _connector(sandbox, pair, NetSuiteConfig(**{**_fields(FAST), "max_concurrency": 12}))
    results = await asyncio.gather(*(greedy.get_customer("112") for _ in range(40)), return_exceptions=True)
    assert sandbox.concurrency_refused > 0  # over the account's limit NetSuite answers 429 ...
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, UpstreamRateLimited) for f in failures)  # ... which is retried, then a 503
    await greedy.aclose()


def _fields(config: NetSuiteConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in config.__struct_fields__}


async def test_error_details_map_onto_our_errors(connector: NetSuiteConnector, sandbox: NetSuiteSandbox) -> None:
    with pytest.raises(NotFound):
        await connector.get_invoice("424242")
    with pytest.raises(NotFound):
        await connector.get_invoice("eid:x")  # never reaches a URL
    with pytest.raises(UpstreamRejected, match=r"field /customer_id") as rejected:
        await connector.create_invoice(_invoice("999999", "inv-no-customer"))
    assert rejected.value.vendor_code == "INVALID_CONTENT"
    customer, _ = await connector.upsert_customer("cus_errors", ErpCustomerUpsert(name="Errors plc"))
    bad_item = InvoiceCreate(
        external_id="inv-bad-item",
        customer_id=customer.id,
        date=DAY,
        currency="USD",
        lines=[DocumentLineInput(item_id="999998", quantity="1", unit_price="1")],
    )
    with pytest.raises(UpstreamRejected, match=r"field /lines/0/item_id"):
        await connector.create_invoice(bad_item)
    with pytest.raises(PeriodClosed) as closed:
        await connector.create_invoice(
            InvoiceCreate(**{**_fields_of(_invoice(customer.id, "inv-2024")), "date": dt.date(2024, 5, 5)})
        )
    assert closed.value.vendor_code == "CLOSED_TRAN_PRD"


def _fields_of(struct: object) -> dict[str, object]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}  # type: ignore[attr-defined]


async def test_suiteql_lookups_follow_next_links_to_the_last_page(connector: NetSuiteConnector) -> None:
    rows = await connector.suiteql_all("SELECT id FROM accountingperiod")
    first, more = await connector.suiteql_page("SELECT id FROM accountingperiod", 10, 0)
    assert len(rows) == 48 and len(first) == 10 and more
    # Paging through the connector's own cursor visits every customer once.
    seen: list[str] = []
    cursor = None
    while True:
        page = await connector.search_customers(
            name_prefix=None, tax_id=None, external_id=None, limit=7, position=cursor
        )
        seen.extend(c.id for c in page.items)
        if page.next_position is None:
            break
        cursor = page.next_position
    assert len(seen) == len(set(seen)) == len(await connector.suiteql_all("SELECT id FROM customer"))
    await connector.upsert_customer("cus_quote", ErpCustomerUpsert(name="O'Brien & 100% Sons"))
    quoted = await connector.search_customers(
        name_prefix="O'Brien & 100%", tax_id=None, external_id=None, limit=5, position=None
    )
    assert [c.external_id for c in quoted.items] == ["cus_quote"]  # quotes doubled, the wildcard taken literally
    none = await connector.search_customers(
        name_prefix="O'Brien & 1000", tax_id=None, external_id=None, limit=5, position=None
    )
    assert none.items == []


async def test_a_list_position_keeps_its_limit_so_offsets_stay_aligned(connector: NetSuiteConnector) -> None:
    """A later page is read with the limit the list started with, even when the caller asks another
    (NetSuite refuses an offset that is not a multiple of the limit); forged positions never reach it."""
    search = connector.search_customers
    first = await search(name_prefix=None, tax_id=None, external_id=None, limit=2, position=None)
    assert first.next_position is not None
    second = await search(name_prefix=None, tax_id=None, external_id=None, limit=5, position=first.next_position)
    third = await search(name_prefix=None, tax_id=None, external_id=None, limit=5, position=second.next_position)
    everyone = await search(name_prefix=None, tax_id=None, external_id=None, limit=6, position=None)
    assert [c.id for c in first.items + second.items + third.items] == [c.id for c in everyone.items]
    as_cursor_carries_it = msgspec.json.decode(msgspec.json.encode(second.next_position))
    again = await search(name_prefix=None, tax_id=None, external_id=None, limit=5, position=as_cursor_carries_it)
    assert [c.id for c in again.items] == [c.id for c in third.items]  # what a signed cursor hands back
    for forged in ([3, 2], [100_000, 1000], [0, 0], [0, 5000], 7):
        with pytest.raises(InvalidCursor):
            await search(name_prefix=None, tax_id=None, external_id=None, limit=5, position=forged)


async def test_a_period_closed_after_the_lookup_is_still_a_409_through_the_api(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, erp_vendor="netsuite", **FAST_SETTINGS["netsuite"]) as gw:
        reader = await gw.bearer("system:erp:read", tier="internal")
        writer = await gw.bearer("system:erp:read system:erp:write", tier="internal")
        erp = Erp(gw, "netsuite", reader, writer)
        data = await canonical_data(erp)  # the service's period lookup now says "open"
        sandbox: NetSuiteSandbox = gw.app.state.components.sandbox_apps["netsuite"]
        period = sandbox.store.period_of(data.open_day.isoformat())
        assert period is not None and not period["closed"]
        period["closed"] = True  # an accountant closes the month in NetSuite meanwhile
        response = await erp.post("/invoices", invoice_body(data, "inv-closed-meanwhile"))
        assert response.status_code == 409
        body = problem(response)
        assert body["type"].endswith("/period-closed") and "closed accounting period" in body["detail"]
        assert sandbox.store.by_external_id(RECORD_TYPES["invoice"], "inv-closed-meanwhile") is None


async def test_the_embedded_default_uploads_a_generated_certificate(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, erp_vendor="netsuite", netsuite_signing_algorithm="ES256") as gw:
        headers = await gw.bearer("system:erp:read", tier="internal")
        response = await gw.client.get(f"{ERP}/legal-entities", headers=headers)
        assert response.status_code == 200, response.text
        assert gw.app.state.erp.vendor == "netsuite"


def test_a_real_account_needs_a_certificate_and_a_readable_key(tmp_path: Path) -> None:
    pair = generate_key_pair("cert-file", "PS256")
    key_file = tmp_path / "netsuite.pem"
    key_file.write_bytes(pair.private_key.as_pem(private=True))
    settings = load_settings({"netsuite_private_key_file": str(key_file)}, environ={})
    key = load_private_key(settings.netsuite)
    assert key is not None and key.as_pem(private=False) == pair.public_pem
    junk = load_settings({"netsuite_private_key": "-----BEGIN NOTHING-----"}, environ={})
    with pytest.raises(SettingsError) as refused:
        load_private_key(junk.netsuite)
    assert "NOTHING" not in str(refused.value)
    assert load_private_key(load_settings({}, environ={}).netsuite) is None

    lists = tmp_path / "lists.json"
    lists.write_text('{"currencies": {"EUR": "7"}, "accounts": {"4000": "54"}, "base_currency": "EUR"}')
    config = config_from_settings(load_settings({"netsuite_lists_file": str(lists)}, environ={}).netsuite)
    assert config.lists.currency_id("EUR") == "7" and config.lists.account_id("4000", "/x") == "54"
    lists.write_text('{"currency": {"EUR": "7"}}')
    with pytest.raises(SettingsError, match="netsuite_lists_file"):
        config_from_settings(load_settings({"netsuite_lists_file": str(lists)}, environ={}).netsuite)


async def test_pointing_at_an_account_url_is_configuration(tmp_path: Path) -> None:
    """``STRATA_NETSUITE_URL``: the connector speaks HTTP to that URL; the gateway mounts no sandbox.

    The "account" is the NetSuite sandbox of ``strata sandboxes serve``: once with a configured key
    whose certificate an administrator uploaded, once with none (a key is generated and uploaded).
    """
    sandboxes = SandboxesProcess(tmp_path / "vendors").start()
    try:
        url = f"{sandboxes.url}/sandbox/netsuite"
        pair = generate_key_pair("cert-admin-upload", "ES256")
        client_id = sandboxes.credentials("netsuite")["client_id"]
        admin = {"client_id": client_id, "certificate_id": pair.certificate_id,
                 "public_key_pem": pair.public_pem.decode()}  # fmt: skip
        async with httpx.AsyncClient() as plain:
            control = f"{url}/_control/certificates"
            assert (await plain.post(control, json=admin)).status_code == 401  # the admin token is asked for
            upload = await plain.post(control, json=admin, headers=sandboxes.admin_headers("netsuite"))
            assert upload.status_code == 201
        configured = {
            "netsuite_client_id": client_id,
            "netsuite_certificate_id": pair.certificate_id,
            "netsuite_private_key": pair.private_key.as_pem(private=True).decode(),
            "netsuite_signing_algorithm": "ES256",
        }
        # Without a key, the root generates one and uploads it with the credentials file's admin token.
        generated = {"netsuite_signing_algorithm": "ES256", "sandbox_credentials_file": str(sandboxes.credentials_file)}
        for number, settings in enumerate((configured, generated)):
            async with running_gateway(
                tmp_path / f"gw{number}", erp_vendor="netsuite", netsuite_url=url, **settings
            ) as gw:
                assert "netsuite" not in gw.app.state.components.sandbox_apps
                headers = await gw.bearer("system:erp:read", tier="internal")
                response = await gw.client.get(f"{ERP}/legal-entities", headers=headers)
                assert response.status_code == 200, response.text
                assert {e["currency"] for e in response.json()["items"]} >= {"EUR", "USD"}
    finally:
        sandboxes.stop()
    with pytest.raises(BaseException) as refused:  # the lifespan's task group wraps the SettingsError
        async with running_gateway(tmp_path / "gw-down", erp_vendor="netsuite", netsuite_url=sandboxes.url):
            pass
    error: BaseException = refused.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, SettingsError) and "netsuite_certificate_id are required" in str(error)
