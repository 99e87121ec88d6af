"""The sandbox's tax engine: a small, documented rate table and the rules that pick a rate.

Not tax advice, and not Avalara's content: rates are rounded public headline rates, enough
to see a realistic answer. What is taxed, and how:

**United States** (a US company selling to a US address): sales tax only in the states where
the company has nexus (:data:`US_STATES`, i.e. all of this table); other states are not taxed,
as AvaTax does without nexus. A state's tax is the state rate plus local jurisdictions: the
first :class:`Local` whose ZIP prefix matches the postal code, else the state's default local
rate (a county). Examples: San Francisco CA 94105 = 6% + 0.25% + 2.375% = 8.625%; Seattle WA
98104 = 6.5% + 3.85% = 10.35%; Austin TX 78701 = 6.25% + 2% = 8.25%.

**VAT countries** (:data:`VAT_RATES`: EU members plus GB), place of supply = the buyer's country
(electronically supplied services):

* domestic sale (seller's country = buyer's country): that country's standard rate, with or
  without a buyer VAT id;
* cross-border with a buyer VAT id (``businessIdentificationNo``, B2B): **reverse charge** —
  tax 0, one detail per line with ``rateType: "ReverseCharge"`` and a taxName ending in
  "REVERSE CHARGE", and a transaction message saying so;
* cross-border without a VAT id (B2C): the buyer country's standard rate (the EU one-stop-shop
  rule, applied to GB sellers too for simplicity).

**Everything else** (a US company selling abroad, a VAT-country company selling to a country
outside the table, any unknown country): an export, not taxed (tax 0, no details).

Tax is computed per line and jurisdiction on the line amount, rounded half-up to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

CENT = Decimal("0.01")


class Local(NamedTuple):
    """A local jurisdiction (county, city or special district) chosen by ZIP prefix."""

    zip_prefix: str
    jurisdictions: tuple[tuple[str, str, str, Decimal], ...]
    """(jurisdiction type, jurisdiction code, name, rate) in order."""


class UsState(NamedTuple):
    """A state with its sales tax rate and local rates."""

    name: str
    rate: Decimal
    locals: tuple[Local, ...]
    default_local: tuple[tuple[str, str, str, Decimal], ...]
    """Local jurisdictions for a ZIP no :class:`Local` matches."""


def _d(text: str) -> Decimal:
    return Decimal(text)


US_STATES: dict[str, UsState] = {
    "CA": UsState(
        "California",
        _d("0.06"),
        (
            Local(
                "941",
                (
                    ("County", "075", "SAN FRANCISCO", _d("0.0025")),
                    ("Special", "EMTS0", "SAN FRANCISCO COUNTY DISTRICT TAX SP", _d("0.02375")),
                ),
            ),
            Local(
                "900",
                (
                    ("County", "037", "LOS ANGELES", _d("0.0025")),
                    ("Special", "EMAR0", "LOS ANGELES CO DISTRICT TAX SP", _d("0.0325")),
                ),
            ),
        ),
        (("County", "000", "CALIFORNIA COUNTY", _d("0.0125")),),
    ),
    "NY": UsState(
        "New York",
        _d("0.04"),
        (
            Local(
                "100",
                (
                    ("City", "51000", "NEW YORK CITY", _d("0.045")),
                    ("Special", "MCTD", "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", _d("0.00375")),
                ),
            ),
        ),
        (("County", "000", "NEW YORK COUNTY", _d("0.04")),),
    ),
    "WA": UsState(
        "Washington",
        _d("0.065"),
        (Local("981", (("City", "63000", "SEATTLE", _d("0.0385")),)),),
        (("County", "000", "WASHINGTON COUNTY", _d("0.02")),),
    ),
    "TX": UsState(
        "Texas",
        _d("0.0625"),
        (
            Local(
                "787", (("City", "05000", "AUSTIN", _d("0.01")), ("Special", "MTA", "AUSTIN MTA TRANSIT", _d("0.01")))
            ),
        ),
        (("County", "000", "TEXAS COUNTY", _d("0.01")),),
    ),
    "IL": UsState(
        "Illinois",
        _d("0.0625"),
        (
            Local(
                "606",
                (
                    ("County", "031", "COOK", _d("0.0175")),
                    ("City", "14000", "CHICAGO", _d("0.0125")),
                    ("Special", "RTA", "REGIONAL TRANSPORTATION AUTHORITY", _d("0.01")),
                ),
            ),
        ),
        (("County", "000", "ILLINOIS COUNTY", _d("0.01")),),
    ),
}
"""States where the sandbox's US company has nexus, keyed by USPS code."""
# Los Angeles: 6% + 0.25% + 3.25% = 9.5%; the special rate stands for several district taxes.

