"""The simulated org's metadata: sObjects, their fields, relationships, ids and errors."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

# Field types, named after Salesforce's describe() types.
ID, REFERENCE, STRING, TEXTAREA, URL, EMAIL, PHONE = "id", "reference", "string", "textarea", "url", "email", "phone"
PICKLIST, DATE, DATETIME, DOUBLE, CURRENCY, PERCENT, BOOLEAN = (
    "picklist",
    "date",
    "datetime",
    "double",
    "currency",
    "percent",
    "boolean",
)
TEXT_TYPES = frozenset({ID, REFERENCE, STRING, TEXTAREA, URL, EMAIL, PHONE, PICKLIST})
NUMBER_TYPES = frozenset({DOUBLE, CURRENCY, PERCENT})

SYSTEM_FIELDS = {"Id": ID, "IsDeleted": BOOLEAN, "CreatedDate": DATETIME, "LastModifiedDate": DATETIME}
SYSTEM_FIELDS["SystemModstamp"] = DATETIME
READ_ONLY = frozenset({"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "TotalPrice"})

CURRENCIES = ("USD", "EUR", "GBP", "CHF")
ACCOUNT_BILLING_STATUSES = ("Prospect", "Active", "Past Due", "Suspended", "Churned")
OPPORTUNITY_BILLING_STATUSES = ("Not Invoiced", "Pending", "Invoiced", "Paid", "Failed")
STAGES = (
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 20),
    ("Value Proposition", 50),
    ("Id. Decision Makers", 60),
    ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90),
    ("Closed Won", 100),
    ("Closed Lost", 0),
)


@dataclass(frozen=True)
class SObject:
    """One sObject type: fields (name -> type), required fields, lookups and external ids."""

    name: str
    key_prefix: str
    fields: dict[str, str]
    required: tuple[str, ...] = ()
    lookups: dict[str, str] = field(default_factory=dict)
    """Reference field -> target sObject."""
    external_ids: tuple[str, ...] = ()
    restricted_picklists: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def canonical_field(self, name: str) -> str | None:
        """The field's own spelling (SOQL and JSON keys are case-insensitive), or None."""
        return self._lower.get(name.lower())

    @property
    def _lower(self) -> dict[str, str]:
        return {name.lower(): name for name in self.fields}


def _fields(**extra: str) -> dict[str, str]:
    return {**SYSTEM_FIELDS, **extra}


