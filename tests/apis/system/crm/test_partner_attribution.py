"""Partner attribution in the CRM: ``Partner_Id__c`` on Account and Opportunity, end to end.

The seed attributes a few accounts (and their deals) to two demo partners; the service lists
by partner, finds a company by its web domain with its open deals, and creates attributed
opportunities and contacts by external id (a retry makes no second record).
"""

from __future__ import annotations

import datetime as dt

from apis.canonical import ContactUpsert, CustomerUpsert, Money, OpportunityCreate
from apis.system.crm.service import CrmService
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.salesforce.seed import PARTNER_ACCOUNTS

NORTHWIND, CONTOSO = "partner-northwind", "partner-contoso"


def _attributed(sandbox: SalesforceSandbox, sobject: str, partner: str) -> list[str]:
    return sorted(r["Id"] for r in sandbox.store.all(sobject) if r.get("Partner_Id__c") == partner)


async def test_the_seed_attributes_some_accounts_and_their_deals(sandbox: SalesforceSandbox) -> None:
    accounts = sandbox.store.all("Account")
    for partner in (NORTHWIND, CONTOSO):
        owned = _attributed(sandbox, "Account", partner)
        assert len(owned) == list(PARTNER_ACCOUNTS.values()).count(partner)
        deals = [o for o in sandbox.store.all("Opportunity") if o["AccountId"] in owned]
        assert all(o["Partner_Id__c"] == partner for o in deals)
    direct = [a for a in accounts if not a.get("Partner_Id__c")]
    assert len(direct) == len(accounts) - len(PARTNER_ACCOUNTS)
    # Deals of direct accounts stay direct.
    direct_ids = {a["Id"] for a in direct}
    assert all(not o.get("Partner_Id__c") for o in sandbox.store.all("Opportunity") if o["AccountId"] in direct_ids)


async def test_list_by_partner_pages_only_that_partners_records(
    sandbox: SalesforceSandbox, service: CrmService
) -> None:
    seen, cursor = [], None
    while True:
        page = await service.list_accounts(partner_id=NORTHWIND, limit=2, position=cursor)
        assert all(c.partner_id == NORTHWIND for c in page.items)
        seen += [c.id for c in page.items]
        if (cursor := page.next_position) is None:
            break
    assert seen == _attributed(sandbox, "Account", NORTHWIND)
    deals = await service.list_opportunities(partner_id=CONTOSO, limit=200)
    assert [o.id for o in deals.items] == _attributed(sandbox, "Opportunity", CONTOSO)
    assert (await service.list_accounts(partner_id="partner-nobody")).items == []
    direct = next(a for a in sandbox.store.all("Account") if not a.get("Partner_Id__c"))
    assert (await service.get_account(direct["Id"])).partner_id is None


async def test_open_deals_are_found_by_exact_domain(sandbox: SalesforceSandbox, service: CrmService) -> None:
    account = next(a for a in sandbox.store.all("Account") if a.get("Partner_Id__c") == CONTOSO)
    domain = account["Website"].split("://", 1)[1].removeprefix("www.")
    accounts, open_deals = await service.open_opportunities_by_domain(domain.upper())
    assert [a.id for a in accounts] == [account["Id"]]
    expected = sorted(
        o["Id"]
        for o in sandbox.store.all("Opportunity")
        if o["AccountId"] == account["Id"] and not o["StageName"].startswith("Closed")
    )
    assert [o.id for o in open_deals] == expected
    assert all(o.stage not in ("closed_won", "closed_lost") for o in open_deals)
    # A domain that only contains another one is not that company.
    assert await service.open_opportunities_by_domain(domain[1:]) == ([], [])
    assert await service.open_opportunities_by_domain("sub." + domain) == ([], [])


async def test_create_attributed_opportunity_and_contact_once(sandbox: SalesforceSandbox, service: CrmService) -> None:
    customer, _ = await service.upsert_account_by_external_id(
        "cus_01JPARTNERTEST", CustomerUpsert(name="Fabrikam Ltd", domain="fabrikam.example", partner_id=NORTHWIND)
    )
    assert customer.partner_id == NORTHWIND and customer.domain == "fabrikam.example"
    create = OpportunityCreate(
        name="Fabrikam rollout",
        account_id=customer.id,
        close_date=dt.date(2027, 3, 31),
        amount=Money(amount="48000.00", currency="EUR"),
        description="Product: STRATA-CORE",
        partner_id=NORTHWIND,
    )
    deal, created = await service.create_opportunity("opp_01JPARTNERTEST", create)
    again, created_again = await service.create_opportunity("opp_01JPARTNERTEST", create)
    assert created and not created_again and again.id == deal.id
    assert deal.partner_id == NORTHWIND and deal.stage == "prospecting"
    assert deal.amount == Money(amount="48000.00", currency="EUR")
    assert deal.description == "Product: STRATA-CORE"
    assert [o.id for o in (await service.open_opportunities_by_domain("fabrikam.example"))[1]] == [deal.id]
    contact, _ = await service.upsert_contact_by_external_id(
        "con_01JPARTNERTEST", ContactUpsert(account_id=customer.id, last_name="Lee", email="lee@fabrikam.example")
    )
    again_contact, made = await service.upsert_contact_by_external_id(
        "con_01JPARTNERTEST", ContactUpsert(account_id=customer.id, last_name="Lee", email="lee@fabrikam.example")
    )
    assert not made and again_contact.id == contact.id and contact.account_id == customer.id

    # An upsert without partner_id (a sync) leaves the attribution alone.
    synced, _ = await service.upsert_account_by_external_id("cus_01JPARTNERTEST", CustomerUpsert(name="Fabrikam"))
    assert synced.partner_id == NORTHWIND and synced.name == "Fabrikam"