US_STATE_NAMES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID",
    "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX",
    "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA", "WEST VIRGINIA": "WV",
    "WISCONSIN": "WI", "WYOMING": "WY", "DISTRICT OF COLUMBIA": "DC",
}  # fmt: skip
"""Full state names (as the Salesforce seed writes them) → USPS codes: AvaTax resolves both."""

VAT_RATES: dict[str, tuple[str, Decimal]] = {
    "AT": ("AUSTRIA", _d("0.20")),
    "BE": ("BELGIUM", _d("0.21")),
    "DE": ("GERMANY", _d("0.19")),
    "ES": ("SPAIN", _d("0.21")),
    "FR": ("FRANCE", _d("0.20")),
    "IE": ("IRELAND", _d("0.23")),
    "IT": ("ITALY", _d("0.22")),
    "NL": ("NETHERLANDS", _d("0.21")),
    "GB": ("UNITED KINGDOM", _d("0.20")),
}
"""Standard VAT rate by country (EU members in the table, plus GB)."""


class Jurisdiction(NamedTuple):
    """One tax applying to a line."""

    country: str
    region: str
    juris_type: str
    """``Country``, ``State``, ``County``, ``City`` or ``Special``."""
    juris_code: str
    juris_name: str
    tax_type: str
    """``Sales`` (US) or ``Output`` (VAT)."""
    tax_name: str
    rate_type: str
    """``General`` (US), ``Standard`` (VAT) or ``ReverseCharge``."""
    rate: Decimal


def us_region(region: str | None) -> str | None:
    """A USPS state code from a code or a full name (None when neither)."""
    if not region:
        return None
    text = region.strip().upper()
    if len(text) == 2 and text.isalpha():
        return text
    return US_STATE_NAMES.get(text)


def jurisdictions(seller_country: str, buyer: dict[str, Any], buyer_vat_id: str | None) -> list[Jurisdiction]:
    """The taxes applying to a sale from ``seller_country`` to the ``buyer`` address."""
    country = str(buyer.get("country") or "").upper()
    if seller_country == "US" and country == "US":
        return _us(buyer)
    if seller_country in VAT_RATES and country in VAT_RATES:
        name, rate = VAT_RATES[country]
        if country != seller_country and buyer_vat_id:
            return [
                Jurisdiction(
                    country,
                    "",
                    "Country",
                    country,
                    name,
                    "Output",
                    f"{country} VAT REVERSE CHARGE",
                    "ReverseCharge",
                    Decimal(0),
                )
            ]
        return [
            Jurisdiction(country, "", "Country", country, name, "Output", f"{country} STANDARD VAT", "Standard", rate)
        ]
    return []


def _us(buyer: dict[str, Any]) -> list[Jurisdiction]:
    region = us_region(buyer.get("region")) or ""
    state = US_STATES.get(region)
    if state is None:
        return []
    postal = str(buyer.get("postalCode") or "")
    local = next((loc.jurisdictions for loc in state.locals if postal.startswith(loc.zip_prefix)), state.default_local)
    found = [
        Jurisdiction(
            "US", region, "State", region, state.name.upper(), "Sales", f"{region} STATE TAX", "General", state.rate
        )
    ]
    for juris_type, code, name, rate in local:
        found.append(
            Jurisdiction(
                "US", region, juris_type, code, name, "Sales", f"{region} {juris_type.upper()} TAX", "General", rate
            )
        )
    return found


def tax_of(amount: Decimal, rate: Decimal) -> Decimal:
    """Tax on ``amount`` at ``rate``, rounded half-up to the cent."""
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)
