"""A newer release finishes the pending workflows of an older one whose workflow version it declares
compatible, and leaves those of an incompatible version to a process of that version.

The older release is a process of its own, killed while its workflow is in the ``hold`` step; its
workflow carries the older version's label in the engine (as every workflow did before the workflow
version, labelled with the package version).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from apis.process.engine import WorkflowEngine, system_database_url
from tests.apis.process.engine.crash_workflows import crashable  # noqa: F401 - registers the workflow to recover
from tests.support.procs import PROJECT_ROOT

CHILD = """
import asyncio, sys
from apis.process.engine import WorkflowEngine
from tests.apis.process.engine.crash_workflows import crashable

async def main() -> None:
    engine = WorkflowEngine(system_database_url=sys.argv[1], executor_id="slot-1", application_version=sys.argv[2])
    engine.launch()
    await engine.start_once(crashable, "upgrade:wf-1", "upgrade:wf-1")
    await asyncio.sleep(60)  # killed long before

asyncio.run(main())
"""


def _older_release_killed_mid_workflow(tmp_path: Path, version: str) -> str:
    """Run ``crashable`` as executor slot-1 of workflow version ``version`` and SIGKILL it in the
    ``hold`` step; the engine's database URL. The release file is then put in place."""
    url = system_database_url("", str(tmp_path / "workflows.sqlite"))
    env = {**os.environ, "CRASH_TEST_DIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, version], cwd=PROJECT_ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "holding").exists():
            assert child.poll() is None, "the older release exited early"
            assert time.monotonic() < deadline, "the workflow never reached its second step"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    (tmp_path / "release").touch()
    return url


def _effects(tmp_path: Path) -> list[str]:
    return (tmp_path / "effects.log").read_text().splitlines()


def test_a_newer_release_on_the_same_slot_finishes_a_compatible_version_s_workflow(tmp_path: Path) -> None:
    url = _older_release_killed_mid_workflow(tmp_path, "0.1.0")
    os.environ["CRASH_TEST_DIR"] = str(tmp_path)
    engine = WorkflowEngine(
        system_database_url=url,
        executor_id="slot-1",
        application_version="workflows-1",
        compatible_versions={"0.1.0"},
    )
    try:

        async def finish() -> object:
            engine.launch()  # adopts the 0.1.0 workflow pending on slot-1 and re-enqueues it
            return await asyncio.wait_for(engine.result("upgrade:wf-1"), 20)

        assert asyncio.run(finish()) == ["first", "hold", "last"]
        assert engine.waiting_for_other_versions() == {}
    finally:
        engine.shutdown()
        del os.environ["CRASH_TEST_DIR"]
    # "first" ran once, under the older release; "hold" (in flight at the kill) and "last" once, here.
    assert _effects(tmp_path) == ["upgrade:wf-1:first", "upgrade:wf-1:hold", "upgrade:wf-1:last"]


def test_an_incompatible_version_s_workflow_waits_for_a_process_of_its_version(tmp_path: Path) -> None:
    url = _older_release_killed_mid_workflow(tmp_path, "workflows-0")
    os.environ["CRASH_TEST_DIR"] = str(tmp_path)
    newer = WorkflowEngine(
        system_database_url=url, executor_id="slot-2", application_version="workflows-1", compatible_versions={"0.1.0"}
    )
    try:

        async def take_over() -> tuple[int, str | None, dict[str, int]]:
            newer.launch()
            taken = newer.recover_executor("slot-1")  # slot-1's lease expired: re-enqueued, not run here
            await asyncio.sleep(1.5)  # several queue polls
            state = await newer.status("upgrade:wf-1")
            return taken, state.status if state else None, newer.waiting_for_other_versions()

        assert asyncio.run(take_over()) == (1, "ENQUEUED", {"workflows-0": 1})
    finally:
        newer.shutdown()
    assert _effects(tmp_path) == ["upgrade:wf-1:first"]  # the newer release ran none of its steps

    # A process of the older version (another slot: slot-1 stays dead) dequeues and finishes it.
    older = WorkflowEngine(system_database_url=url, executor_id="slot-3", application_version="workflows-0")
    try:

        async def drain() -> object:
            older.launch()
            return await asyncio.wait_for(older.result("upgrade:wf-1"), 20)

        assert asyncio.run(drain()) == ["first", "hold", "last"]
    finally:
        older.shutdown()
        del os.environ["CRASH_TEST_DIR"]
    assert _effects(tmp_path) == ["upgrade:wf-1:first", "upgrade:wf-1:hold", "upgrade:wf-1:last"]
