"""Personal data outside API responses: the field names that hold it, and masking by name.

API responses are masked by their contracts' ``x-strata-pii`` marks (:mod:`policies.pii`).
What leaves by other roads — event envelopes to the data platform and partner webhooks, audit
reasons, log lines — has no schema to read marks from, so it is guarded by field *name*:
:data:`PERSONAL_FIELDS` maps each name the canonical objects use for personal data to its
kind, and :func:`mask_personal` replaces a string under such a name, at any depth, with the
kind's mask (the same masks as the response policy's defaults). :func:`scrub_text` replaces
e-mail addresses inside free text (an error detail that quotes the caller's input).
"""

from __future__ import annotations

import re
from typing import Any

PERSONAL_FIELDS: dict[str, str] = {
    "first_name": "name",
    "last_name": "name",
    "contact_name": "name",
    "email": "email",
    "phone": "phone",
    "line1": "address",
    "line2": "address",
    "city": "address",
    "postal_code": "address",
    "tax_id": "tax_id",
    "buyer_tax_id": "tax_id",
}
"""Field name → kind of personal data (``x-strata-pii`` kinds), for data without a contract."""
MASKS = {"name": "***", "email": "***@masked.invalid", "phone": "***-***-****", "address": "***", "tax_id": "***"}
"""The mask of each kind where no schema asks for another (a valid e-mail address for ``email``)."""
EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def mask_personal(value: Any) -> Any:
    """``value`` with every string under a :data:`PERSONAL_FIELDS` name masked (a copy; the input is untouched)."""
    if isinstance(value, dict):
        masked: dict[Any, Any] = {}
        for key, item in value.items():
            kind = PERSONAL_FIELDS.get(key.lower()) if isinstance(key, str) else None
            if kind is not None and isinstance(item, str):
                masked[key] = MASKS[kind]
            else:
                masked[key] = mask_personal(item)
        return masked
    if isinstance(value, list):
        return [mask_personal(item) for item in value]
    return value


def scrub_text(text: str) -> str:
    """``text`` with each e-mail address in it replaced by the e-mail mask."""
    return EMAIL_IN_TEXT.sub(MASKS["email"], text) if "@" in text else text
