"""How a CRM account finds its ERP customer when no cross-reference links them yet.

Two records are the same company when their **normalised names** agree and their domains do
not disagree. The normaliser folds what differs between systems without changing who is
meant: case, accents, punctuation, ``&`` / ``and``, and legal-form suffixes (``Acme GmbH``,
``ACME, Inc.`` and ``acme`` are one name; ``Acme Logistics`` is another). A domain is compared
without scheme, ``www.`` and path. Matching by tax id comes first and needs no normaliser
beyond spacing and case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from apis.canonical import Customer, ErpCustomer

LEGAL_SUFFIXES = frozenset(
    {
        "ag", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated", "kg", "limited",
        "llc", "llp", "ltd", "nv", "oy", "plc", "pty", "sa", "sarl", "sas", "spa", "srl",
    }
)  # fmt: skip
"""Legal-form words dropped from the end of a name (after punctuation is gone: ``B.V.`` → ``bv``)."""
_DOTTED = re.compile(r"\b(?:[a-z]\.){2,}")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """The name with case, accents, punctuation and trailing legal suffixes folded away.

    >>> normalise_name("ACME Widgets, GmbH & Co. KG")
    'acme widgets'
    >>> normalise_name("Acme Widgets B.V.")
    'acme widgets'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)  # B.V. → bv, S.A. → sa
    words = [w for w in _NOT_WORD.split(text.replace("&", " and ")) if w]
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):
        words.pop()
    return " ".join(words)


def normalise_domain(domain: str | None) -> str | None:
    """``https://www.Acme.com/about`` → ``acme.com``; ``None`` for nothing."""
    if not domain or not domain.strip():
        return None
    text = domain.strip().lower().split("://", 1)[-1].split("/", 1)[0]
    return text.removeprefix("www.") or None


def normalise_tax_id(tax_id: str | None) -> str | None:
    """A tax id without spaces, dots and dashes, upper case (``de 123.456`` → ``DE123456``)."""
    if not tax_id:
        return None
    return re.sub(r"[\s.\-]", "", tax_id).upper() or None


def same_company(account: Customer, customer: ErpCustomer) -> bool:
    """Whether an ERP customer is the account by normalised name, with no domain disagreeing."""
    if normalise_name(account.name) != normalise_name(customer.name):
        return False
    ours, theirs = normalise_domain(account.domain), normalise_domain(customer.domain)
    return ours is None or theirs is None or ours == theirs


def by_tax_id(account: Customer, customers: Iterable[ErpCustomer]) -> list[ErpCustomer]:
    """The ERP customers carrying the account's tax id."""
    wanted = normalise_tax_id(account.tax_id)
    if wanted is None:
        return []
    return [c for c in customers if normalise_tax_id(c.tax_id) == wanted]


def by_name_and_domain(account: Customer, customers: Iterable[ErpCustomer]) -> list[ErpCustomer]:
    """The ERP customers that are the account by :func:`same_company`."""
    return [c for c in customers if same_company(account, c)]
