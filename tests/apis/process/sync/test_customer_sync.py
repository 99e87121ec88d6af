"""Customer-sync in process: matching before creating, field ownership, idempotent re-runs, exceptions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from apis.canonical import ErpCustomerUpsert
from apis.process.customer_sync.matching import normalise_domain, normalise_name
from apis.process.customer_sync.schedule import NAME, customer_sync_schedule, slot_key
from apis.process.schedules import schedule_names
from tests.apis.process.sync.conftest import Sync, events, findings, unique
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")
RUNS = "/process/customer-sync/v1/runs"
_TAX_IDS = itertools.count(1)


def tax_id() -> str:
    return f"US-TX-{next(_TAX_IDS):06d}-{id(_TAX_IDS) % 9973}"


async def erp_customers(sync: Sync, **search: str) -> list[Any]:
    return list((await sync.state.erp.search_customers(limit=50, **search)).items)


async def billing_customers(sync: Sync, account_id: str) -> list[dict[str, Any]]:
    found = await sync.state.billing.connector.get(
        "/v1/customers/search", {"query": f"metadata['crm_account_id']:'{account_id}'", "limit": 100}
    )
    return list(found["data"])


async def legacy_erp_customer(sync: Sync, name: str, **fields: Any) -> Any:
    """An ERP customer entered by hand before any sync (its own external id, not the CRM's)."""
    customer, created = await sync.state.erp.upsert_customer(
        f"LEGACY-{unique('x').split()[-1]}", ErpCustomerUpsert(name=name, currency="USD", **fields)
    )
    assert created
    return customer


async def test_the_normaliser_folds_case_punctuation_and_legal_suffixes() -> None:
    assert normalise_name("ACME Widgets, GmbH & Co. KG") == "acme widgets"
    assert normalise_name("Acme Widgets B.V.") == normalise_name("acme widgets inc.") == "acme widgets"
    assert normalise_name("Société Générale S.A.") == "societe generale"
    assert normalise_name("Acme Logistics Ltd") != normalise_name("Acme Widgets Ltd")
    assert normalise_name("Inc") == "inc"  # a name that is only a suffix stays a name
    assert normalise_domain("https://www.Acme.com/about") == "acme.com"


async def test_a_new_account_is_created_in_erp_and_billing_linked_and_a_rerun_creates_nothing(sync: Sync) -> None:
    name = unique("Fresh Sync Corp")
    account_id = await sync.account(name)
    done = await sync.run(RUNS, {"account_id": account_id})
    assert done["state"] == "completed", done
    assert done["customer_id"] == account_id
    assert [s["name"] for s in done["steps"]] == [
        "read_request",
        "read_account",
        "match_erp_customer",
        "sync_erp_customer",
        "sync_billing_customer",
        "complete",
    ]
    [erp] = await erp_customers(sync, external_id=account_id)
    [billing] = await billing_customers(sync, account_id)
    assert erp.name == billing["name"] == name
    [synced] = await events(sync, done["id"])
    assert synced["type"] == "strata.customer.synced"
    assert synced["matched_by"] == "none"
    assert set(synced["created"]) == {"netsuite", "stripe"}
    assert (synced["erp_customer_id"], synced["billing_customer_id"]) == (erp.id, billing["id"])
    links = await sync.state.process.xref.links("customer", synced["customer_id"])
    assert links == {"salesforce": account_id, "netsuite": erp.id, "stripe": billing["id"]}

    again = await sync.run(RUNS, {"account_id": account_id})
    assert again["state"] == "completed" and again["id"] != done["id"]
    [resynced] = await events(sync, again["id"])
    assert resynced["matched_by"] == "xref" and resynced["created"] == [] and resynced["updated"] == []
    assert resynced["customer_id"] == synced["customer_id"]
    assert len(await erp_customers(sync, external_id=account_id)) == 1
    assert len(await billing_customers(sync, account_id)) == 1


async def test_an_erp_customer_with_the_tax_id_is_matched_and_keeps_its_legal_entity_and_terms(sync: Sync) -> None:
    vat = tax_id()
    entities = await sync.state.erp.list_legal_entities()
    eur_entity = next(e for e in entities if e.currency == "EUR")
    legacy = await legacy_erp_customer(
        sync, unique("Old Books Name"), tax_id=vat, legal_entity_id=eur_entity.id, payment_terms="net_60"
    )
    name = unique("Taxmatch Industries")
    account_id = await sync.account(name, fields={"tax_id": vat})  # a USD account in the CRM
    done = await sync.run(RUNS, {"account_id": account_id})
    assert done["state"] == "completed", done
    [synced] = await events(sync, done["id"])
    assert synced["matched_by"] == "tax_id"
    assert synced["erp_customer_id"] == legacy.id
    assert synced["created"] == ["stripe"]
    assert "netsuite.name" in synced["updated"]

    after = await sync.state.erp.get_customer(legacy.id)
    assert after.name == name  # the CRM owns the name
    assert after.legal_entity_id == eur_entity.id  # the ERP owns the legal entity ...
    assert after.payment_terms == "net_60"  # ... and the credit terms
    assert after.currency == legacy.currency
    assert await erp_customers(sync, external_id=account_id) == []  # no second ERP customer
    conflicts = await findings(sync, done["id"], "ownership_conflict")
    assert synced["conflicts"] == len(conflicts) >= 1
    assert any("legal_entity" in c and eur_entity.id in c for c in conflicts)


async def test_a_normalised_name_matches_across_case_punctuation_and_legal_suffix(sync: Sync) -> None:
    stem = unique("Normalia Widgets")
    legacy = await legacy_erp_customer(sync, f"{stem.upper()}, GmbH", domain="normalia.example")
    account_id = await sync.account(f"{stem} Inc.", fields={"website": "https://www.normalia.example/"})
    done = await sync.run(RUNS, {"account_id": account_id})
    assert done["state"] == "completed", done
    [synced] = await events(sync, done["id"])
    assert (synced["matched_by"], synced["erp_customer_id"]) == ("name_domain", legacy.id)
    assert await erp_customers(sync, external_id=account_id) == []


async def test_a_name_with_another_domain_is_not_a_match(sync: Sync) -> None:
    stem = unique("Homonym Labs")
    await legacy_erp_customer(sync, stem, domain="homonym-one.example")
    account_id = await sync.account(stem, fields={"website": "https://homonym-two.example"})
    done = await sync.run(RUNS, {"account_id": account_id})
    [synced] = await events(sync, done["id"])
    assert synced["matched_by"] == "none"
    assert len(await erp_customers(sync, external_id=account_id)) == 1


async def test_two_erp_candidates_stop_the_sync_as_ambiguous_and_nothing_is_written(sync: Sync) -> None:
    vat = tax_id()
    first = await legacy_erp_customer(sync, unique("Twin A"), tax_id=vat)
    second = await legacy_erp_customer(sync, unique("Twin B"), tax_id=vat)
    account_id = await sync.account(unique("Ambiguous Holdings"), fields={"tax_id": vat})
    stopped = await sync.run(RUNS, {"account_id": account_id})
    assert stopped["state"] == "needs_attention", stopped
    exception = stopped["exception"]
    assert exception["reason_code"] == "ambiguous_match"
    assert exception["failed_step"] == "match_erp_customer"
    assert exception["owner_system"] == "netsuite"
    assert first.id in exception["reason"] and second.id in exception["reason"]
    assert (await sync.state.erp.get_customer(first.id)).name == first.name
    assert (await sync.state.erp.get_customer(second.id)).name == second.name
    assert await billing_customers(sync, account_id) == []
    assert [e["type"] for e in await events(sync, stopped["id"])] == ["strata.transaction.needs_attention"]


async def test_an_unknown_account_needs_attention_from_the_crm(sync: Sync) -> None:
    stopped = await sync.run(RUNS, {"account_id": "001000000000000AAA"})
    assert stopped["state"] == "needs_attention"
    assert stopped["exception"]["reason_code"] == "unknown_account"
    assert stopped["exception"]["owner_system"] == "salesforce"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/account_id"),
        ({"all": False}, "/all"),
        ({"account_id": "001000000000000AAA", "all": True}, "/all"),
        ({"account_id": "not an id"}, "/account_id"),
        ({"account": "001000000000000AAA"}, ""),
    ],
)
async def test_bad_requests_are_problems_naming_the_field(sync: Sync, body: dict[str, Any], pointer: str) -> None:
    response = await sync.gw.client.post(RUNS, json=body, headers=sync.writer)
    assert response.status_code in (400, 422), response.text
    found = problem(response)
    assert found["status"] == response.status_code
    if pointer:
        assert [e.get("pointer") for e in found["errors"]] == [pointer]


