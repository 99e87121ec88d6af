"""A workflow for the crash test, importable by the test and by the process it kills.

Each step appends ``<workflow id>:<step>`` to the effects file when its body runs; the
``hold`` step waits for a release file first, so the test can kill the process while that
step is in flight.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from apis.process.engine import StepRetry, idempotency_key, step, workflow

FAST = StepRetry(max_attempts=2, backoff_base_seconds=0.001, backoff_max_seconds=0.1)


def _dir() -> Path:
    return Path(os.environ["CRASH_TEST_DIR"])


async def _effect(name: str) -> str:
    with (_dir() / "effects.log").open("a") as log:
        log.write(f"{idempotency_key(name)}\n")
    return name


async def _hold(name: str) -> str:
    (_dir() / "holding").touch()
    while not (_dir() / "release").exists():  # noqa: ASYNC110 - released by another process, through a file
        await asyncio.sleep(0.02)
    return await _effect(name)


@workflow("test-crash")
async def crashable(workflow_id: str) -> list[str]:
    done = [await step("first", _effect, "first", retry=FAST)]
    done.append(await step("hold", _hold, "hold", retry=FAST))
    done.append(await step("last", _effect, "last", retry=FAST))
    return done
