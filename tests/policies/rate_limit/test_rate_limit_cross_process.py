"""Exact admission across OS processes sharing one Redis: 2 processes x L requests, limit L."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("rate_limit_worker.py")
ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 2
LIMIT = 300


@pytest.mark.redis
@pytest.mark.parametrize("limits", [[f"{LIMIT}/hour"], [f"{LIMIT}/hour", "1000/day", "500/minute"]])
def test_two_processes_admit_exactly_the_limit(redis_url: str, limits: list[str]) -> None:
    prefix = f"strata:rl:test:{uuid.uuid4().hex}:"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), redis_url, prefix, "acme", str(LIMIT), *limits],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        # Start the race only once every process has imported, connected and warmed up.
        for worker in workers:
            assert worker.stdout is not None
            ready = worker.stdout.readline().strip()
            assert ready == "ready", (ready, worker.communicate(timeout=30)[1] if not ready else "")
        # Stay clear of a minute boundary, so no window rolls while the processes race.
        while time.time() % 60 > 50:
            time.sleep(0.5)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        accepted = []
        for worker in workers:
            out, err = worker.communicate(timeout=30)
            assert worker.returncode == 0, err
            accepted.append(json.loads(out)["accepted"])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert sum(accepted) == LIMIT, accepted
    # Both processes competed: neither finished before the other started.
    assert all(count > 0 for count in accepted), accepted
