"""Soak: the fault suite's steady load for ten minutes, and each gateway's resident memory over time.

    uv run python bench/soak.py [--minutes 10] [--warm-up 2] [--sample-seconds 10]   # or: make soak

Two ``strata serve`` processes (the engine on) on a private PostgreSQL and a private Redis (as in
``tests/apis/process/test_faults.py``, started here on their own ports) and a vendors process take
the load of :class:`tests.support.load.Load`: governed reads of the operations API every 50 ms and a
quote-to-cash order every 0.5 s (a governed write with an ``Idempotency-Key``; each order 8 steps
and ~14 vendor calls), spread over both gateways, with no fault. Every ``--sample-seconds`` the
resident memory (``VmRSS``) of each gateway's processes is read from /proc: the server and its
worker. The target: flat after warm-up, growth ≤ 5 % from the end of ``--warm-up`` minutes to the
end. Results (JSON, every sample) go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster  # noqa: E402  (the tests' harness: one way to run a cluster)
from tests.support.load import Load  # noqa: E402
from tests.support.private_services import PrivatePostgres  # noqa: E402
from tests.support.procs import SandboxesProcess  # noqa: E402
from tests.support.redis_servers import RedisServer  # noqa: E402

DEALS_PER_BATCH = 200


def group_rss_kib(leader: int) -> dict[int, int]:
    """VmRSS (KiB) of every process in ``leader``'s process group (the server and its workers)."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != leader:  # field 5 of /proc/<pid>/stat: the process group
                continue
            status = (stat.parent / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[int(stat.parent.name)] = int(line.split()[1])
    return found


async def soak(minutes: float, warm_up: float, sample_seconds: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="strata-soak-"))
    postgres, redis = PrivatePostgres().start(), RedisServer(root / "redis", persisted=True).start()
    vendors = SandboxesProcess(root / "vendors")
    vendors.start()
    cluster = Cluster(root, vendors, database_url=postgres.url, redis_url=redis.url)
    cluster.start(2)
    samples: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            orders = int(minutes * 60 / 0.5) + 10
            deals: list[dict[str, str]] = []
            while len(deals) < orders:
                deals += await cluster.deals(client, min(DEALS_PER_BATCH, orders - len(deals)), f"Soak{len(deals)}")
            load = Load(cluster, deals, submit_every_seconds=0.5)
            tasks = [asyncio.create_task(load.submit_forever(client)), asyncio.create_task(load.read_forever(client))]
            started = time.monotonic()
            try:
                while (elapsed := time.monotonic() - started) < minutes * 60:
                    rss = {
                        f"gw-{number}": group_rss_kib(gateway.process.pid)
                        for number, gateway in enumerate(cluster.gateways)
                        if gateway.process is not None and gateway.process.poll() is None
                    }
                    samples.append({"seconds": round(elapsed, 1), "rss_kib": rss})
                    print(
                        f"{elapsed:6.0f} s  "
                        + "  ".join(f"{n}: {sum(v.values()) / 1024:.0f} MiB" for n, v in rss.items())
                    )
                    await asyncio.sleep(sample_seconds)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            states = Counter(v["state"] for v in (await cluster.states(client, set(load.accepted.values()))).values())
    finally:
        cluster.stop()
        vendors.stop()
        redis.stop()
        postgres.remove()
    return _report(samples, warm_up * 60, load, states)


def _report(samples: list[dict[str, Any]], warm_up: float, load: Load, states: Counter[str]) -> dict[str, Any]:
    after = [s for s in samples if s["seconds"] >= warm_up]
    growth: dict[str, dict[str, float]] = {}
    for name in samples[-1]["rss_kib"]:
        first, last = sum(after[0]["rss_kib"][name].values()), sum(after[-1]["rss_kib"][name].values())
        peak = max(sum(s["rss_kib"][name].values()) for s in after)
        growth[name] = {
            "after_warm_up_mib": round(first / 1024, 1),
            "end_mib": round(last / 1024, 1),
            "peak_mib": round(peak / 1024, 1),
            "growth_percent": round((last - first) / first * 100, 2),
        }
    served = sum(outcome.startswith("2") for records in load.seen.values() for _, outcome, _ in records)
    errors = Counter(o for records in load.seen.values() for _, o, _ in records if not o.startswith("2"))
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "warm_up_seconds": warm_up,
        "requests_served": served,
        "errors": dict(errors),
        "orders_accepted": len(load.accepted),
        "order_states": dict(states),
        "gateways": growth,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=2.0, help="minutes before the growth is measured")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    args = parser.parse_args()
    report = asyncio.run(soak(args.minutes, args.warm_up, args.sample_seconds))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"soak-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=1))
    summary = {k: v for k, v in report.items() if k != "samples"}
    print(json.dumps(summary, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
