"""Fields the sandbox answers that Stripe's published example objects (``fixtures3.json``) lack.

Each stays only because Stripe's API reference for the pinned version (``2026-10-28.endive``)
shows it; the independent check (``tests/sandboxes/stripe/test_published_objects.py``) refuses
any other field the examples lack.
"""

from __future__ import annotations

BEYOND_EXAMPLES: dict[str, dict[str, str]] = {
    "line_item": {
        "pricing.price_details": (
            "Stripe's invoice line item reference (basil and later) shows pricing.price_details {price, product} "
            "for lines of pricing.type price_details; the example line has that type but leaves the hash out. "
            "Unverified here: the endive reference could not be read, and the 2023 description predates pricing."
        ),
    },
}
"""Object → dotted field path → why it stays."""
