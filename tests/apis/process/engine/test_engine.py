"""The workflow facade on a real DBOS, on SQLite and on PostgreSQL.

Workflows here count their side effects per workflow id, so each test can tell a step that
ran from one whose recorded result was replayed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from apis.process.engine import (
    StepRetry,
    WorkflowEngine,
    idempotency_key,
    step,
    system_database_url,
    wait_for_event,
    workflow,
)
from core.errors import InvalidInput, UpstreamRateLimited, UpstreamUnavailable


def _unique(key: str) -> str:
    """A business key no other test (or engine parameter) uses."""
    return f"{key}-{uuid.uuid4().hex[:8]}"


FAST = StepRetry(max_attempts=3, backoff_base_seconds=0.001, backoff_max_seconds=0.5)

effects: Counter[str] = Counter()
"""``"<workflow id>:<step>"`` → times the step's body ran."""
keys_seen: dict[str, list[str]] = {}
"""Workflow id → idempotency keys its writes carried, in order."""
failures: dict[str, list[Exception]] = {}
"""Step key → errors to raise on its next runs (popped one per run)."""
data_fixed: set[str] = set()


async def _write(workflow_id: str, name: str) -> str:
    effects[f"{workflow_id}:{name}"] += 1
    keys_seen.setdefault(workflow_id, []).append(idempotency_key(name))
    pending = failures.get(f"{workflow_id}:{name}")
    if pending:
        raise pending.pop(0)
    return f"{name}-created"


async def _validate(workflow_id: str) -> None:
    effects[f"{workflow_id}:validate"] += 1
    if workflow_id not in data_fixed:
        raise InvalidInput("billing address lacks a postal code")


@workflow("test-three-writes")
async def three_writes(workflow_id: str) -> list[str]:
    return [await step(name, _write, workflow_id, name, retry=FAST) for name in ("customer", "subscription", "order")]


@workflow("test-validated")
async def validated(workflow_id: str) -> str:
    await step("read", _write, workflow_id, "read", retry=FAST)
    await step("validate", _validate, workflow_id, retry=FAST)
    return await step("order", _write, workflow_id, "order", retry=FAST)


@workflow("test-waits")
async def waits(workflow_id: str) -> object:
    return await wait_for_event("decision", timeout_seconds=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowEngine]:
    if request.param == "sqlite":
        url = system_database_url("", str(tmp_path / "workflows.sqlite"))
    else:
        url = system_database_url(request.getfixturevalue("postgres_url"), "")
    engine = WorkflowEngine(system_database_url=url, executor_id="test-1")
    engine.launch()
    try:
        yield engine
    finally:
        engine.shutdown()


async def test_starting_one_business_key_many_times_runs_one_workflow(engine: WorkflowEngine) -> None:
    key = _unique("q2c:opp-many")
    started = await asyncio.gather(*(engine.start_once(three_writes, key, key) for _ in range(5)))
    assert await engine.result(key) == ["customer-created", "subscription-created", "order-created"]
    assert await engine.start_once(three_writes, key, key) is False
    assert started.count(True) == 1, started
    assert [effects[f"{key}:{name}"] for name in ("customer", "subscription", "order")] == [1, 1, 1]
    assert keys_seen[key] == [f"{key}:customer", f"{key}:subscription", f"{key}:order"]


async def test_a_retryable_error_is_retried_and_each_attempt_recorded(engine: WorkflowEngine) -> None:
    key = _unique("q2c:opp-retry")
    failures[f"{key}:subscription"] = [
        UpstreamRateLimited("throttled", retry_after=0.05),
        UpstreamUnavailable("503"),
    ]
    await engine.start_once(three_writes, key, key)
    started = asyncio.get_running_loop().time()
    assert await engine.result(key) == ["customer-created", "subscription-created", "order-created"]
    assert asyncio.get_running_loop().time() - started >= 0.05  # Retry-After was honoured
    steps = await engine.steps(key)
    attempts = [(record.name, record.error is None) for record in steps if record.name == "subscription"]
    assert attempts == [("subscription", False), ("subscription", False), ("subscription", True)]
    assert "UpstreamRateLimited" in (steps[1].error or "")
    # The same key on every attempt: a vendor that applied a "failed" attempt sees a repeat.
    assert keys_seen[key].count(f"{key}:subscription") == 3


