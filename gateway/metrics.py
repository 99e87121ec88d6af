"""``/metrics``: one process's metrics, or every worker's summed under ``serve --workers N``.

prometheus_client keeps values per process, and behind one port a scrape reaches whichever
worker accepts it. So with several workers ``strata serve`` runs prometheus_client's
**multiprocess mode** (``PROMETHEUS_MULTIPROC_DIR`` under the state directory, wiped at each
start, set before any worker imports prometheus_client): counters, gauges and histograms are
written to per-process files and every scrape sums all workers'. Gauges are reported per
worker (a ``pid`` label), the library's default ``all`` mode.

The request counters and latency histograms (:mod:`policies.request_metrics`) are plain
integers in each process, cheaper than prometheus_client's values on the hot path; each
worker writes a snapshot of them to the same directory every :data:`SNAPSHOT_SECONDS`
(and at shutdown), and a scrape sums the others' snapshots with its own live values. A
scrape can therefore lag other workers' requests by up to that interval. Snapshots and
counter files of workers that exited stay, so totals never go backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from policies.request_metrics import REQUEST_METRICS, families

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own variable; ``strata serve`` sets it (see gateway.cli)."""
SNAPSHOT_SECONDS = 1.0
_SNAPSHOT_PREFIX = "strata-requests-"


def multiprocess_dir() -> Path | None:
    """The multiprocess directory of this process, when several workers share the port."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class _AllWorkersRequests(Collector):
    """Request families summed over this process's live values and the other workers' snapshots."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Any]:
        own = f"{_SNAPSHOT_PREFIX}{os.getpid()}.json"
        snapshots = [REQUEST_METRICS.snapshot()]
        for path in self.directory.glob(f"{_SNAPSHOT_PREFIX}*.json"):
            if path.name == own:
                continue
            with contextlib.suppress(OSError, ValueError):
                snapshots.append(json.loads(path.read_text()))
        return families(snapshots)


def exposition() -> tuple[bytes, str]:
    """The body and media type of a ``/metrics`` answer."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    registry.register(_AllWorkersRequests(directory))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def write_snapshot(directory: Path, text: str) -> None:
    """Write this worker's request metrics (JSON of a snapshot) for the others' scrapes, atomically."""
    target = directory / f"{_SNAPSHOT_PREFIX}{os.getpid()}.json"
    temporary = target.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, target)


async def snapshot_periodically(directory: Path) -> None:
    """Background task of each worker in multiprocess mode."""
    try:
        while True:
            await asyncio.sleep(SNAPSHOT_SECONDS)
            # Taken here, on the loop that updates the counters; only the write is off-loop.
            text = json.dumps(REQUEST_METRICS.snapshot())
            with contextlib.suppress(OSError):
                await asyncio.to_thread(write_snapshot, directory, text)
    finally:
        with contextlib.suppress(OSError):
            write_snapshot(directory, json.dumps(REQUEST_METRICS.snapshot()))  # the last word at shutdown
