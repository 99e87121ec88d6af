"""The AvaTax account's companies: one per legal entity, the same three as the NetSuite sandbox.

:data:`sandboxes.netsuite.seed.SUBSIDIARIES` names the legal entities (Strata Inc. in the US,
Strata GmbH in Germany, Strata Ltd in the UK); each is an AvaTax company with a company code,
an origin address in its country and its currency. The Salesforce seed's customers are in the
US, DE, FR, GB and NL, so every seeded customer address is taxable from at least one company:
US customers from STRATA-US (in the states of :data:`sandboxes.avalara.rates.US_STATES`),
European ones from STRATA-DE or STRATA-GB (domestic VAT, reverse charge, or OSS VAT).
"""

from __future__ import annotations

from typing import Any

from sandboxes.netsuite.seed import SUBSIDIARIES

ACCOUNT_ID = "1100000000"
"""The seeded account's id (the user name of Basic auth when the sandbox is given no other; an
account number, not a secret). The license key is handed in, or drawn at random."""

COMPANY_CODES = {"US": "STRATA-US", "DE": "STRATA-DE", "GB": "STRATA-GB"}
"""Company code of each legal entity, by its country."""
DEFAULT_COMPANY = "STRATA-US"
"""The account's default company (``companyCode`` omitted or ``DEFAULT``)."""

ORIGINS = {
    "US": {"line1": "255 S King St", "city": "Seattle", "region": "WA", "postalCode": "98104", "country": "US"},
    "DE": {"line1": "Friedrichstraße 68", "city": "Berlin", "region": "BE", "postalCode": "10117", "country": "DE"},
    "GB": {"line1": "1 Poultry", "city": "London", "region": "LND", "postalCode": "EC2R 8EJ", "country": "GB"},
}
"""Each company's default origin (ship-from) address."""


def companies() -> dict[str, dict[str, Any]]:
    """Company code → company, in the order of the NetSuite subsidiaries."""
    result: dict[str, dict[str, Any]] = {}
    for number, (name, currency, country) in enumerate(SUBSIDIARIES, start=1):
        code = COMPANY_CODES[country]
        result[code] = {
            "id": 7_000_000 + number,
            "accountId": int(ACCOUNT_ID),
            "companyCode": code,
            "name": name,
            "isDefault": code == DEFAULT_COMPANY,
            "defaultCountry": country,
            "currency": currency,
            "isActive": True,
            "hasProfile": True,
            "address": dict(ORIGINS[country]),
        }
    return result
