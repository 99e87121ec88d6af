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
    # Stay clear of a minute boundary, so no window rolls while the processes run.
    while time.time() % 60 > 50:
        time.sleep(0.5)
    prefix = f"strata:rl:test:{uuid.uuid4().hex}:"
    start_at = time.time() + 4.0  # headroom for interpreter start-up on a loaded machine
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), redis_url, prefix, "acme", str(LIMIT), repr(start_at), *limits],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    accepted = []
    for worker in workers:
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        accepted.append(json.loads(out)["accepted"])
    assert sum(accepted) == LIMIT, accepted
    # Both processes competed: neither finished before the other started.
    assert all(count > 0 for count in accepted), accepted
