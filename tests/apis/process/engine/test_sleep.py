"""The facade's durable ``sleep``: the workflow waits, and the wait is a recorded step."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from apis.process.engine import WorkflowEngine, sleep, system_database_url, workflow

PAUSE_SECONDS = 0.3


@workflow("test-sleeps")
async def sleeps(seconds: float) -> float:
    started = time.monotonic()
    await sleep(seconds)
    return time.monotonic() - started


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[WorkflowEngine]:
    engine = WorkflowEngine(
        system_database_url=system_database_url("", str(tmp_path / "workflows.sqlite")), executor_id="test-sleep"
    )
    engine.launch()
    try:
        yield engine
    finally:
        engine.shutdown()


async def test_a_workflow_sleeps_durably_for_the_time_asked(engine: WorkflowEngine) -> None:
    key = f"sleep-{uuid.uuid4().hex[:8]}"
    await engine.start_once(sleeps, key, PAUSE_SECONDS)
    slept = await engine.result(key)
    assert PAUSE_SECONDS <= slept < PAUSE_SECONDS + 2
    # The wait is a recorded operation of the workflow (what recovery reads to sleep only the rest).
    assert [s.name for s in await engine.steps(key)] == ["DBOS.sleep"]
