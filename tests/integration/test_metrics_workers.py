"""``strata serve --workers 2``: every scrape of /metrics reports all workers' requests, summed."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx

from gateway.settings import load_settings
from tests.support.procs import GatewayProcess, provision_token

REQUESTS = 40
DENIED = 10
DEADLINE_SECONDS = 15.0
ROUTE = "/gateway/v1/catalogue"


def _total(text: str, pattern: str) -> float:
    """Sum of the samples whose line matches ``pattern`` (one series per worker, or one summed)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(pattern, line))


def test_every_scrape_counts_every_workers_requests(tmp_path: Path) -> None:
    common = {"public_url": "http://gateway.test"}
    settings = load_settings({"state_dir": str(tmp_path), "seed_demo": False, **common}, environ={})

    token = {"Authorization": f"Bearer {provision_token(settings, ['gateway:catalog:read'], name='reader')}"}
    with GatewayProcess(tmp_path, workers=2, **common) as gateway:
        # /health/live answers once the first worker is up; wait for the second too (each
        # running worker writes its snapshot every second), or it might serve nothing.
        snapshots = tmp_path / "prometheus"
        started = time.monotonic()
        while len(list(snapshots.glob("strata-requests-*.json"))) < 2:
            assert time.monotonic() - started < DEADLINE_SECONDS, "the second worker did not start"
            time.sleep(0.1)

        async def load() -> list[int]:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
                allowed = [http.get(ROUTE, headers=token) for _ in range(REQUESTS)]
                denied = [http.get(ROUTE) for _ in range(DENIED)]  # no token: 401
                return [response.status_code for response in await asyncio.gather(*allowed, *denied)]

        statuses = asyncio.run(load())
        assert statuses.count(200) == REQUESTS and statuses.count(401) == DENIED
        requests_line = r'strata_requests_total\{.*route="/gateway/v1/catalogue".*status="200"'
        denials_line = r'strata_policy_denials_total\{.*policy="authentication"'
        started = time.monotonic()
        seen: list[tuple[float, float]] = []
        with httpx.Client(base_url=gateway.url, timeout=10) as http:
            while time.monotonic() - started < DEADLINE_SECONDS:
                # New connections: the two workers take turns accepting them.
                text = http.get("/metrics", headers={"connection": "close"}).text
                seen.append((_total(text, requests_line), _total(text, denials_line)))
                if len(seen) >= 6 and all(sample == (REQUESTS, DENIED) for sample in seen[-6:]):
                    break
                time.sleep(0.2)
        assert seen[-6:] == [(REQUESTS, DENIED)] * 6, seen

        def shares() -> list[int]:
            return [
                sum(
                    count
                    for labels, _, by_status, _, _ in json.loads(path.read_text())
                    if labels[2] == ROUTE
                    for count in by_status.values()
                )
                for path in snapshots.glob("strata-requests-*.json")
            ]

        started = time.monotonic()  # snapshots are rewritten every second: wait for the latest
        while sum(shares()) != REQUESTS + DENIED and time.monotonic() - started < DEADLINE_SECONDS:
            time.sleep(0.2)
        assert sum(shares()) == REQUESTS + DENIED, shares()  # the workers' shares add up
