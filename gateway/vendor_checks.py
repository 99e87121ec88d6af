"""The preflight against the vendors: ``strata vendors check`` and ``GET /gateway/v1/vendors``.

For each vendor with a URL (or the one asked for by name, sandbox or not) the vendor's own
checks run (:data:`PREFLIGHTS`, each beside its connector in ``apis/system/<domain>/``) over a
fresh :class:`~apis.system.kit.link.VendorLink`: a token is obtained, the API version is named,
and the set-up the connector needs is read from the vendor. The result is one
:class:`~apis.system.kit.preflight.Check` per line, each failure with what to do.

The HTTP endpoint answers from :class:`VendorCheckCache`: one run per vendor selection every
``ttl_seconds`` per process, concurrent callers sharing it, so the endpoint cannot be used to
hammer the vendors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from apis.system.billing.preflight import stripe_preflight
from apis.system.crm.preflight import salesforce_preflight
from apis.system.erp.business_central_preflight import business_central_preflight
from apis.system.erp.netsuite_preflight import netsuite_preflight
from apis.system.erp.oracle_fusion_preflight import oracle_fusion_preflight
from apis.system.erp.sap_s4hana_preflight import sap_s4hana_preflight
from apis.system.kit.link import VendorLink
from apis.system.kit.preflight import Check
from apis.system.tax.preflight import avalara_preflight
from core.errors import StrataError
from core.settings import SettingsError
from gateway.settings import Settings
from gateway.vendors import VENDOR_BY_NAME, VendorLinks

Preflight = Callable[[Settings, VendorLink[Any]], Awaitable[list[Check]]]
PREFLIGHTS: dict[str, Preflight] = {
    "salesforce": lambda settings, link: salesforce_preflight(link, settings.salesforce),
    "netsuite": lambda settings, link: netsuite_preflight(link, settings.netsuite),
    "business-central": lambda settings, link: business_central_preflight(link, settings.business_central),
    "sap-s4hana": lambda settings, link: sap_s4hana_preflight(link, settings.sap_s4hana),
    "oracle-fusion": lambda settings, link: oracle_fusion_preflight(link, settings.oracle_fusion),
    "avalara": lambda settings, link: avalara_preflight(link, settings.avalara),
    "stripe": lambda settings, link: stripe_preflight(link, settings.stripe),
}
"""Each vendor's checks, by vendor name (``gateway.vendors.VENDORS``)."""
DEFAULT_CACHE_SECONDS = 300.0
"""How long ``GET /gateway/v1/vendors`` answers one run before running the checks again."""
PREFLIGHT_DEADLINE_SECONDS = 60.0
"""A vendor whose checks take longer is reported as not answering."""


class VendorReport(msgspec.Struct, frozen=True, kw_only=True):
    """The checks of one vendor."""

    vendor: str
    target: str
    """``vendor`` (its URL is configured) or ``sandbox`` (the simulator, asked for by name)."""
    url: str
    ok: bool
    checks: list[Check]


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """Every vendor checked, and whether all of them pass."""

    ok: bool
    checked_at: str
    vendors: list[VendorReport]

    def lines(self) -> list[str]:
        """One line per check (and one when no vendor has a URL)."""
        if not self.vendors:
            return ["no vendor has a URL configured: every vendor is its sandbox (name one with --vendor)"]
        return [check.line() for vendor in self.vendors for check in vendor.checks]


class UnknownVendor(ValueError):
    """A vendor name with no preflight."""


def selected(settings: Settings, vendor: str | None) -> list[str]:
    """The vendors to check: ``vendor`` alone, else every vendor with a configured URL."""
    if vendor is not None:
        if vendor not in PREFLIGHTS:
            raise UnknownVendor(f"no vendor {vendor!r}: one of {', '.join(PREFLIGHTS)}")
        return [vendor]
    return [name for name in PREFLIGHTS if VENDOR_BY_NAME[name].url(settings)]


async def check_vendors(settings: Settings, links: VendorLinks, names: list[str]) -> Report:
    """Run the checks of ``names`` at once; never raises for a vendor's failure (it is a failed check)."""
    reports = await asyncio.gather(*(_check_one(settings, links, name) for name in names))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return Report(ok=all(report.ok for report in reports), checked_at=stamp, vendors=list(reports))


async def _check_one(settings: Settings, links: VendorLinks, name: str) -> VendorReport:
    url = VENDOR_BY_NAME[name].url(settings)
    target, shown = ("vendor", url) if url else ("sandbox", "(in process)")
    try:
        link = await links.link(name)
    except (SettingsError, StrataError) as error:
        checks = [_failed(name, "credentials", str(error), "fix the settings named above")]
        return VendorReport(vendor=name, target=target, url=shown, ok=False, checks=checks)
    try:
        checks = await asyncio.wait_for(PREFLIGHTS[name](settings, link), PREFLIGHT_DEADLINE_SECONDS)
    except TimeoutError:
        checks = [
            _failed(
                name,
                "connection",
                f"no answer within {PREFLIGHT_DEADLINE_SECONDS:.0f} s",
                "check the URL setting and the network path to the vendor",
            )
        ]
    except Exception as error:  # a vendor's unexpected failure is its failed check
        checks = [
            _failed(
                name,
                "connection",
                f"the checks stopped: {type(error).__name__}",
                "check the URL setting and the vendor's status; run again",
            )
        ]
    finally:
        await link.client.aclose()
    return VendorReport(vendor=name, target=target, url=shown, ok=all(c.ok for c in checks), checks=checks)


def _failed(vendor: str, name: str, detail: str, action: str) -> Check:
    return Check(vendor=vendor, name=name, status="failed", detail=detail, action=action)


class VendorCheckCache:
    """One preflight run per vendor selection every ``ttl_seconds`` in this process."""

    def __init__(
        self,
        settings: Settings,
        links: Callable[[], VendorLinks],
        *,
        ttl_seconds: float = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._links = links
        self._ttl = ttl_seconds
        self._clock = clock
        self._results: dict[str | None, tuple[float, Report]] = {}
        self._locks: dict[str | None, asyncio.Lock] = {}

    async def report(self, vendor: str | None) -> tuple[Report, float]:
        """The report for ``vendor`` (``None``: every vendor with a URL) and its age in seconds.

        Raises:
            UnknownVendor: no vendor of that name.
        """
        names = selected(self._settings, vendor)
        lock = self._locks.setdefault(vendor, asyncio.Lock())
        async with lock:
            cached = self._results.get(vendor)
            now = self._clock()
            if cached is None or now - cached[0] >= self._ttl:
                cached = (now, await check_vendors(self._settings, self._links(), names))
                self._results[vendor] = cached
        return cached[1], self._clock() - cached[0]
