"""Customers, products and prices."""

from __future__ import annotations

import re
from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError, invalid
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")
CUSTOMER_PARAMS = (
    "name",
    "email",
    "description",
    "phone",
    "metadata",
    "address",
    "preferred_locales",
    "invoice_settings",
    "tax_exempt",
    "invoice_prefix",
)
PRODUCT_PARAMS = ("id", "name", "description", "active", "metadata", "default_price_data", "unit_label", "url")
PRICE_PARAMS = (
    "product",
    "currency",
    "unit_amount",
    "unit_amount_decimal",
    "recurring",
    "lookup_key",
    "nickname",
    "metadata",
    "active",
    "billing_scheme",
    "tax_behavior",
    "transfer_lookup_key",
)
CURRENCIES = frozenset({"usd", "eur", "gbp", "chf", "jpy", "sek", "dkk", "nok", "cad", "aud", "pln"})


def _address(value: Any, param: str = "address") -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        raise invalid(param, "Invalid hash: address must be a hash")
    for key in value:
        if key not in ADDRESS_KEYS:
            raise StripeError(
                400, f"Received unknown parameter: {param}[{key}]", code="parameter_unknown", param=f"{param}[{key}]"
            )
    return {key: value.get(key) or None for key in ADDRESS_KEYS}


def currency(params: dict[str, Any], name: str = "currency", need: bool = True) -> str | None:
    """An ISO currency, lower case, as Stripe keeps it."""
    value = p.text(params, name, need=need)
    if value is None:
        return None
    if value.lower() not in CURRENCIES:
        raise invalid(
            name,
            f"Invalid currency: {value}. Stripe currently supports these currencies: {', '.join(sorted(CURRENCIES))}",
        )
    return value.lower()


# -- customers -------------------------------------------------------------------------------
def create_customer(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers``."""
    p.check_known(params, CUSTOMER_PARAMS)
    email = p.text(params, "email")
    if email is not None and "@" not in email:
        raise invalid("email", f"Invalid email address: {email}", "email_invalid")
    customer: dict[str, Any] = {
        "id": new_id("customer"),
        "object": "customer",
        "address": _address(params.get("address")),
        "balance": 0,
        "created": account.now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": p.text(params, "description"),
        "email": email,
        "invoice_prefix": (p.text(params, "invoice_prefix") or new_id("customer")[4:12]).upper(),
        "invoice_settings": {
            "default_payment_method": p.mapping(params, "invoice_settings").get("default_payment_method") or None
        },
        "livemode": False,
        "metadata": p.metadata({}, params),
        "name": p.text(params, "name"),
        "phone": p.text(params, "phone"),
        "preferred_locales": [],
        "tax_exempt": p.choice(params, "tax_exempt", ("none", "exempt", "reverse"), default="none"),
    }
    return account.store.add("customer", customer)


def update_customer(account: Account, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers/{id}``."""
    p.check_known(params, CUSTOMER_PARAMS)
    customer = account.store.get("customer", customer_id)
    previous: dict[str, Any] = {}
    for key in ("name", "email", "description", "phone"):
        if key in params:
            previous[key] = customer[key]
            customer[key] = p.text(params, key)
    if "address" in params:
        previous["address"] = customer["address"]
        customer["address"] = _address(params["address"])
    if "metadata" in params:
        previous["metadata"] = customer["metadata"]
        customer["metadata"] = p.metadata(customer["metadata"], params)
    if "invoice_settings" in params:
        settings = p.mapping(params, "invoice_settings")
        customer["invoice_settings"]["default_payment_method"] = settings.get("default_payment_method") or None
    account.store.touched("customer")
    account.emit("customer.updated", customer, previous)
    return customer


def list_customers(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers`` (``email`` and ``created`` filters; no metadata filter, as at Stripe)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "email", "created"))
    email = p.text(params, "email")
    created = p.created_range(params)
    return page(
        account.store,
        "customer",
        "/v1/customers",
        params,
        lambda c: not c.get("deleted") and (email is None or c.get("email") == email) and created(c),
    )


_CLAUSE = re.compile(r"""^\s*(?:metadata\[['"]([^'"]{1,40})['"]\]|(email|name)):['"]([^'"]*)['"]\s*$""")


