"""Quote-to-cash throughput and end-to-end time, next to the raw engine rate, in one run.

    uv run python bench/quote_to_cash.py [--orders 200] [--raw-workflows 400]
        [--baseline-tree ../before --rounds 2] [--configs sqlite_1,postgresql_1] [--profile]

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

The gateway's CPU per order **minus the raw engine's CPU per workflow** (issue 18, P4) is what
our code adds to the engine's own checkpoints: ``over_engine_cpu_s`` per configuration.

``--baseline-tree`` runs the same configurations a second time with the gateway of another
checkout (its own ``.venv``; e.g. ``git worktree add --detach ../before main`` then ``uv sync``
there), alternating before/after ``--rounds`` times, so a loaded machine weighs on both sides
alike; CPU seconds (from /proc) are the load-robust comparison, orders/s is not. ``--profile``
records the gateway worker with py-spy (``--gil``, collapsed stacks) during each measured run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cluster import SETTLED, Cluster  # noqa: E402  (the tests' harness: one way to run a cluster)
from tests.support.procs import GatewayProcess, SandboxesProcess  # noqa: E402
from tests.support.scratch_postgres import create_database, drop_database, sqlalchemy_url  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux
IDLE_SECONDS = 5.0


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


class TreeCluster(Cluster):
    """The tests' cluster, its gateways run from ``tree`` (another checkout, its own ``.venv``) if given."""

    def __init__(self, *args: Any, tree: Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tree = tree

    def _gateway(self, number: int, port: int = 0, **settings: Any) -> GatewayProcess:
        process = super()._gateway(number, port, **settings)
        if self.tree is not None:
            process.argv = (str(self.tree / ".venv" / "bin" / "python"), "-m", "gateway.cli")
            process.cwd = self.tree
        return process

    async def wait_until(
        self, client: httpx.AsyncClient, transaction_ids: set[str], *, settled: int, within: float
    ) -> dict[str, dict[str, Any]]:
        """As the tests' poll, once a second instead of ten times: each poll lists every transaction,
        and that listing is gateway CPU inside the measured window (~0.04 CPU-s per order at 10/s)."""
        deadline = time.monotonic() + within
        while True:
            views = await self.states(client, transaction_ids)
            if sum(v["state"] in SETTLED for v in views.values()) >= settled or time.monotonic() > deadline:
                return views
            await asyncio.sleep(1.0)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


async def run_quote_to_cash(
    root: Path,
    sandboxes: SandboxesProcess,
    *,
    orders: int,
    gateways: int,
    database_url: str = "",
    redis_url: str = "",
    tree: Path | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    cluster = TreeCluster(root, sandboxes, database_url=database_url, redis_url=redis_url, tree=tree)
    cluster.start(gateways)
    spies: list[subprocess.Popen[bytes]] = []
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            deals = await cluster.deals(client, orders, f"Bench {uuid.uuid4().hex[:6]}")
            # Warm-up: a few orders first (connections, caches), not measured.
            warm = await cluster.deals(client, 4, "Warm")
            warm_ids = set((await cluster.submit_all(client, warm, spread=True)).values())
            await cluster.wait_until(client, warm_ids, settled=len(warm_ids), within=120)
            gateway_pids = [pid for g in cluster.gateways if g.process for pid in group_pids(g.process.pid)]
            vendor_pids = group_pids(sandboxes.process.pid) if sandboxes.process else []
            # What the gateways spend with no order in flight (engine and relay polling, leases):
            # part of every order's CPU below, growing with the run's length, not with its work.
            idle_from = cpu_seconds(gateway_pids)
            await asyncio.sleep(IDLE_SECONDS)
            idle_per_s = (cpu_seconds(gateway_pids) - idle_from) / IDLE_SECONDS
            before = (cpu_seconds(gateway_pids), cpu_seconds(vendor_pids), cpu_seconds(postgres_pids()))
            load = [load_average()]
            if profile is not None:
                spies = [_spy(pid, profile.with_suffix(f".{pid}.txt")) for pid in _workers(cluster)]
            started = time.time()
            txns = await cluster.submit_all(client, deals, spread=True)
            views = await cluster.wait_until(client, set(txns.values()), settled=orders, within=600)
            after = (cpu_seconds(gateway_pids), cpu_seconds(vendor_pids), cpu_seconds(postgres_pids()))
            window = time.time() - started
            load.append(load_average())
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
            spy.wait(timeout=60)
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
        "load_average": load,
        "cpu_s_per_order": {
            "gateways": round((after[0] - before[0]) / orders, 4),
            "vendors": round((after[1] - before[1]) / orders, 4),
            "postgresql": round((after[2] - before[2]) / orders, 4) if database_url else 0.0,
        },
        "gateway_idle_cpu_s_per_s": round(idle_per_s, 4),
        "gateway_idle_cpu_s_per_order": round(idle_per_s * window / orders, 4),
    }


def _workers(cluster: Cluster) -> list[int]:
    """The granian worker processes of the cluster's gateways (the group without its leader)."""
    return [pid for g in cluster.gateways if g.process for pid in group_pids(g.process.pid) if pid != g.process.pid]


def _spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [str(py_spy), "record", "-p", str(pid), "-r", "200", "--gil", "-f", "raw", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_raw(database: str, workflows: int, postgres_url: str = "") -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "bench" / "raw_engine.py"), "--database", database]
    command += ["--workflows", str(workflows)]
    if postgres_url:
        command += ["--postgres-url", postgres_url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


CONFIGS = ("sqlite_1", "postgresql_1", "postgresql_2")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--raw-workflows", type=int, default=400)
    parser.add_argument("--baseline-tree", type=Path, help="another checkout: its gateway is the 'before' side")
    parser.add_argument("--rounds", type=int, default=1, help="before/after alternations per configuration")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"a subset of {','.join(CONFIGS)}")
    parser.add_argument("--profile", action="store_true", help="py-spy the gateway workers (bench/results/)")
    args = parser.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations: {sorted(unknown)}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    sides: list[tuple[str, Path | None]] = [("after", None)]
    if args.baseline_tree is not None:
        sides = [("before", args.baseline_tree.resolve()), ("after", None)]
    root = Path(tempfile.mkdtemp(prefix="bench-q2c-"))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "load_average_at_start": list(os.getloadavg()),
        "baseline_tree": str(args.baseline_tree) if args.baseline_tree else None,
        "runs": [],
    }
    raw: dict[str, dict[str, Any]] = {}
    if "sqlite_1" in configs:
        raw["sqlite"] = results["raw_sqlite"] = run_raw("sqlite", args.raw_workflows)
        print("raw engine, SQLite:", raw["sqlite"], flush=True)
    for round_number in range(args.rounds):
        for config in configs:
            # Alternate which side goes first, so neither always runs on the warmer machine.
            ordered = sides if round_number % 2 == 0 else list(reversed(sides))
            for side, tree in ordered:
                run = await _run_config(root, config, side, tree, args, raw, f"{stamp}-{round_number}")
                results["runs"].append(run)
                print(f"{config} {side} round {round_number}:", run, flush=True)
    results["summary"] = _summary(results["runs"])
    print("summary:", json.dumps(results["summary"], indent=1))
    out = ROOT / "bench" / "results" / f"quote-to-cash-{stamp}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written: {out}")


