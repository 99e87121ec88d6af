"""The Business Central sandbox serves nothing Microsoft's API v2.0 does not define.

Its route table (entity sets under a company, their fields, navigation and bound actions) is
derived here from the published page definitions (``vendor/apiv2-pages.extract.json``) and,
for the entity sets those pages do not cover, from BC's captured ``$metadata``
(``vendor/api-v2.0-metadata.reduced.json``); see ``vendor/README.md`` for sources and licences.
Anything extra fails; ``companies``, built into the platform, is checked against ``$metadata``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandboxes.business_central import BusinessCentralSandbox
from sandboxes.business_central.schema import COMPANY, ENTITIES, TOP_LEVEL
from tests.support.business_central import API, company_id

VENDOR = Path(__file__).parent / "vendor"


@dataclass(frozen=True)
class Published:
    """What the vendor publishes for one entity set."""

    fields: frozenset[str]
    read_only: frozenset[str]
    """Fields the page marks ``Editable = false`` (unknown for sets taken from ``$metadata``)."""
    navigation: dict[str, str]
    """Navigation property → the entity set it leads to."""
    actions: frozenset[str]


def published() -> dict[str, Published]:
    """Entity set → what the pages (else ``$metadata``) define for it."""
    pages = json.loads((VENDOR / "apiv2-pages.extract.json").read_text())["pages"]
    metadata = json.loads((VENDOR / "api-v2.0-metadata.reduced.json").read_text())
    sets: dict[str, Published] = {}
    for page in pages:
        if page.get("APIGroup"):  # automation and other groups live under other roots than /api/v2.0
            continue
        sets[page["EntitySetName"]] = Published(
            fields=frozenset(f["name"] for f in page["fields"]),
            read_only=frozenset(f["name"] for f in page["fields"] if f.get("editable") is False),
            navigation={part["name"]: part["EntitySetName"] for part in page["parts"]},
            actions=frozenset(a["odata_action"].removeprefix("Microsoft.NAV.") for a in page["serviceEnabledActions"]),
        )
    entity_sets = {entity_type: name for name, entity_type in metadata["companyNavigation"].items()}
    for name, described in metadata["entityTypes"].items():
        sets.setdefault(
            name,
            Published(
                fields=frozenset(described["properties"]),
                read_only=frozenset(),
                navigation={nav: entity_sets.get(target, target) for nav, target in described["navigation"].items()},
                actions=frozenset(described["boundActions"]),
            ),
        )
    return sets


def test_every_entity_set_field_navigation_and_action_of_the_sandbox_is_published() -> None:
    pages = published()
    extra: list[str] = []
    for name, entity in ENTITIES.items():
        page = pages.get(name)
        if page is None:
            extra.append(f"entity set {name}")
            continue
        extra += [f"{name}.{field}" for field in sorted(set(entity.fields) - page.fields)]
        for nav, target in entity.navigation.items():
            if page.navigation.get(nav) != target:
                extra.append(f"{name}/{nav} → {target}")
        extra += [f"{name}/Microsoft.NAV.{action}" for action in sorted(set(entity.actions) - page.actions)]
        if entity.writable:
            # A field the page does not let a client write must not be writable in the sandbox.
            extra += [
                f"{name}.{field} writable" for field in sorted(page.read_only & set(entity.fields) - entity.read_only)
            ]
    companies = set(json.loads((VENDOR / "api-v2.0-metadata.reduced.json").read_text())["companies"]["properties"])
    extra += [f"companies.{field}" for field in sorted(set(COMPANY.fields) - companies)]
    assert extra == []


def test_the_bound_actions_are_exactly_the_published_ones_we_use() -> None:
    """Posting is bound to journals, invoices and credit memos, shipAndInvoice to sales orders, and
    nothing to customerPaymentJournals (the page has no action; the sandbox once invented one)."""
    pages = published()
    served = {name: set(entity.actions) for name, entity in ENTITIES.items() if entity.actions}
    assert served == {
        "salesOrders": {"shipAndInvoice"},
        "salesInvoices": {"post", "cancel"},
        "salesCreditMemos": {"post"},
        "journals": {"post"},
    }
    assert pages["customerPaymentJournals"].actions == frozenset()
    assert all(actions <= pages[name].actions for name, actions in served.items())


async def test_the_running_sandbox_lists_only_published_sets_and_refuses_others(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    pages = published()
    service = await odata.get(f"{API}/")
    assert service.status_code == 200
    listed = {entry["name"] for entry in service.json()["value"]}
    assert listed - {"companies"} <= set(pages) and set(TOP_LEVEL) <= listed
    company = company_id(sandbox)
    unpublished = await odata.get(f"{API}/companies({company})/salesShipments")
    assert unpublished.status_code == 404 and unpublished.json()["error"]["code"] == "BadRequest_NotFound"
    journal = next(iter(sandbox.store.company(company)["customerPaymentJournals"]))
    invented = await odata.post(f"{API}/companies({company})/customerPaymentJournals({journal})/Microsoft.NAV.post")
    assert invented.status_code == 400 and invented.json()["error"]["code"] == "BadRequest_MethodNotFound"
