"""What one quote-to-cash order asks of the gateway's own database, before and after issue 18's P4.

    uv run python bench/step_writes.py --baseline-tree ../before [--orders 300] [--rounds 3]

The state work of an order (a new account, the path every bench order takes) — the API's
``open``, then per step the reads, xref links, ``about``, state changes, lineage and outbox rows
exactly as the steps of :mod:`apis.process.quote_to_cash.workflow` make them — run against the
real stores on SQLite and on PostgreSQL, with no vendor and no engine, in a process of its own
per side and round (``before``: the other checkout's code and call sequence; ``after``: this
one's), alternating. Per order: statements sent (SQLAlchemy's ``before_cursor_execute``,
``BEGIN``/``COMMIT`` not included), round trips to PostgreSQL (the driver's socket writes: those
included, and the pool's pre-ping), and the process's CPU seconds
(``time.process_time``: every thread, so the aiosqlite thread too; PostgreSQL's own CPU not).
The statement counts do not depend on the machine's load; the CPU seconds do, less than a
wall clock does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


async def _order(side: str, transactions: Any, xref: Any, n: int) -> None:
    """One order's state work, as the steps of that side's quote-to-cash make it."""
    from apis.process.transactions import About, VendorRecord, transaction_event

    account = f"001BENCH{n:08d}{os.getpid()}"
    transaction, _ = await transactions.open("quote-to-cash", f"opp-{account}", input={"opportunity_id": account})
    tid = transaction.id
    about = About(customer="Bench", deal="Bench - platform", amount="15600.00", currency="USD")
    # validate
    await transactions.get(tid)
    if side == "before":
        await transactions.describe(tid, about)
        await transactions.advance(tid, "validated", step="validate", customer_id=account)
    else:
        await transactions.advance(tid, "validated", step="validate", customer_id=account, about=about)
    # sync_erp_customer, sync_billing_customer
    for step, system, vendor_id, state in (
        ("sync_erp_customer", "netsuite", f"{n}", "validated"),
        ("sync_billing_customer", "stripe", f"cus_B{n}", "customer_synced"),
    ):
        canonical_id, _ = await xref.canonical_id_for("customer", "salesforce", account)
        linked = await xref.vendor_id("customer", canonical_id, system)
        records = [VendorRecord(system=system, object="customer", id=vendor_id)]
        if side == "before":
            if step == "sync_billing_customer":
                await transactions.get(tid)  # the transaction's created_at, for ensure_customer
            await xref.link("customer", canonical_id, system, vendor_id)
            await transactions.advance(tid, state, step=step, records=records)
        else:
            from apis.process.xref import XrefLink

            link = XrefLink(kind="customer", canonical_id=canonical_id, system=system, vendor_id=vendor_id)
            await transactions.advance(tid, state, step=step, records=records, links=[] if linked else [link])
    record = VendorRecord(system="stripe", object="subscription", id=f"sub_{n}")
    await transactions.advance(tid, "subscription_provisioned", step="create_subscription", records=[record])
    record = VendorRecord(system="netsuite", object="sales_order", id=f"{n}")
    await transactions.advance(tid, "ordered", step="create_sales_order", records=[record])
    event = transaction_event(
        "strata.contract.activated", tid, "activate_contract", source="/bench", subject=None, data={"n": n}
    )
    await transactions.advance(tid, "ordered", step="activate_contract", events=[event])
    record = VendorRecord(system="salesforce", object="opportunity", id=account)
    await transactions.advance(tid, "completed", step="update_crm", records=[record])


async def _worker(side: str, url: str, orders: int) -> dict[str, Any]:
    from sqlalchemy import event

    from apis.process.transactions import TransactionStore
    from apis.process.xref import XrefStore
    from core.db import create_engine
    from core.migrations import create_schema

    engine = create_engine(url)
    await create_schema(engine)
    counts = {"statements": 0, "transactions": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def begin(*_: Any) -> None:
        counts["transactions"] += 1

    # Round trips to PostgreSQL: the socket writes of the driver (asyncpg sends one per request,
    # BEGIN, COMMIT, ROLLBACK and the pool's pre-ping included). SQLite has none.
    transport: Any = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    write = transport.write

    def counted(self: Any, data: Any) -> None:
        counts["round_trips"] += 1
        write(self, data)

    transport.write = counted
    counts["round_trips"] = 0
    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "begin", begin)
    transactions, xref = TransactionStore(engine), XrefStore(engine)
    try:
        for n in range(10):  # warm-up: connections, statement caches
            await _order(side, transactions, xref, 10_000_000 + n)
        counts.update(statements=0, transactions=0, round_trips=0)
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(orders):
            await _order(side, transactions, xref, n)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await engine.dispose()
    return {
        "statements_per_order": counts["statements"] / orders,
        "transactions_per_order": counts["transactions"] / orders,
        "round_trips_per_order": counts["round_trips"] / orders,
        "cpu_ms_per_order": round(cpu * 1000 / orders, 3),
        "wall_ms_per_order": round(wall * 1000 / orders, 3),
    }


def _run_side(tree: Path, side: str, database: str, orders: int) -> dict[str, Any]:
    from tests.support.scratch_postgres import create_database, drop_database, sqlalchemy_url

    name = ""
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-steps-')}/state.sqlite"
    else:
        name = asyncio.run(create_database("strata_steps"))
        url = sqlalchemy_url(name)
    command = [str(tree / ".venv" / "bin" / "python"), __file__, "--worker", side, "--url", url]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        out = subprocess.run([*command, "--orders", str(orders)], cwd=tree, env=env, capture_output=True, text=True)
    finally:
        if name:
            asyncio.run(drop_database(name))
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-tree", type=Path, help="the checkout whose code and steps are 'before'")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=("before", "after"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(_worker(args.worker, args.url, args.orders))))
        return
    sys.path.insert(0, str(ROOT))
    sides = [("after", ROOT)]
    if args.baseline_tree is not None:
        sides.insert(0, ("before", args.baseline_tree.resolve()))
    runs: list[dict[str, Any]] = []
    for round_number in range(args.rounds):
        for database in ("sqlite", "postgresql"):
            for side, tree in sides if round_number % 2 == 0 else list(reversed(sides)):
                run = {"database": database, "side": side, "round": round_number, "load": os.getloadavg()[0]}
                run.update(_run_side(tree, side, database, args.orders))
                runs.append(run)
                print(run, flush=True)
    summary = {
        f"{database}_{side}": {
            key: statistics.median(r[key] for r in runs if r["database"] == database and r["side"] == side)
            for key in ("statements_per_order", "round_trips_per_order", "cpu_ms_per_order", "wall_ms_per_order")
        }
        for database in ("sqlite", "postgresql")
        for side, _ in sides
    }
    print(json.dumps(summary, indent=1))
    out = ROOT / "bench" / "results" / f"step-writes-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