async def test_starting_a_sync_needs_the_write_scope(sync: Sync) -> None:
    response = await sync.gw.client.post(RUNS, json={"all": True}, headers=sync.reader)
    assert response.status_code == 403
    assert problem(response)["status"] == 403


async def test_the_schedule_slot_is_one_run_per_interval() -> None:
    assert slot_key(0, 15) == slot_key(899, 15) == "all:schedule:0"
    assert slot_key(900, 15) == "all:schedule:1"


async def test_the_schedule_is_off_by_default(sync: Sync) -> None:
    assert sync.state.process.settings.customer_sync_interval_minutes == 0
    assert customer_sync_schedule(sync.state.process.settings) is None
    assert NAME not in await schedule_names()  # the engine holds no schedule to fire


async def test_every_account_in_one_run_links_each_and_reports_the_ambiguous(sync: Sync) -> None:
    vat = tax_id()
    await legacy_erp_customer(sync, unique("Bulk Twin A"), tax_id=vat)
    await legacy_erp_customer(sync, unique("Bulk Twin B"), tax_id=vat)
    ambiguous = await sync.account(unique("Bulk Ambiguous"), fields={"tax_id": vat})
    fresh = await sync.account(unique("Bulk Fresh"))
    done = await sync.run(RUNS, {"all": True}, within=30)
    assert done["state"] == "completed", done
    synced = {e["crm_account_id"]: e for e in await events(sync, done["id"])}
    accounts = (await sync.state.crm.list_accounts(limit=200)).items
    reported = {
        d.split(":")[0].removeprefix("CRM account ") for d in await findings(sync, done["id"], "ambiguous_match")
    }
    assert ambiguous in reported  # (an earlier test's ambiguous account is still ambiguous, too)
    assert set(synced) == {a.id for a in accounts} - reported
    assert synced[fresh]["matched_by"] == "none"
    for account_id, event in synced.items():
        links = await sync.state.process.xref.links("customer", event["customer_id"])
        assert links["salesforce"] == account_id and links["stripe"] == event["billing_customer_id"]
