"""Every object the Stripe sandbox returns agrees with Stripe's published example objects.

Stripe publishes one example per object (``fixtures3.json``, what its own mock server serves; the
subset for the objects the sandbox serves is in ``published/``, MIT, source in ``published/extract.py``).
The sandbox is driven through every call the billing and payments connectors make, and each object
in the answers (nested ones included) is held to the example of its ``object`` tag:

* each field exists on the example, with the same JSON type; a field the example lacks is allowed
  only when the sandbox notes it in :data:`sandboxes.stripe.fields.BEYOND_EXAMPLES`;
* where the example's value is null, the type comes from Stripe's 2023 OpenAPI description if the
  field existed then; otherwise the field is reported unchecked (:data:`UNCHECKED` lists them);
* an expandable field (2023 ``x-expandableFields``) may be an id or the object;
* ids carry the example's prefix; ``metadata`` is a free map of strings.

List and search envelopes follow the 2023 description's conventions (they have not changed).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.stripe import create_stripe_sandbox
from sandboxes.stripe.fields import BEYOND_EXAMPLES
from tests.support.sandbox_access import STRIPE_KEY

PUBLISHED = Path(__file__).parent / "published"
EXAMPLES: dict[str, Any] = json.loads((PUBLISHED / "fixtures3.subset.json").read_text())["resources"]
SPEC_2023: dict[str, Any] = json.loads((PUBLISHED / "spec3-2023.fields.json").read_text())
ENVELOPES = {
    "list": {"object", "url", "has_more", "data"},
    "search_result": {"object", "url", "has_more", "data", "next_page", "total_count"},
}
SCHEDULE_PHASE_NULLS = (
    "application_fee_percent", "billing_cycle_anchor", "collection_method", "default_payment_method", "description",
    "on_behalf_of", "transfer_data", "trial_end", "invoice_settings.account_tax_ids", "invoice_settings.days_until_due",
)  # fmt: skip
UNCHECKED = frozenset(
    {
        "billing.meter.event_time_window",  # billing meters came after 2023
        "billing.meter.status_transitions.deactivated_at",
        "invoice.parent.subscription_details.metadata",  # invoice.parent came after 2023
        "line_item.parent.invoice_item_details.subscription",  # line_item.parent came after 2023
        "line_item.pricing.unit_amount_decimal",  # line_item.pricing came after 2023
        "price.recurring.meter",  # meter-based prices came after 2023
        # Null in the sandbox's schedule phases; the 2023 field list does not look inside arrays.
        *(f"subscription_schedule.phases.{name}" for name in SCHEDULE_PHASE_NULLS),
    }
)
"""Fields whose example value is null and which the 2023 description lacks: types unchecked."""
ID_PREFIXES = {"billing.meter": "mtr"}
"""Where the example's own id is a placeholder: fixtures3.json's meter is ``meter_123``, while its
``billing.meter_event_summary`` names its meter ``mtr_test_…``, Stripe's real prefix."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


class Findings:
    """What the comparison found."""

    def __init__(self) -> None:
        self.problems: set[str] = set()
        self.unchecked: set[str] = set()
        self.kinds: set[str] = set()

    def check_object(self, obj: dict[str, Any]) -> None:
        kind = ("deleted_" if obj.get("deleted") else "") + obj["object"]
        example = EXAMPLES.get(kind)
        if example is None:
            self.problems.add(f"{kind}: no published example of this object")
            return
        self.kinds.add(kind)
        if isinstance(obj.get("id"), str) and isinstance(example.get("id"), str):
            ours, theirs = obj["id"].split("_", 1)[0], ID_PREFIXES.get(kind) or example["id"].split("_", 1)[0]
            if ours != theirs:
                self.problems.add(f"{kind}.id: prefix {ours}_, Stripe's {theirs}_")
        self._fields(kind, obj, example, "")

    def _fields(self, kind: str, obj: dict[str, Any], example: dict[str, Any], prefix: str) -> None:
        spec = SPEC_2023.get(kind, {"properties": {}, "expandable": []})
        for key, value in obj.items():
            path = prefix + key
            where = f"{kind}.{path}"
            if key not in example:
                if path not in BEYOND_EXAMPLES.get(kind, {}) and prefix != "metadata.":
                    self.problems.add(f"{where}: not on Stripe's example (and not noted in sandboxes.stripe.fields)")
                continue
            if key == "metadata" and not prefix:
                if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                    self.problems.add(f"{where}: metadata must be a map of strings")
                continue
            self._value(kind, where, path, value, example[key], spec)

    def _value(self, kind: str, where: str, path: str, value: Any, expected: Any, spec: dict[str, Any]) -> None:
        ours, theirs = _json_type(value), _json_type(expected)
        if theirs == "null":
            types = spec["properties"].get(path)
            if types is None:
                self.unchecked.add(where)
            elif ours not in types and not (ours == "integer" and "number" in types):
                self.problems.add(f"{where}: {ours}; Stripe's 2023 description says {'|'.join(types)}")
            return
        if ours == theirs:
            if ours == "object" and "object" not in value:
                self._fields(kind, value, expected, path + ".")
            elif ours == "array" and value and expected and isinstance(value[0], dict) and "object" not in value[0]:
                self._fields(kind, value[0], expected[0], path + ".") if isinstance(expected[0], dict) else None
            return
        if ours == "null":
            types = spec["properties"].get(path)
            if types is None:
                self.unchecked.add(where)
            elif "null" not in types:
                self.problems.add(f"{where}: null where Stripe's example has a {theirs} (not nullable in 2023)")
            return
        if {ours, theirs} == {"string", "object"}:
            if path not in spec["expandable"]:
                self.problems.add(f"{where}: {ours} where Stripe's example has a {theirs} (not expandable)")
            return
        if {ours, theirs} != {"integer", "number"}:
            self.problems.add(f"{where}: {ours} where Stripe's example has a {theirs}")


