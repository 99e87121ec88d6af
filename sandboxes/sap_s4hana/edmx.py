"""The services' EDMX (OData V2 ``$metadata``) read into what the sandbox validates requests against.

Each published file under ``metadata/`` is parsed once: entity sets with their keys, properties
(EDM type, ``MaxLength``, ``sap:creatable`` / ``sap:updatable``), navigation properties (the target
entity set and whether it is a collection), the set's own ``sap:creatable`` / ``updatable`` /
``deletable`` flags, and the function imports. The raw bytes are kept to be served as they are.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

METADATA_DIR = Path(__file__).parent / "metadata"
EDM = "{http://schemas.microsoft.com/ado/2008/09/edm}"
SAP = "{http://www.sap.com/Protocols/SAPData}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"


@dataclass(frozen=True)
class Prop:
    """One property of an entity type."""

    name: str
    type: str
    max_length: int | None = None
    creatable: bool = True
    updatable: bool = True


@dataclass(frozen=True)
class Nav:
    """One navigation property: the entity set it leads to, and whether it is a collection."""

    name: str
    target: str
    many: bool


@dataclass
class EntitySet:
    """One entity set of a service, as its EDMX defines it."""

    service: str
    name: str
    type_name: str
    keys: tuple[str, ...]
    props: dict[str, Prop]
    navs: dict[str, Nav] = field(default_factory=dict)
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True


@dataclass(frozen=True)
class Function:
    """A function import: its HTTP method, parameters and the entity type it acts on (if any)."""

    name: str
    method: str
    params: tuple[str, ...]


@dataclass
class Service:
    """One OData V2 service: its entity sets, function imports and ``$metadata`` bytes."""

    name: str
    namespace: str
    sets: dict[str, EntitySet]
    functions: dict[str, Function]
    metadata: bytes


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(f"{SAP}{name}") != "false"


def parse(name: str, raw: bytes) -> Service:
    """The service ``name`` described by the EDMX ``raw``."""
    root = ET.fromstring(raw)
    schemas = list(root.iter(f"{EDM}Schema"))
    types: dict[str, ET.Element] = {}
    associations: dict[str, ET.Element] = {}
    namespace = ""
    for schema in schemas:
        namespace = namespace or schema.get("Namespace", "")
        for entity_type in schema.findall(f"{EDM}EntityType"):
            types[entity_type.get("Name", "")] = entity_type
        for association in schema.findall(f"{EDM}Association"):
            associations[association.get("Name", "")] = association
    set_of_type: dict[str, str] = {}
    sets: dict[str, EntitySet] = {}
    functions: dict[str, Function] = {}
    for container in root.iter(f"{EDM}EntityContainer"):
        for entity_set in container.findall(f"{EDM}EntitySet"):
            type_name = entity_set.get("EntityType", "").rsplit(".", 1)[-1]
            set_of_type.setdefault(type_name, entity_set.get("Name", ""))
        for function in container.findall(f"{EDM}FunctionImport"):
            params = tuple(p.get("Name", "") for p in function.findall(f"{EDM}Parameter"))
            fname = function.get("Name", "")
            functions[fname] = Function(fname, function.get(f"{M}HttpMethod", "GET"), params)
    for container in root.iter(f"{EDM}EntityContainer"):
        for entity_set in container.findall(f"{EDM}EntitySet"):
            type_name = entity_set.get("EntityType", "").rsplit(".", 1)[-1]
            entity_type = types[type_name]
            keys = tuple(ref.get("Name", "") for ref in entity_type.iter(f"{EDM}PropertyRef"))
            props = {
                p.get("Name", ""): Prop(
                    p.get("Name", ""),
                    p.get("Type", "Edm.String"),
                    int(p.get("MaxLength", "0")) or None,
                    _flag(p, "creatable"),
                    _flag(p, "updatable"),
                )
                for p in entity_type.findall(f"{EDM}Property")
            }
            navs = {}
            for nav in entity_type.findall(f"{EDM}NavigationProperty"):
                found = associations.get(nav.get("Relationship", "").rsplit(".", 1)[-1])
                if found is None:
                    continue
                end = next(e for e in found.findall(f"{EDM}End") if e.get("Role") == nav.get("ToRole"))
                target_type = end.get("Type", "").rsplit(".", 1)[-1]
                if target_type in set_of_type:
                    navs[nav.get("Name", "")] = Nav(
                        nav.get("Name", ""), set_of_type[target_type], end.get("Multiplicity") == "*"
                    )
            set_name = entity_set.get("Name", "")
            sets[set_name] = EntitySet(
                name, set_name, type_name, keys, props, navs,
                _flag(entity_set, "creatable"), _flag(entity_set, "updatable"), _flag(entity_set, "deletable"),
            )  # fmt: skip
    return Service(name, namespace, sets, functions, raw)


@cache
def published(name: str) -> Service:
    """The service ``name`` from its published EDMX file in ``metadata/``."""
    return parse(name, (METADATA_DIR / f"{name}.edmx").read_bytes())


PUBLISHED = (
    "API_BUSINESS_PARTNER",
    "API_SALES_ORDER_SRV",
    "API_BILLING_DOCUMENT_SRV",
    "API_JOURNALENTRYITEMBASIC_SRV",
    "API_GLACCOUNTLINEITEM",
)
"""The services whose SAP ``$metadata`` is in ``metadata/`` (see its PROVENANCE.md)."""
