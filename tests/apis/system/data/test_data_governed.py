"""The data system API through the whole gateway, on each backend: scopes, validation, landing, failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from apis.system.data.connectors.s3 import S3Config
from tests.apis.system.data.conftest import BUCKET, CREDENTIALS, Script, local_objects, s3_objects
from tests.support.harness import problem, running_gateway

DATA = "/system/data/v1"
BATCH = {
    "events": [
        {
            "id": "evt-1",
            "type": "strata.invoice.finalized",
            "source": "billing",
            "time": "2026-05-31T23:59:59-01:00",
            "correlation_id": "quote-to-cash:006B",
            "data": {"invoice": "INV-7"},
        },
        {"id": "evt-2", "type": "strata.invoice.paid", "source": "billing", "time": "2026-06-01T08:00:00Z"},
    ]
}


def _s3_settings(endpoint: str) -> dict[str, str]:
    return {
        "data_backend": "s3",
        "data_s3_endpoint_url": endpoint,
        "data_s3_bucket": BUCKET,
        "data_s3_prefix": "lake/",
        "data_s3_access_key_id": CREDENTIALS["aws_access_key_id"],
        "data_s3_secret_access_key": CREDENTIALS["aws_secret_access_key"],
    }


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_governed_batches_land_once_and_bad_ones_land_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "s3":
        endpoint = request.getfixturevalue("fresh_bucket")
        settings = _s3_settings(endpoint)
        objects: Callable[[], dict[str, bytes]] = lambda: s3_objects(endpoint, "lake/")  # noqa: E731
    else:
        settings = {}
        lake = tmp_path / "lake"
        objects = lambda: local_objects(lake) if lake.exists() else {}  # noqa: E731
    async with running_gateway(tmp_path, **settings) as gw:
        path = f"{DATA}/event-batches/2026-06-01-billing-0001"
        assert (await gw.client.put(path, json=BATCH)).status_code == 401
        reader = await gw.bearer("system:crm:read")
        refused = await gw.client.put(path, json=BATCH, headers=reader)
        assert refused.status_code == 403 and 'scope="system:data:write"' in refused.headers["www-authenticate"]
        writer = await gw.bearer("system:data:write")
        landed = await gw.client.put(path, json=BATCH, headers=writer)
        assert landed.status_code == 200, landed.text
        assert [o["key"] for o in landed.json()["objects"]] == [
            "events/type=strata.invoice.finalized/date=2026-06-01/part-2026-06-01-billing-0001.jsonl",
            "events/type=strata.invoice.paid/date=2026-06-01/part-2026-06-01-billing-0001.jsonl",
        ]
        first = objects()
        assert sorted(first) == [o["key"] for o in landed.json()["objects"]]
        again = await gw.client.put(path, json=BATCH, headers=writer)
        assert again.status_code == 200 and objects() == first  # the retry overwrote, nothing was added

        missing_time = {"events": [BATCH["events"][0], {**BATCH["events"][1], "time": None}]}
        bad = await gw.client.put(f"{DATA}/event-batches/bad-1", json=missing_time, headers=writer)
        assert bad.status_code == 422 and problem(bad)["errors"][0]["pointer"] == "/events/1/time"
        twice = {"events": [BATCH["events"][0], BATCH["events"][0]]}
        duplicate = await gw.client.put(f"{DATA}/event-batches/bad-2", json=twice, headers=writer)
        assert duplicate.status_code == 422 and problem(duplicate)["errors"][0]["pointer"] == "/events/1/id"
        assert objects() == first  # neither bad batch wrote anything
        unknown = await gw.client.put(f"{DATA}/nothing-here/x", json=BATCH, headers=writer)
        assert unknown.status_code == 404 and problem(unknown)


async def test_s3_down_is_503_with_retry_after_and_stalled_is_504(tmp_path: Path, stand_in: tuple[str, Script]) -> None:
    url, script = stand_in
    async with running_gateway(tmp_path, **_s3_settings(url)) as gw:
        writer = await gw.bearer("system:data:write")
        gw.app.state.data.writer.config = S3Config(
            timeout_seconds=0.3, connect_timeout_seconds=0.3, max_retries=1, backoff_base_seconds=0.001
        )
        script.answers = ["slowdown"] * 4
        throttled = await gw.client.put(f"{DATA}/event-batches/b1", json=BATCH, headers=writer)
        assert throttled.status_code == 503 and int(throttled.headers["retry-after"]) >= 1 and problem(throttled)
        script.answers = ["stall", "stall"]  # the first attempt and its retry
        slow = await gw.client.put(f"{DATA}/event-batches/b2", json={"events": BATCH["events"][:1]}, headers=writer)
        assert slow.status_code == 504 and problem(slow)
        script.answers = []
        fine = await gw.client.put(f"{DATA}/event-batches/b3", json=BATCH, headers=writer)
        assert fine.status_code == 200