def _objects(node: Any, found: Findings) -> None:
    if isinstance(node, dict):
        tag = node.get("object")
        if not isinstance(tag, str):
            pass
        elif tag in ENVELOPES:
            if not set(node) <= ENVELOPES[tag] or not {"object", "data", "has_more"} <= set(node):
                found.problems.add(f"{tag} envelope: keys {sorted(node)}")
        else:
            found.check_object(node)
        for value in node.values():
            _objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _objects(value, found)


async def _drive(http: httpx.AsyncClient) -> list[Any]:
    """Every call the billing and payments connectors make (with expansions), and what came back."""
    answers: list[Any] = []

    async def call(method: str, path: str, **kwargs: Any) -> Any:
        response = await http.request(method, path, **kwargs)
        assert response.status_code < 300, (path, response.text)
        answers.append(response.json())
        return response.json()

    created = await call("POST", "/v1/customers", data={
        "name": "Examples GmbH", "email": "ap@examples.de", "metadata[crm_account_id]": "001EXAMPLES",
        "address[country]": "DE", "address[city]": "Berlin",
    })  # fmt: skip
    await call("POST", f"/v1/customers/{created['id']}", data={"name": "Examples AG"})
    await call("GET", "/v1/customers", params={"limit": 3, "email": "ap@examples.de"})
    await call("GET", "/v1/customers/search", params={"query": "metadata['crm_account_id']:'001EXAMPLES'"})
    product = (await call("GET", "/v1/products", params={"limit": 3}))["data"][0]
    await call("GET", f"/v1/products/{product['id']}")
    price = (await call("GET", "/v1/prices", params={"lookup_keys[]": "STRATA-CORE-usd"}))["data"][0]
    await call("GET", f"/v1/prices/{price['id']}")
    customer = (await http.get("/v1/customers", params={"limit": 1})).json()["data"][0]
    subscription = await call("POST", "/v1/subscriptions", data={
        "customer": customer["id"], "items[0][price]": price["id"], "items[0][quantity]": "2",
        "collection_method": "send_invoice", "days_until_due": "30",
    })  # fmt: skip
    await call("GET", f"/v1/subscriptions/{subscription['id']}", params={"expand[]": "latest_invoice"})
    await call("GET", "/v1/subscriptions", params={"customer": customer["id"]})
    item = subscription["items"]["data"][0]["id"]
    await call("POST", f"/v1/subscriptions/{subscription['id']}", data={
        "items[0][id]": item, "items[0][quantity]": "3", "proration_behavior": "always_invoice",
    })  # fmt: skip
    invoice = (await call("GET", "/v1/invoices", params={"subscription": subscription["id"]}))["data"][-1]
    await call("POST", f"/v1/invoices/{invoice['id']}/finalize")
    await call("GET", f"/v1/invoices/{invoice['id']}")
    await call("POST", "/v1/credit_notes", data={"invoice": invoice["id"], "amount": "100", "reason": "duplicate"})
    await call("POST", f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"})
    await call("GET", "/v1/credit_notes", params={"invoice": invoice["id"]})
    intent = await call("POST", "/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "customer": customer["id"], "payment_method": "pm_card_visa",
        "confirm": "true",
    })  # fmt: skip
    await call("GET", f"/v1/payment_intents/{intent['id']}", params={"expand[]": "latest_charge"})
    await call("GET", "/v1/payment_intents", params={"customer": customer["id"]})
    refund = await call("POST", "/v1/refunds", data={"payment_intent": intent["id"], "amount": "100"})
    await call("GET", f"/v1/refunds/{refund['id']}")
    await call("GET", "/v1/refunds", params={"payment_intent": intent["id"]})
    other = await call("POST", "/v1/payment_intents", data={"amount": "500", "currency": "usd"})
    await call("POST", f"/v1/payment_intents/{other['id']}/cancel", data={"cancellation_reason": "abandoned"})
    meter = (await call("GET", "/v1/billing/meters"))["data"][0]
    await call("GET", f"/v1/billing/meters/{meter['id']}")
    await call("POST", "/v1/billing/meter_events", data={
        "event_name": meter["event_name"], "identifier": "examples-1",
        "payload[stripe_customer_id]": customer["id"], "payload[value]": "5",
    })  # fmt: skip
    await call("GET", f"/v1/billing/meters/{meter['id']}/event_summaries", params={
        "customer": customer["id"], "start_time": "0", "end_time": "9999999999",
    })  # fmt: skip
    fee = (await call("GET", "/v1/prices", params={"lookup_keys[]": "STRATA-ONBOARDING-usd"}))["data"][0]
    later = await call("POST", "/v1/subscriptions", data={
        "customer": customer["id"], "items[0][price]": price["id"], "items[0][quantity]": "2",
        "add_invoice_items[0][price]": fee["id"], "add_invoice_items[0][quantity]": "1",
        "collection_method": "send_invoice", "days_until_due": "30",
    })  # fmt: skip
    await call("GET", f"/v1/invoices/{later['latest_invoice']}")
    schedule = await call("POST", "/v1/subscription_schedules", data={"from_subscription": later["id"]})
    phase = schedule["phases"][0]
    await call("POST", f"/v1/subscription_schedules/{schedule['id']}", data={
        "end_behavior": "release", "proration_behavior": "none",
        "phases[0][items][0][price]": price["id"], "phases[0][items][0][quantity]": "2",
        "phases[0][start_date]": str(phase["start_date"]), "phases[0][end_date]": str(phase["end_date"]),
        "phases[1][items][0][price]": price["id"], "phases[1][items][0][quantity]": "1",
        "phases[1][iterations]": "1",
    })  # fmt: skip
    await call("GET", f"/v1/subscription_schedules/{schedule['id']}")
    await call("POST", f"/v1/subscription_schedules/{schedule['id']}/release")
    await call("POST", f"/v1/subscriptions/{later['id']}", data={"cancel_at_period_end": "true"})
    await call("DELETE", f"/v1/subscriptions/{subscription['id']}")
    await call("GET", "/v1/events", params={"limit": 100})
    await call("GET", "/v1/webhook_endpoints")
    await call("DELETE", f"/v1/customers/{created['id']}")
    return answers


