"""What the operations dashboard's transaction reads cost as the transaction table grows.

    uv run python bench/dashboard.py [--rows 20000 200000] [--rounds 7] [--no-postgres]

The dashboard (``GET /experience/operations/v1/dashboard``) reads ``process_transactions`` four
times: counts per workflow and state, throughput per bucket (by ``created_at`` and by
``completed_at``), exception aging and the SLA's p95 over the window's completions. This bench
fills a fresh schema (the real migrations) on SQLite and on PostgreSQL with ``--rows``
transactions spread over 90 days across five workflows (96 % completed, the rest exceptions or
in flight, one day ~1/90 of them), then times each read with the production
:class:`~apis.experience.operations.transaction_stats.TransactionStats` for a 24-hour and a
168-hour window: the median of ``--rounds`` after one warm-up; then again without the index on
``completed_at`` (migration 0011), to show what it changes. Backends, sizes, windows and the two
schemas are measured in one run, so their ratios compare. Results (JSON) go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apis.experience.operations.dashboard import bucket_seconds  # noqa: E402
from apis.experience.operations.transaction_stats import TransactionStats  # noqa: E402
from apis.process.transactions import COMPLETED, EXCEPTION_STATES  # noqa: E402
from core.db import create_engine, process_transactions  # noqa: E402
from core.migrations import create_schema  # noqa: E402
from tests.support.scratch_postgres import scratch_database, sqlalchemy_url  # noqa: E402

WORKFLOWS = ("quote-to-cash", "customer-sync", "invoice-to-ledger", "payment-to-cash", "catalog-sync")
DAY = 86_400
SPAN_DAYS = 90
WINDOWS_HOURS = (24, 168)
CHUNK = 5_000
COMPLETED_INDEX = next(i for i in process_transactions.indexes if i.name == "ix_process_transactions_completed")
"""Migration 0011's index: measured as migrated and dropped, per size, in the same run."""


def _rows(first: int, end: int, now: float) -> list[dict[str, Any]]:
    """Transactions number ``first`` to ``end`` (exclusive) over the last SPAN_DAYS days."""
    rng = random.Random(first)
    rows = []
    for number in range(first, end):
        created = now - rng.random() * SPAN_DAYS * DAY
        draw = rng.random()
        state = COMPLETED if draw < 0.96 else "accepted" if draw < 0.97 else rng.choice(EXCEPTION_STATES)
        completed = created + rng.expovariate(1 / 40) if state == COMPLETED else None
        rows.append(
            {
                "id": f"txn_bench{number:010d}",
                "workflow": WORKFLOWS[number % len(WORKFLOWS)],
                "business_key": f"key-{number}",
                "state": state,
                "customer_id": f"acct-{number % 5000}",
                "correlation_id": uuid.uuid4().hex,
                "input": "{}",
                "created_at": created,
                "updated_at": completed or created,
                "attention_since": created + 5 if state in EXCEPTION_STATES else None,
                "completed_at": completed,
            }
        )
    return rows


async def _fill(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(process_transactions), rows[start : start + CHUNK])
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE process_transactions"))
        else:
            await connection.execute(text("ANALYZE"))


async def _median_ms(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await call()  # warm-up: connections, statement caches, pages
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 2)


async def _measure(engine: AsyncEngine, now: float, rounds: int) -> dict[str, Any]:
    stats = TransactionStats(engine, WORKFLOWS)
    answer: dict[str, Any] = {"states_ms": await _median_ms(stats.states, rounds)}
    answer["exception_aging_ms"] = await _median_ms(partial(stats.exception_aging, now), rounds)
    for hours in WINDOWS_HOURS:
        start = now - hours * 3600
        size = bucket_seconds(hours)
        origin = start // size * size  # as the dashboard aligns them
        answer[f"throughput_{hours}h_ms"] = await _median_ms(partial(stats.throughput, origin, now, size), rounds)
        answer[f"sla_{hours}h_ms"] = await _median_ms(partial(stats.sla, start, now, lambda _: 300), rounds)
    answer["dashboard_24h_ms"] = round(
        answer["states_ms"] + answer["exception_aging_ms"] + answer["throughput_24h_ms"] + answer["sla_24h_ms"], 2
    )
    return answer


async def _backend(name: str, url: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    now = time.time()
    engine = create_engine(url)
    try:
        await create_schema(engine)
        filled = 0
        for size in sorted(sizes):
            # Grow the same table: each size adds rows to the previous one's.
            await _fill(engine, _rows(filled, size, now))
            filled = size
            migrated = await _measure(engine, now, rounds)
            async with engine.begin() as connection:
                await connection.run_sync(COMPLETED_INDEX.drop)
            without = await _measure(engine, now, rounds)
            async with engine.begin() as connection:
                await connection.run_sync(COMPLETED_INDEX.create)
            results[str(size)] = {"migrated": migrated, "without_completed_index": without}
            for label, found in results[str(size)].items():
                print(f"{name:10} {size:>8} rows  {label:24} {json.dumps(found)}", flush=True)
    finally:
        await engine.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    run = f"dashboard-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    report: dict[str, Any] = {
        "run": run,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "machine": f"{platform.machine()} {platform.node()}",
        "rows": args.rows,
        "rounds": args.rounds,
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="strata-bench-dashboard-") as directory:
        report["backends"]["sqlite"] = await _backend(
            "sqlite", f"sqlite+aiosqlite:///{directory}/strata.db", args.rows, args.rounds
        )
    if not args.no_postgres:
        async with scratch_database("strata_bench_dashboard") as database:
            url = sqlalchemy_url(database)
            report["postgresql"] = await _server_version(url)
            report["backends"]["postgresql"] = await _backend("postgresql", url, args.rows, args.rounds)
    out = ROOT / "bench" / "results" / f"{run}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


async def _server_version(url: str) -> str:
    """The PostgreSQL server's version string."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text("SHOW server_version"))).scalar())
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
