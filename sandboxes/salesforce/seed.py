"""Deterministic demo data: the same companies, people and deals for every run with a seed."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import TYPE_CHECKING

from faker import Faker

from sandboxes.salesforce.schema import OPPORTUNITY_BILLING_STATUSES, SOBJECTS, STAGES

if TYPE_CHECKING:
    from sandboxes.salesforce.store import Store

PRODUCTS = (
    ("STRATA-CORE", "Strata Core Platform", "Platform", 12000.0),
    ("STRATA-ERP-CONNECTOR", "ERP Connector", "Connectors", 2400.0),
    ("STRATA-CRM-CONNECTOR", "CRM Connector", "Connectors", 1800.0),
    ("STRATA-BILLING-CONNECTOR", "Billing Connector", "Connectors", 2100.0),
    ("STRATA-PREMIUM-SUPPORT", "Premium Support", "Services", 5000.0),
    ("STRATA-ONBOARDING", "Onboarding Package", "Services", 3500.0),
    ("STRATA-USAGE-1M", "API Calls (per million)", "Usage", 150.0),
)
"""(product code, name, family, list price)."""

# (Faker locale, ISO country, country name, currency, VAT id pattern, top-level domain)
LOCALES = (
    ("en_US", "US", "United States", "USD", "##-#######", "com"),
    ("de_DE", "DE", "Germany", "EUR", "DE#########", "de"),
    ("fr_FR", "FR", "France", "EUR", "FR###########", "fr"),
    ("en_GB", "GB", "United Kingdom", "GBP", "GB#########", "co.uk"),
    ("nl_NL", "NL", "Netherlands", "EUR", "NL#########B01", "nl"),
)
INDUSTRIES = ("Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Media", "Energy", "Education")
TITLES = ("CFO", "Controller", "Head of IT", "VP Sales", "Procurement Manager", "CTO", "Billing Specialist")
EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

ACCOUNTS = 56
OPPORTUNITIES = 130
PARTNER_ACCOUNTS = {
    2: "partner-northwind",
    5: "partner-northwind",
    9: "partner-northwind",
    3: "partner-contoso",
    7: "partner-contoso",
    12: "partner-contoso",
}
"""Seeded account number → the demo partner it is attributed to (``Partner_Id__c``); the
opportunities of those accounts are attributed to the same partner, every other record is
direct. Chosen by number, not drawn, so the random sequence (and every other seeded value)
is the same as before partners existed."""


def seed(store: Store, seed_value: int) -> None:
    """Fill ``store`` with products, accounts (with hierarchies), contacts and opportunities."""
    rng = random.Random(seed_value)
    fakers = {}
    for index, (locale, *_rest) in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed_value * 100 + index)
        fakers[locale] = fake

    def moment(days_from: int, days_to: int) -> dt.datetime:
        return EPOCH + dt.timedelta(days=rng.uniform(days_from, days_to))

    product_ids = {}
    for code, name, family, _price in PRODUCTS:
        product_ids[code] = store.create(
            SOBJECTS["Product2"],
            {"Name": name, "ProductCode": code, "Family": family, "IsActive": True, "Description": f"{name} ({code})"},
            stamp=EPOCH - dt.timedelta(days=400),
        )

    accounts: list[tuple[str, str]] = []  # (id, currency)
    partners: dict[str, str] = {}  # account id -> partner id
    domains: set[str] = set()
    for number in range(ACCOUNTS):
        locale, country, country_name, currency, vat, tld = LOCALES[rng.randrange(len(LOCALES))]
        fake = fakers[locale]
        company = fake.unique.company()
        slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:40] or f"company-{number}"
        domain = f"{slug}.{tld}"
        while domain in domains:
            domain = f"{slug}-{number}.{tld}"
        domains.add(domain)
        # The first 16 accounts are roots; later ones hang under an earlier account (up to 3 levels).
        parent = accounts[rng.randrange(min(len(accounts), 30))][0] if number >= 16 else None
        created = moment(-400, -60)
        values = {
            "Name": company,
            "ParentId": parent,
            "Type": "Customer" if rng.random() < 0.7 else "Prospect",
            "Industry": rng.choice(INDUSTRIES),
            "Website": f"https://www.{domain}",
            "Phone": fake.phone_number(),
            "BillingStreet": fake.street_address(),
            "BillingCity": fake.city(),
            "BillingState": fake.state() if country == "US" else None,
            "BillingPostalCode": fake.postcode(),
            "BillingCountry": country_name,
            "BillingCountryCode": country,
            "CurrencyIsoCode": currency,
            "Tax_Id__c": fake.numerify(vat),
            "Strata_Id__c": _ulid("cus_", rng) if rng.random() < 0.5 else None,
            "Billing_Status__c": rng.choice(("Prospect", "Active", "Active", "Active", "Past Due", "Suspended")),
            "Partner_Id__c": PARTNER_ACCOUNTS.get(number),
        }
        account_id = store.create(SOBJECTS["Account"], values, stamp=created)
        if number in PARTNER_ACCOUNTS:
            partners[account_id] = PARTNER_ACCOUNTS[number]
        accounts.append((account_id, currency))
        for _ in range(rng.randint(1, 3)):
            first, last = fake.first_name(), fake.last_name()
            store.create(
                SOBJECTS["Contact"],
                {
                    "AccountId": account_id,
                    "FirstName": first,
                    "LastName": last,
                    "Email": f"{_ascii(first)}.{_ascii(last)}@{domain}",
                    "Phone": fake.phone_number(),
                    "Title": rng.choice(TITLES),
                },
                stamp=created + dt.timedelta(days=rng.uniform(0, 30)),
            )

    for number in range(OPPORTUNITIES):
        account_id, currency = accounts[rng.randrange(len(accounts))]
        stage, probability = STAGES[number % len(STAGES)] if number < len(STAGES) else rng.choice(STAGES)
        created = moment(-300, -5)
        won = stage == "Closed Won"
        opportunity_id = store.create(
            SOBJECTS["Opportunity"],
            {
                "Name": f"Strata rollout {number + 1:03d}",
                "AccountId": account_id,
                "StageName": stage,
                "Probability": float(probability),
                "CloseDate": (created + dt.timedelta(days=rng.randint(20, 120))).date().isoformat(),
                "CurrencyIsoCode": currency,
                "Billing_Status__c": rng.choice(OPPORTUNITY_BILLING_STATUSES[:4]) if won else None,
                "Strata_Id__c": _ulid("opp_", rng),
                "Partner_Id__c": partners.get(account_id),
            },
            stamp=created,
        )
        total = 0.0
        for code, name, _family, price in rng.sample(PRODUCTS, rng.randint(1, 4)):
            quantity = float(rng.choice((1, 1, 2, 3, 5, 10)))
            unit_price = round(price * rng.choice((1.0, 0.9, 0.85)), 2)
            store.create(
                SOBJECTS["OpportunityLineItem"],
                {
                    "OpportunityId": opportunity_id,
                    "Product2Id": product_ids[code],
                    "ProductCode": code,
                    "Name": name,
                    "Description": name,
                    "Quantity": quantity,
                    "UnitPrice": unit_price,
                    "CurrencyIsoCode": currency,
                },
                stamp=created,
            )
            total += round(quantity * unit_price, 2)
        store.records["Opportunity"][opportunity_id]["Amount"] = round(total, 2)


def _ulid(prefix: str, rng: random.Random) -> str:
    return prefix + "01J" + "".join(rng.choice(CROCKFORD) for _ in range(23))


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower().translate(str.maketrans("äöüéèêëàçß", "aoueeeeacs"))) or "x"