def search_customers(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers/search``: the exact-match part of Stripe's search query language.

    ``query`` joins clauses with ``AND``; a clause is ``metadata['key']:'value'``,
    ``email:'value'`` or ``name:'value'``. Anything else is refused as Stripe refuses it
    (400, ``param=query``). The result is a ``search_result`` (no cursors: one page of ``limit``).

    Search is not read-after-write at Stripe (data is searchable "in less than a minute", up to an
    hour during outages): a customer created less than ``account.search_lag_seconds`` ago is not
    found yet. Changes to a customer found already are seen at once (simplification).
    """
    p.check_known(params, ("query", "limit", "page"))
    if not account.search_available:
        # Guessed: Stripe documents that Search is unavailable in India, not the answer it gives.
        raise StripeError(400, "Search is not available for this account.", code="feature_not_enabled")
    query = p.text(params, "query")
    if not query:
        raise StripeError(400, "Missing required param: query.", code="parameter_missing", param="query")
    clauses: list[tuple[str, str, str]] = []
    for part in re.split(r"\s+AND\s+", query):
        match = _CLAUSE.match(part)
        if match is None:
            raise StripeError(400, f"The query is malformed near '{part.strip()[:40]}'.", param="query")
        key, field, value = match.groups()
        clauses.append(("metadata", key, value) if key else (field, "", value))
    limit = p.integer(params, "limit", default=10) or 10
    if not 1 <= limit <= 100:
        raise StripeError(400, "Invalid integer: limit must be between 1 and 100.", param="limit")

    def matches(customer: dict[str, Any]) -> bool:
        for field, key, value in clauses:
            actual = (customer.get("metadata") or {}).get(key) if field == "metadata" else customer.get(field)
            if actual != value:
                return False
        return True

    indexed_until = account.now() - account.search_lag_seconds
    found = [
        c
        for c in account.store.newest_first("customer")
        if not c.get("deleted") and c.get("created", 0) <= indexed_until and matches(c)
    ]
    return {
        "object": "search_result",
        "url": "/v1/customers/search",
        "has_more": len(found) > limit,
        "data": found[:limit],
        "next_page": None,
    }


def delete_customer(account: Account, customer_id: str) -> dict[str, Any]:
    """``DELETE /v1/customers/{id}`` → ``{"id", "object": "customer", "deleted": true}``."""
    account.store.get("customer", customer_id)
    del account.store.objects["customer"][customer_id]
    account.store.touched("customer")
    return {"id": customer_id, "object": "customer", "deleted": True}


# -- products and prices ---------------------------------------------------------------------
def create_product(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/products`` (an ``id`` of one's own is allowed, as in Stripe)."""
    p.check_known(params, PRODUCT_PARAMS)
    product_id = p.text(params, "id") or new_id("product")
    if product_id in account.store.objects["product"]:
        raise StripeError(400, "Product already exists.", code="resource_already_exists", param="id")
    now = account.now()
    product = {
        "id": product_id,
        "object": "product",
        "active": p.boolean(params, "active", True),
        "created": now,
        "default_price": None,
        "description": p.text(params, "description"),
        "livemode": False,
        "metadata": p.metadata({}, params),
        "name": p.text(params, "name", need=True),
        "type": "service",
        "unit_label": p.text(params, "unit_label"),
        "updated": now,
        "url": p.text(params, "url"),
    }
    return account.store.add("product", product)


def list_products(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/products`` (``active`` filter)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "active", "ids", "created"))
    active = params.get("active")
    ids = params.get("ids")
    return page(
        account.store,
        "product",
        "/v1/products",
        params,
        lambda x: (active is None or x["active"] == (active == "true")) and (not ids or x["id"] in ids),
    )


def create_price(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/prices``."""
    p.check_known(params, PRICE_PARAMS)
    product = account.store.get("product", p.text(params, "product", need=True), "product")
    recurring = p.mapping(params, "recurring")
    if recurring:
        interval = p.choice(recurring, "interval", ("day", "week", "month", "year"))
        if interval is None:
            raise StripeError(
                400,
                "Missing required param: recurring[interval].",
                code="parameter_missing",
                param="recurring[interval]",
            )
        usage_type = p.choice(recurring, "usage_type", ("licensed", "metered"), default="licensed")
        meter = recurring.get("meter")
        if usage_type == "metered":
            if not meter:
                raise StripeError(
                    400, "Metered prices need a meter.", code="parameter_missing", param="recurring[meter]"
                )
            account.store.get("billing.meter", meter, "recurring[meter]")
        recurring = {
            "interval": interval,
            "interval_count": p.integer(recurring, "interval_count", minimum=1, default=1),
            "meter": meter or None,
            "usage_type": usage_type,
        }
    unit_amount = p.integer(params, "unit_amount", minimum=0, need="unit_amount_decimal" not in params)
    lookup_key = p.text(params, "lookup_key")
    if lookup_key and any(x.get("lookup_key") == lookup_key for x in account.store.objects["price"].values()):
        raise StripeError(
            400,
            f"A price with lookup key {lookup_key} already exists.",
            code="resource_already_exists",
            param="lookup_key",
        )
    price = {
        "id": new_id("price"),
        "object": "price",
        "active": p.boolean(params, "active", True),
        "billing_scheme": "per_unit",
        "created": account.now(),
        "currency": currency(params),
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": p.metadata({}, params),
        "nickname": p.text(params, "nickname"),
        "product": product["id"],
        "recurring": recurring or None,
        "tax_behavior": "unspecified",
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount) if unit_amount is not None else p.text(params, "unit_amount_decimal"),
    }
    account.store.add("price", price)
    if product["default_price"] is None:
        product["default_price"] = price["id"]
    return price


def list_prices(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/prices`` (``product``, ``active``, ``currency``, ``type``, ``lookup_keys[]``)."""
    p.check_known(
        params,
        ("limit", "starting_after", "ending_before", "product", "active", "currency", "type", "lookup_keys", "created"),
    )
    product, active = p.text(params, "product"), params.get("active")
    wanted_currency, kind = p.text(params, "currency"), p.text(params, "type")
    lookup_keys = params.get("lookup_keys") or None

    def keep(x: dict[str, Any]) -> bool:
        return (
            (product is None or x["product"] == product)
            and (active is None or x["active"] == (active == "true"))
            and (wanted_currency is None or x["currency"] == wanted_currency.lower())
            and (kind is None or x["type"] == kind)
            and (lookup_keys is None or x.get("lookup_key") in lookup_keys)
        )

    return page(account.store, "price", "/v1/prices", params, keep)
