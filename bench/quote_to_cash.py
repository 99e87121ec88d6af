"""Quote-to-cash throughput and end-to-end time, next to the raw engine rate, in one run.

    uv run python bench/quote_to_cash.py [--orders 200] [--raw-workflows 400]

Configurations, measured in one run, one after the other on a quiet machine:

* raw engine, SQLite and PostgreSQL: ``bench/raw_engine.py`` (DBOS workflows of 8 no-op steps,
  our step wrapper) — the ceiling;
* quote-to-cash on SQLite, one gateway process; on PostgreSQL with one and with two processes
  (Redis for limits and the event stream): ``strata serve`` processes with the engine, the vendors
  in their own ``strata sandboxes serve`` process, ``--orders`` won deals on new accounts
  submitted at once (16 in flight), each order 8 steps and ~14 vendor calls.

Per configuration: orders/s (from the first submission to the last completion), p50/p95 of
each order's end-to-end time (accepted → completed, from the transaction's own timestamps),
and where the CPU went (seconds per order in the gateway processes, the vendors process and
PostgreSQL, from /proc). Results (JSON) go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cluster import Cluster  # noqa: E402  (the tests' harness: one way to run a cluster)
from tests.support.procs import SandboxesProcess  # noqa: E402
from tests.support.scratch_postgres import create_database, drop_database, sqlalchemy_url  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes and their children so far (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return total


def group_pids(leader: int) -> list[int]:
    """Every process of a process group (granian's supervisor and its workers)."""
    out = subprocess.run(["pgrep", "-g", str(leader)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def postgres_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


async def run_quote_to_cash(
    root: Path, sandboxes: SandboxesProcess, *, orders: int, gateways: int, database_url: str = "", redis_url: str = ""
) -> dict[str, Any]:
    cluster = Cluster(root, sandboxes, database_url=database_url, redis_url=redis_url).start(gateways)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            deals = await cluster.deals(client, orders, f"Bench {uuid.uuid4().hex[:6]}")
            # Warm-up: a few orders first (connections, caches), not measured.
            warm = await cluster.deals(client, 4, "Warm")
            warm_ids = set((await cluster.submit_all(client, warm, spread=True)).values())
            await cluster.wait_until(client, warm_ids, settled=len(warm_ids), within=120)
            gateway_pids = [pid for g in cluster.gateways if g.process for pid in group_pids(g.process.pid)]
            vendor_pids = group_pids(sandboxes.process.pid) if sandboxes.process else []
            before = (cpu_seconds(gateway_pids), cpu_seconds(vendor_pids), cpu_seconds(postgres_pids()))
            started = time.time()
            txns = await cluster.submit_all(client, deals, spread=True)
            views = await cluster.wait_until(client, set(txns.values()), settled=orders, within=600)
            after = (cpu_seconds(gateway_pids), cpu_seconds(vendor_pids), cpu_seconds(postgres_pids()))
    finally:
        cluster.stop()
    completed = [v for v in views.values() if v["state"] == "completed"]
    ends = [_epoch(v["completed_at"]) for v in completed]
    durations = sorted(_epoch(v["completed_at"]) - _epoch(v["created_at"]) for v in completed)
    elapsed = max(ends) - started
    return {
        "orders": orders,
        "completed": len(completed),
        "gateways": gateways,
        "seconds": round(elapsed, 2),
        "orders_per_s": round(len(completed) / elapsed, 2),
        "p50_ms": round(statistics.median(durations) * 1000),
        "p95_ms": round(durations[int(0.95 * (len(durations) - 1))] * 1000),
        "cpu_s_per_order": {
            "gateways": round((after[0] - before[0]) / orders, 4),
            "vendors": round((after[1] - before[1]) / orders, 4),
            "postgresql": round((after[2] - before[2]) / orders, 4) if database_url else 0.0,
        },
    }


def run_raw(database: str, workflows: int, postgres_url: str = "") -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "bench" / "raw_engine.py"), "--database", database]
    command += ["--workflows", str(workflows)]
    if postgres_url:
        command += ["--postgres-url", postgres_url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--raw-workflows", type=int, default=400)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-q2c-"))
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": _cpus()}}
    results["raw_sqlite"] = run_raw("sqlite", args.raw_workflows)
    print("raw engine, SQLite:", results["raw_sqlite"], flush=True)
    # Fresh vendors for every configuration: the sandboxes rewrite their state file on every
    # write, so a vendor process that already holds the previous run's records is slower.
    sandboxes = SandboxesProcess(root / "vendors-sqlite").start()
    try:
        results["q2c_sqlite_1"] = await run_quote_to_cash(root / "sqlite", sandboxes, orders=args.orders, gateways=1)
    finally:
        sandboxes.stop()
    print("quote-to-cash, SQLite, 1 process:", results["q2c_sqlite_1"], flush=True)
    for label, gateways in (("q2c_postgresql_1", 1), ("q2c_postgresql_2", 2)):
        name = await create_database("strata_bench")
        sandboxes = SandboxesProcess(root / f"vendors-{label}").start()
        try:
            if label == "q2c_postgresql_1":
                raw_url = sqlalchemy_url(name, driver="")
                results["raw_postgresql"] = run_raw("postgresql", args.raw_workflows, raw_url)
                print("raw engine, PostgreSQL:", results["raw_postgresql"], flush=True)
            url = sqlalchemy_url(name)
            scale = {"gateways": gateways, "database_url": url, "redis_url": REDIS_URL}
            results[label] = await run_quote_to_cash(root / label, sandboxes, orders=args.orders, **scale)
            print(f"quote-to-cash, PostgreSQL, {gateways} process(es):", results[label], flush=True)
        finally:
            sandboxes.stop()
            await drop_database(name)
    raw_s, raw_pg = results["raw_sqlite"]["workflows_per_s"], results["raw_postgresql"]["workflows_per_s"]
    results["ratios"] = {
        "sqlite_1_vs_raw": round(results["q2c_sqlite_1"]["orders_per_s"] / raw_s, 3),
        "postgresql_1_vs_raw": round(results["q2c_postgresql_1"]["orders_per_s"] / raw_pg, 3),
        "postgresql_2_vs_1": round(
            results["q2c_postgresql_2"]["orders_per_s"] / results["q2c_postgresql_1"]["orders_per_s"], 3
        ),
    }
    print("ratios:", results["ratios"])
    out = ROOT / "bench" / "results" / f"quote-to-cash-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written: {out}")


def _cpus() -> str:
    try:
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        return f"{len(names)} x {names[0].split(':', 1)[1].strip()}" if names else "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    asyncio.run(main())