SOBJECTS: dict[str, SObject] = {
    sobject.name: sobject
    for sobject in (
        SObject(
            "Account",
            "001",
            _fields(
                Name=STRING,
                ParentId=REFERENCE,
                Type=PICKLIST,
                Industry=PICKLIST,
                Website=URL,
                Phone=PHONE,
                BillingStreet=TEXTAREA,
                BillingCity=STRING,
                BillingState=STRING,
                BillingPostalCode=STRING,
                BillingCountry=STRING,
                BillingCountryCode=PICKLIST,
                CurrencyIsoCode=PICKLIST,
                Tax_Id__c=STRING,
                Strata_Id__c=STRING,
                Billing_Status__c=PICKLIST,
                Partner_Id__c=STRING,
            ),
            required=("Name",),
            lookups={"ParentId": "Account"},
            external_ids=("Strata_Id__c",),
            restricted_picklists={"Billing_Status__c": ACCOUNT_BILLING_STATUSES, "CurrencyIsoCode": CURRENCIES},
        ),
        SObject(
            "Contact",
            "003",
            _fields(
                AccountId=REFERENCE,
                FirstName=STRING,
                LastName=STRING,
                Email=EMAIL,
                Phone=PHONE,
                Title=STRING,
                Strata_Id__c=STRING,
            ),
            required=("LastName",),
            lookups={"AccountId": "Account"},
            external_ids=("Strata_Id__c",),
        ),
        SObject(
            "Opportunity",
            "006",
            _fields(
                Name=STRING,
                AccountId=REFERENCE,
                StageName=PICKLIST,
                CloseDate=DATE,
                Amount=CURRENCY,
                Probability=PERCENT,
                CurrencyIsoCode=PICKLIST,
                IsClosed=BOOLEAN,
                IsWon=BOOLEAN,
                Billing_Status__c=PICKLIST,
                Invoice_Number__c=STRING,
                Strata_Id__c=STRING,
                Description=TEXTAREA,
                Partner_Id__c=STRING,
                Type=PICKLIST,
            ),
            required=("Name", "StageName", "CloseDate"),
            lookups={"AccountId": "Account"},
            external_ids=("Strata_Id__c",),
            restricted_picklists={
                "Billing_Status__c": OPPORTUNITY_BILLING_STATUSES,
                "CurrencyIsoCode": CURRENCIES,
                "StageName": tuple(stage for stage, _ in STAGES),
            },
        ),
        SObject(
            "OpportunityLineItem",
            "00k",
            _fields(
                OpportunityId=REFERENCE,
                Product2Id=REFERENCE,
                ProductCode=STRING,
                Name=STRING,
                Description=TEXTAREA,
                Quantity=DOUBLE,
                UnitPrice=CURRENCY,
                TotalPrice=CURRENCY,
                CurrencyIsoCode=PICKLIST,
            ),
            required=("OpportunityId", "Quantity", "UnitPrice"),
            lookups={"OpportunityId": "Opportunity", "Product2Id": "Product2"},
        ),
        SObject(
            "Product2",
            "01t",
            _fields(Name=STRING, ProductCode=STRING, Description=TEXTAREA, Family=PICKLIST, IsActive=BOOLEAN),
            required=("Name",),
            external_ids=(),
        ),
    )
}

CHILD_RELATIONSHIPS: dict[str, dict[str, tuple[str, str]]] = {
    "Account": {
        "Contacts": ("Contact", "AccountId"),
        "Opportunities": ("Opportunity", "AccountId"),
        "ChildAccounts": ("Account", "ParentId"),
    },
    "Opportunity": {"OpportunityLineItems": ("OpportunityLineItem", "OpportunityId")},
}
"""Parent sObject -> relationship name -> (child sObject, child's reference field)."""

CASCADE_DELETE = {"Account": ("Contact", "Opportunity"), "Opportunity": ("OpportunityLineItem",)}
"""Deleting a parent deletes these children (as Salesforce does for master records)."""

_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def id_suffix(id15: str) -> str:
    """The 3-character case-safety suffix that turns a 15-character id into 18 characters."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def make_id(key_prefix: str, number: int) -> str:
    """An 18-character id: key prefix, pod ``Qy``, reserved ``0``, base-62 counter, suffix.

    The counter's alphabet is in ASCII order, so ids sort in creation order.
    """
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _ID_ALPHABET[rest] + digits
    id15 = f"{key_prefix}Qy0{digits.rjust(9, '0')}"
    return id15 + id_suffix(id15)


def id15(value: str) -> str:
    """The case-sensitive 15-character form of an id."""
    return value[:15]


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's JSON datetime: ``2024-05-01T12:00:00.000+0000``."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(value: str) -> dt.datetime:
    """Parse a Salesforce or RFC 3339 datetime (``+0000``, ``+00:00`` or ``Z``)."""
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text)


class SfError(Exception):
    """An error Salesforce reports as ``[{"message", "errorCode", "fields"}]``."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The JSON array Salesforce answers with."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


class SfMultipleChoices(Exception):
    """An upsert matched several records: 300 with the records' URLs."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__("several records match")
        self.urls = urls


def get_sobject(name: str) -> SObject:
    """The sObject named ``name`` (case-insensitive).

    Raises:
        SfError: 404 NOT_FOUND, as Salesforce answers for an unknown type in a URL.
    """
    for sobject in SOBJECTS.values():
        if sobject.name.lower() == name.lower():
            return sobject
    raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
