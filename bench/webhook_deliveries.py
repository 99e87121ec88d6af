"""Partner webhook delivery throughput: events in the outbox → signed POSTs at a local receiver.

    uv run python bench/webhook_deliveries.py [--events 300] [--partners 2] [--delay-ms 20] [--postgres]

One in-process gateway with the workflow engine (SQLite, the embedded default, or a fresh
PostgreSQL database with ``--postgres``; the tests' harness), partners northwind and contoso
each subscribed with a receiver on 127.0.0.1 that answers 200 after ``--delay-ms`` (a
receiver's own work). ``--events`` events about the
partners' customers (split evenly) are written to the outbox at once; the figure is deliveries
per second from the first write until every event has reached its receiver (distinct
``webhook-id``), and how many requests that took (more than the events: an attempt was repeated).

The same script measures the code of another checkout: ``PYTHONPATH=<checkout>`` (e.g. ``git
archive main | tar -x -C /tmp/strata-main``). Settings a checkout does not know are left out:
``--per-partner`` sets ``partner_webhook_concurrency_per_partner`` only where it exists.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if "PYTHONPATH" not in os.environ:  # this checkout's code, unless another one is named
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import CoreSettings
from tests.apis.experience.partner_webhooks.portal import customer_synced, make_hooks
from tests.support.harness import running_gateway
from tests.support.scratch_postgres import create_database, drop_database, sqlalchemy_url


def _receiver_class() -> Any:
    """The tests' receiver, from this checkout's file (another checkout's may not count requests in flight)."""
    path = Path(__file__).resolve().parent.parent / "tests/apis/experience/partner_webhooks/receiver.py"
    spec = importlib.util.spec_from_file_location("bench_receiver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.Receiver


Receiver = _receiver_class()


async def measure(events: int, partners: int, delay_ms: int, per_partner: int | None, postgres: bool) -> dict[str, Any]:
    database = await create_database("strata_bench") if postgres else None
    try:
        return await _measure(events, partners, delay_ms, per_partner, database)
    finally:
        if database is not None:
            await drop_database(database)


async def _measure(
    events: int, partners: int, delay_ms: int, per_partner: int | None, database: str | None
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "workflows_enabled": True,
        "reconciliation_schedule_hour": -1,
        "allow_loopback_destinations": True,
        "log_level": "warning",
    }
    if database is not None:
        settings["database_url"] = sqlalchemy_url(database)
    if per_partner is not None and "partner_webhook_concurrency_per_partner" in CoreSettings.__struct_fields__:
        settings["partner_webhook_concurrency_per_partner"] = per_partner
        settings["partner_webhook_rate_per_partner"] = 10_000
    with tempfile.TemporaryDirectory() as state:
        async with running_gateway(Path(state), **settings) as gw:
            hooks = await make_hooks(gw)
            chosen = [hooks.a, hooks.b][:partners]
            receivers = [Receiver(delay_seconds=delay_ms / 1000).start() for _ in chosen]
            try:
                for partner, receiver in zip(chosen, receivers, strict=True):
                    await hooks.subscribe(partner, receiver.url)
                written = [customer_synced(chosen[n % len(chosen)].account_id) for n in range(events)]
                started = time.monotonic()
                for event in written:
                    await hooks.happen(event)
                expected = {event.id for event in written}
                while True:
                    seen = {r.headers["webhook-id"] for receiver in receivers for r in list(receiver.requests)}
                    if expected <= seen:
                        break
                    if time.monotonic() - started > 600:
                        raise TimeoutError(f"{len(seen & expected)} of {events} delivered in 600 s")
                    await asyncio.sleep(0.01)
                elapsed = time.monotonic() - started
                requests = sum(len(receiver.requests) for receiver in receivers)
                most = [receiver.most_in_flight for receiver in receivers]
            finally:
                for receiver in receivers:
                    receiver.close()
    return {
        "events": events,
        "database": "postgresql" if database else "sqlite",
        "partners": partners,
        "receiver_delay_ms": delay_ms,
        "per_partner_setting": settings.get("partner_webhook_concurrency_per_partner"),
        "seconds": round(elapsed, 2),
        "deliveries_per_second": round(events / elapsed, 1),
        "requests": requests,
        "most_in_flight_per_receiver": most,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--partners", type=int, default=2, choices=(1, 2))
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--per-partner", type=int, default=None)
    parser.add_argument("--postgres", action="store_true", help="a fresh database on 127.0.0.1:5432, not SQLite")
    args = parser.parse_args()
    result = asyncio.run(measure(args.events, args.partners, args.delay_ms, args.per_partner, args.postgres))
    result |= {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "code": str(Path(sys.modules["gateway"].__file__ or "").parent.parent),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
