"""The raw engine rate: DBOS workflows of N no-op steps, as fast as one process runs them.

The yardstick of ``bench/quote_to_cash.py``: the same number of steps as quote-to-cash, each
doing nothing, started all at once, through our facade (:mod:`apis.process.engine`) so the same
step wrapper is measured. Prints one JSON line: workflows/s, steps/s, CPU seconds.

    uv run python bench/raw_engine.py --database sqlite|postgresql --workflows 400 --steps 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apis.process.engine import WorkflowEngine, step, system_database_url, workflow

STEPS = 8


async def _noop(index: int) -> int:
    return index


@workflow("bench-raw")
async def raw(steps: int) -> int:
    total = 0
    for index in range(steps):
        total += await step(f"step-{index}", _noop, index)
    return total


async def _measure(engine: WorkflowEngine, workflows: int, steps: int) -> dict[str, float]:
    ids = [f"bench-{uuid.uuid4().hex}" for _ in range(workflows)]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for workflow_id in ids:
        await engine.start_once(raw, workflow_id, steps)
    for workflow_id in ids:
        await engine.result(workflow_id)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return {
        "workflows": workflows,
        "steps_per_workflow": steps,
        "seconds": round(elapsed, 3),
        "workflows_per_s": round(workflows / elapsed, 2),
        "steps_per_s": round(workflows * steps / elapsed, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_step": round(cpu * 1000 / (workflows * steps), 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workflows", type=int, default=400)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    if args.database == "sqlite":
        url = system_database_url("", str(Path(tempfile.mkdtemp(prefix="raw-engine-")) / "workflows.sqlite"))
        schema = None
    else:
        url = system_database_url(args.postgres_url, "")
        schema = f"bench_{uuid.uuid4().hex[:8]}"  # a schema of its own: nothing else's workflows
    engine = WorkflowEngine(
        system_database_url=url, executor_id="bench-raw", application_version="bench", system_schema=schema
    )
    engine.launch()
    try:
        await _measure(engine, 20, args.steps)  # warm-up: connections, caches
        result = await _measure(engine, args.workflows, args.steps)
    finally:
        engine.shutdown()
    print(json.dumps({"database": args.database, **result}))


if __name__ == "__main__":
    asyncio.run(main())
