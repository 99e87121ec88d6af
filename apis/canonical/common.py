"""Shapes every domain shares: money, postal addresses, pages of a list.

Money is :class:`Money`, a decimal string and an ISO 4217 code, never a float; a list
answer is a :class:`Page`, its items and the opaque cursor of the next page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class Money(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An amount in one currency: ``{"amount": "1234.50", "currency": "EUR"}``."""

    amount: str
    """Decimal string, e.g. ``"1234.50"``; never a float."""
    currency: str
    """ISO 4217 code, e.g. ``"EUR"``."""

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Build from a :class:`~decimal.Decimal`, written without exponent."""
        return cls(amount=format(amount, "f"), currency=currency)

    def decimal(self) -> Decimal:
        """The amount as a :class:`~decimal.Decimal`."""
        return Decimal(self.amount)


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A postal address."""

    line1: str | None = None
    """First street line."""
    line2: str | None = None
    """Second street line (building, floor, ...)."""
    city: str | None = None
    """City or locality."""
    region: str | None = None
    """State, province or region."""
    postal_code: str | None = None
    """Postal or ZIP code."""
    country: str | None = None
    """ISO 3166-1 alpha-2 country code."""


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a list: the items and where the next page starts (``None`` on the last)."""

    items: list[T]
    """The objects of this page."""
    next_position: Any
    """Where the next page starts, in the lister's own terms (an id, an offset, a vendor token);
    ``None`` on the last page. Pass it back to page on; the HTTP boundary signs it into the
    ``next_cursor`` callers see (:mod:`core.cursors`)."""
