"""The pod's set-up as the Oracle Fusion connector needs it: legal entities, business units, ledgers, items.

Read once per connector (set-up data changes rarely; :meth:`Setup.forget` drops it, as listing the
legal entities does): ``legalEntitiesLOV``, ``finBusinessUnitsLOV`` (each unit's legal entity and
primary ledger) and ``ledgersLOV`` (the ledger's currency), and the item numbers of ``itemsV2``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apis.canonical import LegalEntity
from apis.system.erp.connectors import oracle_fusion_mapping as of
from core.errors import NotFound, UpstreamContractViolation, UpstreamRejected

if TYPE_CHECKING:
    from apis.system.erp.connectors.oracle_fusion_http import OracleFusionHttp
    from apis.system.erp.settings import OracleFusionSettings


@dataclass(frozen=True)
class Unit:
    """A business unit with what documents need of it."""

    name: str
    legal_entity_id: str
    ledger_id: int
    ledger_name: str
    currency: str


class Setup:
    """Cached set-up reads of one pod."""

    def __init__(self, http: OracleFusionHttp, settings: OracleFusionSettings) -> None:
        self._http, self._settings = http, settings
        self._units: list[Unit] | None = None
        self._entities: list[dict[str, Any]] | None = None
        self._items: dict[str, str] | None = None
        self._item_numbers: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Read the set-up afresh on next use."""
        self._units = self._entities = None

    async def _load(self) -> list[Unit]:
        if self._units is not None:
            return self._units
        async with self._lock:
            if self._units is None:
                fscm = self._http.fscm
                entities = await self._http.items(f"{fscm}/legalEntitiesLOV", {"orderBy": "LegalEntityId:asc"})
                units = await self._http.items(f"{fscm}/finBusinessUnitsLOV", {})
                ledgers = {int(of.required(r, "LedgerId")): r for r in await self._http.items(f"{fscm}/ledgersLOV", {})}
                found = []
                for unit in units:
                    ledger = ledgers.get(int(of.required(unit, "PrimaryLedgerId")))
                    if ledger is None or unit.get("LegalEntityId") is None:
                        continue
                    found.append(
                        Unit(
                            str(of.required(unit, "BusinessUnitName")),
                            str(unit["LegalEntityId"]),
                            int(ledger["LedgerId"]),
                            str(of.required(ledger, "Name")),
                            str(of.required(ledger, "CurrencyCode")).upper(),
                        )
                    )
                self._entities, self._units = entities, found
        assert self._units is not None
        return self._units

    async def legal_entities(self) -> list[LegalEntity]:
        """Every legal entity with a business unit, in id order."""
        units = await self._load()
        by_entity = {unit.legal_entity_id: unit for unit in reversed(units)}
        out = []
        for entity in self._entities or []:
            unit = by_entity.get(str(entity.get("LegalEntityId")))
            if unit is not None:
                out.append(
                    LegalEntity(
                        id=str(entity["LegalEntityId"]),
                        name=str(entity.get("Name") or ""),
                        currency=unit.currency,
                        country=None,
                        parent_id=None,
                    )
                )
        return out

    async def default_unit(self) -> Unit:
        """The configured business unit."""
        units = await self._load()
        chosen = next((u for u in units if u.name == self._settings.business_unit), None)
        if chosen is None:
            raise UpstreamRejected(
                f"Oracle Fusion has no business unit {self._settings.business_unit!r} (oracle_fusion_business_unit)"
            )
        return chosen

    async def default_ledger(self) -> int:
        """The default business unit's primary ledger."""
        return (await self.default_unit()).ledger_id

    async def default_currency(self) -> str:
        """The default business unit's ledger currency."""
        return (await self.default_unit()).currency

    async def default_entity(self) -> str:
        """The legal entity of new customers without a currency match."""
        units = await self._load()
        if self._settings.legal_entity:
            for entity in self._entities or []:
                if entity.get("Name") == self._settings.legal_entity:
                    return str(entity["LegalEntityId"])
        return (await self.default_unit()).legal_entity_id if units else ""

    async def entities_by_currency(self) -> dict[str, str]:
        """Ledger currency → the first legal entity (in unit order) booking in it."""
        found: dict[str, str] = {}
        for unit in await self._load():
            found.setdefault(unit.currency, unit.legal_entity_id)
        return found

    async def entity_for_currency(self, currency: str | None) -> str:
        """The legal entity of a customer in ``currency``."""
        return (await self.entities_by_currency()).get(str(currency or "").upper()) or await self.default_entity()

    async def unit_for_entity(self, legal_entity_id: str) -> Unit:
        """The business unit of a legal entity (NotFound when it has none)."""
        unit = next((u for u in await self._load() if u.legal_entity_id == legal_entity_id), None)
        if unit is None:
            raise NotFound(f"No legal entity {legal_entity_id}")
        return unit

    async def unit_named(self, name: str) -> Unit:
        """A business unit by name."""
        unit = next((u for u in await self._load() if u.name == name), None)
        if unit is None:
            raise UpstreamContractViolation(f"Oracle Fusion names an unknown business unit {name!r}")
        return unit

    async def unit_for_ledger(self, ledger_name: str) -> Unit | None:
        """The business unit whose primary ledger is ``ledger_name``."""
        return next((u for u in await self._load() if u.ledger_name == ledger_name), None)

    async def currency_of_entity(self, legal_entity_id: str) -> str:
        """The ledger currency of a legal entity."""
        return (await self.unit_for_entity(legal_entity_id)).currency

    async def item_ids(self) -> dict[str, str]:
        """Item number → item id."""
        if self._items is None:
            records = await self._http.items(f"{self._http.fscm}/itemsV2", {"fields": "ItemId,ItemNumber"})
            self._items = {str(r["ItemNumber"]): str(r["ItemId"]) for r in records if r.get("ItemNumber")}
            self._item_numbers = {item_id: number for number, item_id in self._items.items()}
        return self._items

    async def item_number(self, item_id: str) -> str:
        """The item number of an item id (read again once when unknown: an item may be new)."""
        await self.item_ids()
        if item_id not in self._item_numbers:
            self._items = None
            await self.item_ids()
        number = self._item_numbers.get(item_id)
        if number is None:
            raise NotFound(f"No item {item_id}")
        return number
