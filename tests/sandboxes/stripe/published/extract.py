"""Regenerate the two files beside this script from Stripe's published artefacts (not run by tests).

    python tests/sandboxes/stripe/published/extract.py <path to fixtures3.json> <path to spec3 2023 yaml>

* ``fixtures3.subset.json``: the example objects of ``fixtures3.json`` (stripe/openapi, MIT, snapshot
  f6c2a48fbac2819d1feba8143d942ffc65e1c0d2, ``openapi/fixtures3.json``) for the objects the sandbox
  serves, unchanged.
* ``spec3-2023.fields.json``: from the stale 2023-08-16 OpenAPI description (stripe/openapi
  f276814e8f9a9f620fdf4cf9d08ce173047389c7, ``openapi/spec3.yaml``), per object the JSON types of
  each property, nested ones as dotted paths (``address.city``; ``null`` included when nullable),
  and its ``x-expandableFields``. Used only where
  the example's value is null (the type it says nothing about) and for which fields are expandable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OBJECTS = (
    "customer", "product", "price", "subscription", "subscription_item", "invoice", "line_item",
    "invoiceitem", "credit_note", "credit_note_line_item", "payment_intent", "charge", "refund",
    "billing.meter", "billing.meter_event", "billing.meter_event_summary", "event", "webhook_endpoint",
    "deleted_customer",
    "plan",
    "subscription_schedule",
)  # fmt: skip
HERE = Path(__file__).parent


def _types(schema: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        return ["object"]
    found: list[str] = []
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found += _types(option)
    if "type" in schema:
        found.append("number" if schema["type"] == "number" else schema["type"])
    if schema.get("nullable"):
        found.append("null")
    return sorted(set(found))


def _flatten(schemas: dict[str, Any], schema: dict[str, Any], prefix: str, depth: int, out: dict[str, Any]) -> None:
    for prop, sub in schema.get("properties", {}).items():
        out[prefix + prop] = _types(sub)
        refs = [sub] if "$ref" in sub else [o for o in sub.get("anyOf", []) if "$ref" in o]
        if depth and len(refs) == 1:
            target = schemas.get(refs[0]["$ref"].rsplit("/", 1)[-1], {})
            if "object" not in target.get("properties", {}):  # nested parts, not objects of their own
                _flatten(schemas, target, f"{prefix}{prop}.", depth - 1, out)


def _fields(schemas: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    _flatten(schemas, schemas[name], "", 3, properties)
    return properties


def main(fixtures_path: str, spec_path: str) -> None:
    fixtures = json.loads(Path(fixtures_path).read_text())["resources"]
    subset = {name: fixtures[name] for name in OBJECTS if name in fixtures}
    (HERE / "fixtures3.subset.json").write_text(json.dumps({"resources": subset}, indent=1, sort_keys=True) + "\n")
    schemas = yaml.load(Path(spec_path).read_text(), Loader=yaml.CSafeLoader)["components"]["schemas"]
    fields = {
        name: {
            "properties": _fields(schemas, name),
            "expandable": schemas[name].get("x-expandableFields", []),
        }
        for name in OBJECTS
        if name in schemas
    }
    (HERE / "spec3-2023.fields.json").write_text(json.dumps(fields, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
