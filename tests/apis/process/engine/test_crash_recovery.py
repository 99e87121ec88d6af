"""A process killed mid-workflow: the restarted engine (same executor id) finishes the workflow,
and only the step that was in flight runs again."""

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

VERSION = "crash-test"
CHILD = """
import asyncio, sys
from apis.process.engine import WorkflowEngine
from tests.apis.process.engine.crash_workflows import crashable

async def main() -> None:
    engine = WorkflowEngine(system_database_url=sys.argv[1], executor_id="slot-1", application_version="crash-test")
    engine.launch()
    await engine.start_once(crashable, "crash:wf-1", "crash:wf-1")
    await asyncio.sleep(60)  # killed long before

asyncio.run(main())
"""


def _killed_mid_workflow(tmp_path: Path) -> str:
    """Run ``crashable`` as executor slot-1 in a process of its own, SIGKILL it in the ``hold`` step;
    the engine's database URL."""
    url = system_database_url("", str(tmp_path / "workflows.sqlite"))
    env = {**os.environ, "CRASH_TEST_DIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=PROJECT_ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "holding").exists():
            assert child.poll() is None, "the workflow process exited early"
            assert time.monotonic() < deadline, "the workflow never reached its second step"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    return url


def test_a_killed_process_resumes_from_the_step_in_flight(tmp_path: Path) -> None:
    url = _killed_mid_workflow(tmp_path)
    (tmp_path / "release").touch()
    os.environ["CRASH_TEST_DIR"] = str(tmp_path)
    engine = WorkflowEngine(system_database_url=url, executor_id="slot-1", application_version=VERSION)
    try:
        # launch() recovers slot-1's pending workflows, on the loop that asks for them.
        async def finish() -> object:
            engine.launch()
            return await engine.result("crash:wf-1")

        assert asyncio.run(finish()) == ["first", "hold", "last"]
    finally:
        engine.shutdown()
        del os.environ["CRASH_TEST_DIR"]
    effects = (tmp_path / "effects.log").read_text().splitlines()
    # "first" finished before the kill and was not run again; "hold" was in flight (its body
    # never got to write); every write carried the key of its step.
    assert effects == ["crash:wf-1:first", "crash:wf-1:hold", "crash:wf-1:last"]


def test_another_executor_takes_over_the_workflow_of_a_process_that_never_comes_back(tmp_path: Path) -> None:
    """The takeover of :mod:`apis.process.executor_leases`: a live engine (slot-2) recovers slot-1's
    pending workflow through DBOS's internal recovery call (pinned DBOS version; this test fails
    loudly if an upgrade changes that call)."""
    url = _killed_mid_workflow(tmp_path)
    (tmp_path / "release").touch()
    os.environ["CRASH_TEST_DIR"] = str(tmp_path)
    engine = WorkflowEngine(system_database_url=url, executor_id="slot-2", application_version=VERSION)
    try:

        async def take_over() -> tuple[int, object, int]:
            engine.launch()  # recovers slot-2's own workflows: none
            taken = engine.recover_executor("slot-1")
            result = await engine.result("crash:wf-1")
            return taken, result, engine.recover_executor("slot-1")

        taken, result, again = asyncio.run(take_over())
    finally:
        engine.shutdown()
        del os.environ["CRASH_TEST_DIR"]
    assert (taken, again) == (1, 0)  # one pending workflow; none left once it finished
    assert result == ["first", "hold", "last"]
    effects = (tmp_path / "effects.log").read_text().splitlines()
    assert effects == ["crash:wf-1:first", "crash:wf-1:hold", "crash:wf-1:last"]