async def test_retries_are_bounded_and_end_the_workflow_in_error(engine: WorkflowEngine) -> None:
    key = _unique("q2c:opp-down")
    failures[f"{key}:customer"] = [UpstreamUnavailable("503") for _ in range(FAST.max_attempts)]
    await engine.start_once(three_writes, key, key)
    with pytest.raises(UpstreamUnavailable):
        await engine.result(key)
    state = await engine.status(key)
    assert state is not None and state.status == "ERROR" and "UpstreamUnavailable" in (state.error or "")
    assert effects[f"{key}:customer"] == FAST.max_attempts and effects[f"{key}:subscription"] == 0


async def test_a_permanent_error_fails_at_once_and_replay_after_the_fix_completes(engine: WorkflowEngine) -> None:
    key = _unique("q2c:opp-bad-data")
    await engine.start_once(validated, key, key)
    with pytest.raises(InvalidInput):
        await engine.result(key)
    assert effects[f"{key}:validate"] == 1  # not retried: retrying cannot fix data
    assert effects[f"{key}:order"] == 0  # no write after the failed validation

    data_fixed.add(key)
    await engine.replay(key, "validate")
    assert await engine.result(key) == "order-created"
    assert effects[f"{key}:read"] == 1  # the step before the replayed one was not run again
    assert effects[f"{key}:validate"] == 2 and effects[f"{key}:order"] == 1
    state = await engine.status(key)
    assert state is not None and state.status == "SUCCESS" and state.workflow_id == key


async def test_replay_without_a_step_starts_at_the_step_that_failed_for_good(engine: WorkflowEngine) -> None:
    key = _unique("q2c:opp-late-failure")
    # The subscription fails once and succeeds on its retry; then the order fails every attempt.
    failures[f"{key}:subscription"] = [UpstreamUnavailable("503")]
    failures[f"{key}:order"] = [UpstreamUnavailable("503") for _ in range(FAST.max_attempts)]
    await engine.start_once(three_writes, key, key)
    with pytest.raises(UpstreamUnavailable):
        await engine.result(key)
    await engine.replay(key)
    assert await engine.result(key) == ["customer-created", "subscription-created", "order-created"]
    # Not rewound to the subscription's failed first attempt: nothing before the order ran again.
    assert effects[f"{key}:customer"] == 1 and effects[f"{key}:subscription"] == 2
    assert effects[f"{key}:order"] == FAST.max_attempts + 1


async def _reads_state(workflow_id: str, dead_port: int) -> str:
    """Meets a real asyncpg connection refusal on its first run, as a step does while PostgreSQL restarts."""
    effects[f"{workflow_id}:state"] += 1
    if effects[f"{workflow_id}:state"] == 1:
        import asyncpg

        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{dead_port}/x", timeout=5)
    return "state-read"


@workflow("test-state-outage-then-late-failure")
async def outage_then_late_failure(workflow_id: str, dead_port: int) -> list[str]:
    first = await step("state", _reads_state, workflow_id, dead_port, retry=FAST)
    return [first, await step("order", _write, workflow_id, "order", retry=FAST)]


async def test_a_replay_goes_through_a_recorded_state_outage_as_through_a_retry(engine: WorkflowEngine) -> None:
    """The state database's outage in a step's first attempt is recorded as the retryable error it
    is: a later replay re-raises what was recorded, and must retry past it again, not fail as a defect."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    key = _unique("q2c:opp-outage-then-late")
    failures[f"{key}:order"] = [InvalidInput("no such item")]
    await engine.start_once(outage_then_late_failure, key, key, dead_port)
    with pytest.raises(InvalidInput):
        await engine.result(key)
    steps = await engine.steps(key)
    assert [(r.name, r.error is None) for r in steps if r.name == "state"] == [("state", False), ("state", True)]
    assert "StateUnavailable" in (steps[0].error or "")
    await engine.replay(key, "order")
    assert await engine.result(key) == ["state-read", "order-created"]
    assert effects[f"{key}:state"] == 2  # replayed from the record, not run again


async def test_replay_refuses_unknown_workflows_and_steps(engine: WorkflowEngine) -> None:
    with pytest.raises(LookupError):
        await engine.replay(_unique("q2c:never-started"))
    key = _unique("q2c:opp-steps")
    await engine.start_once(three_writes, key, key)
    await engine.result(key)
    with pytest.raises(LookupError, match="no step"):
        await engine.replay(key, "no_such_step")


async def test_a_workflow_waits_durably_for_a_message(engine: WorkflowEngine) -> None:
    key = _unique("wait:decision-1")
    await engine.start_once(waits, key, key)
    await engine.send(key, "decision", {"approved": True}, idempotency_key="decision-1")
    assert await engine.result(key) == {"approved": True}
