"""Reduce Business Central's captured ``$metadata`` to what the published-pages test needs.

``python tests/sandboxes/business_central/vendor/reduce_metadata.py <api-v2.0-metadata.CAPTURED.xml> \\
items,salesCreditMemos,salesCreditMemoLines,generalLedgerEntries,accountingPeriods,accounts,paymentTerms,companyInformation
> tests/sandboxes/business_central/vendor/api-v2.0-metadata.reduced.json`` (see README.md).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from typing import Any

NS = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}


def _short(type_name: str) -> str:
    return type_name.removeprefix("Collection(").removesuffix(")").removeprefix("Microsoft.NAV.")


def reduce(path: str, wanted: set[str]) -> dict[str, Any]:
    """Company properties, the company's entity sets, and the properties, navigation and bound
    actions of the ``wanted`` entity sets."""
    schema = ET.parse(path).getroot().find(".//edm:Schema", NS)
    assert schema is not None
    types = {t.get("Name"): t for t in schema.findall("edm:EntityType", NS)}
    company = types["company"]
    sets = {str(n.get("Name")): _short(str(n.get("Type"))) for n in company.findall("edm:NavigationProperty", NS)}
    actions: dict[str, list[str]] = {}
    for action in schema.findall("edm:Action", NS):
        binding = action.find("edm:Parameter", NS)
        if action.get("IsBound") == "true" and binding is not None:
            actions.setdefault(_short(str(binding.get("Type"))), []).append(str(action.get("Name")))
    entity_types: dict[str, Any] = {}
    for name in sorted(wanted):
        entity = types[sets[name]]
        entity_types[name] = {
            "type": sets[name],
            "properties": [p.get("Name") for p in entity.findall("edm:Property", NS)],
            "navigation": {
                n.get("Name"): _short(str(n.get("Type"))) for n in entity.findall("edm:NavigationProperty", NS)
            },
            "boundActions": sorted(actions.get(sets[name], [])),
        }
    properties = [p.get("Name") for p in company.findall("edm:Property", NS)]
    return {"companies": {"type": "company", "properties": properties}, "companyNavigation": sets,
            "entityTypes": entity_types}  # fmt: skip


if __name__ == "__main__":
    json.dump(reduce(sys.argv[1], set(sys.argv[2].split(","))), sys.stdout, indent=1, sort_keys=True)