async def _answers() -> list[Any]:
    hooks = httpx.MockTransport(lambda _: httpx.Response(200))
    sandbox = create_stripe_sandbox(
        secret_key=STRIPE_KEY, webhook_url="http://hooks.test/stripe", webhook_secret="x", webhook_transport=hooks
    )
    auth = {"Authorization": f"Bearer {STRIPE_KEY}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://s", headers=auth) as http:
        answers = await _drive(http)
        await sandbox.webhooks.drain(5)
    return answers


@pytest.fixture(scope="module")
def findings() -> Findings:
    answers = asyncio.run(_answers())
    found = Findings()
    _objects(answers, found)
    return found


def test_every_object_agrees_with_stripes_published_example(findings: Findings) -> None:
    assert findings.problems == set()
    assert findings.kinds >= {
        "customer", "deleted_customer", "product", "price", "subscription", "subscription_item", "invoice",
        "line_item", "credit_note", "credit_note_line_item", "payment_intent", "charge", "refund", "billing.meter",
        "billing.meter_event", "billing.meter_event_summary", "event", "webhook_endpoint", "subscription_schedule",
    }  # fmt: skip


def test_fields_left_unchecked_are_known(findings: Findings) -> None:
    print("unchecked (null in the example, absent from the 2023 description):", sorted(findings.unchecked))
    assert findings.unchecked <= UNCHECKED


def test_the_comparison_catches_what_it_should() -> None:
    found = Findings()
    example = EXAMPLES["invoice"]
    found.check_object({**example, "id": "inv_1", "amount_due": "12", "days_until_due": 30, "customer": {"id": "c"}})
    assert found.problems == {
        "invoice.id: prefix inv_, Stripe's in_",
        "invoice.amount_due: string where Stripe's example has a integer",
        "invoice.days_until_due: not on Stripe's example (and not noted in sandboxes.stripe.fields)",
    }