async def _run_config(
    root: Path,
    config: str,
    side: str,
    tree: Path | None,
    args: argparse.Namespace,
    raw: dict[str, dict[str, Any]],
    tag: str,
) -> dict[str, Any]:
    label = f"{config}-{side}-{tag}"
    profile = ROOT / "bench" / "results" / f"profile-q2c-{label}" if args.profile else None
    # Fresh vendors for every run: the sandboxes rewrite their state file on every write, so a
    # vendor process that already holds the previous run's records is slower.
    sandboxes = SandboxesProcess(root / f"vendors-{label}")
    sandboxes.start()
    name = ""
    try:
        if config == "sqlite_1":
            database = "sqlite"
            run = await run_quote_to_cash(
                root / label, sandboxes, orders=args.orders, gateways=1, tree=tree, profile=profile
            )
        else:
            database = "postgresql"
            name = await create_database("strata_bench")
            if "postgresql" not in raw:
                raw["postgresql"] = run_raw("postgresql", args.raw_workflows, sqlalchemy_url(name, driver=""))
                print("raw engine, PostgreSQL:", raw["postgresql"], flush=True)
            run = await run_quote_to_cash(
                root / label,
                sandboxes,
                orders=args.orders,
                gateways=int(config[-1]),
                database_url=sqlalchemy_url(name),
                redis_url=REDIS_URL,
                tree=tree,
                profile=profile,
            )
    finally:
        sandboxes.stop()
        if name:
            await drop_database(name)
    engine = raw[database]["cpu_seconds"] / raw[database]["workflows"]
    run.update(config=config, side=side, raw_engine_cpu_s_per_workflow=round(engine, 4))
    run["over_engine_cpu_s"] = round(run["cpu_s_per_order"]["gateways"] - engine, 4)
    run["vs_raw_rate"] = round(run["orders_per_s"] / raw[database]["workflows_per_s"], 3)
    return run


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per configuration and side: the median (and every round) of orders/s, CPU split, over-engine CPU."""
    out: dict[str, Any] = {}
    for config in CONFIGS:
        for side in ("before", "after"):
            mine = [r for r in runs if r["config"] == config and r["side"] == side]
            if not mine:
                continue
            out[f"{config}_{side}"] = {
                "rounds": len(mine),
                "orders_per_s": _median_of(mine, lambda r: r["orders_per_s"]),
                "gateway_cpu_s": _median_of(mine, lambda r: r["cpu_s_per_order"]["gateways"]),
                "engine_cpu_s": _median_of(mine, lambda r: r["raw_engine_cpu_s_per_workflow"]),
                "over_engine_cpu_s": _median_of(mine, lambda r: r["over_engine_cpu_s"]),
                "gateway_idle_cpu_s": _median_of(mine, lambda r: r.get("gateway_idle_cpu_s_per_order", 0.0)),
                "vendors_cpu_s": _median_of(mine, lambda r: r["cpu_s_per_order"]["vendors"]),
                "postgresql_cpu_s": _median_of(mine, lambda r: r["cpu_s_per_order"]["postgresql"]),
                "every_round_over_engine": [r["over_engine_cpu_s"] for r in mine],
                "load_average": [r["load_average"] for r in mine],
            }
    return out


def _median_of(runs: list[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
    return round(float(statistics.median(value(r) for r in runs)), 4)


def _cpus() -> str:
    try:
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        return f"{len(names)} x {names[0].split(':', 1)[1].strip()}" if names else "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    asyncio.run(main())
